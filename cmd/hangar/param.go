package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/spf13/cobra"

	"github.com/hangarci/hangar/internal/target"
)

// newParamCmd manages SSM Parameter Store parameters on the target: what
// SSM: references in env.vars point at. Values are printed only by get.
func newParamCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "param",
		Short: "Manage Parameter Store parameters (what SSM: references name)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newParamPutCmd(g), newParamGetCmd(g), newParamLsCmd(g), newParamRmCmd(g))
	return cmd
}

func newParamPutCmd(g *globals) *cobra.Command {
	var secure, overwrite bool
	var description string
	cmd := &cobra.Command{
		Use:   "put NAME VALUE",
		Short: "Create or (with --overwrite) update a parameter; VALUE - reads it from stdin",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			value, err := argValue(cmd, args[1])
			if err != nil {
				return err
			}
			c, err := g.ssmClient(cmd)
			if err != nil {
				return err
			}
			typ := ssmtypes.ParameterTypeString
			if secure {
				typ = ssmtypes.ParameterTypeSecureString
			}
			in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(overwrite)}
			if description != "" {
				in.Description = aws.String(description)
			}
			out, err := c.PutParameter(cmd.Context(), in)
			var exists *ssmtypes.ParameterAlreadyExists
			if errors.As(err, &exists) {
				return &exitError{code: 1, err: fmt.Errorf("parameter %s exists; use --overwrite to replace its value", name)}
			}
			if err != nil {
				return apiError("put parameter "+name, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "put parameter %s (%s, version %d)\n", name, typ, out.Version)
			return nil
		},
	}
	cmd.Flags().BoolVar(&secure, "secure", false, "store it as a SecureString (encrypted at rest, masked in build logs)")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace the value of an existing parameter")
	cmd.Flags().StringVar(&description, "description", "", "a description")
	return cmd
}

func newParamGetCmd(g *globals) *cobra.Command {
	var decrypt bool
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Print a parameter's value (a SecureString's only with --decrypt)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.ssmClient(cmd)
			if err != nil {
				return err
			}
			out, err := c.GetParameter(cmd.Context(), &ssm.GetParameterInput{Name: aws.String(args[0]), WithDecryption: aws.Bool(decrypt)})
			var nf *ssmtypes.ParameterNotFound
			if errors.As(err, &nf) {
				return &exitError{code: 1, err: fmt.Errorf("parameter %s not found", args[0])}
			}
			if err != nil {
				return apiError("get parameter "+args[0], err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), aws.ToString(out.Parameter.Value))
			return nil
		},
	}
	cmd.Flags().BoolVar(&decrypt, "decrypt", false, "decrypt a SecureString")
	return cmd
}

func newParamLsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ls [PATH]",
		Short: "List parameters (under PATH, recursively): name, type, version, last change; never values",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.ssmClient(cmd)
			if err != nil {
				return err
			}
			in := &ssm.DescribeParametersInput{}
			if len(args) == 1 && args[0] != "/" {
				in.ParameterFilters = []ssmtypes.ParameterStringFilter{{
					Key: aws.String("Path"), Option: aws.String("Recursive"), Values: []string{strings.TrimSuffix(args[0], "/")},
				}}
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTYPE\tVERSION\tLAST MODIFIED")
			pages := ssm.NewDescribeParametersPaginator(c, in)
			for pages.HasMorePages() {
				page, err := pages.NextPage(cmd.Context())
				if err != nil {
					return apiError("list parameters", err)
				}
				for _, p := range page.Parameters {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", aws.ToString(p.Name), p.Type, p.Version, when(p.LastModifiedDate))
				}
			}
			return tw.Flush()
		},
	}
}

func newParamRmCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME",
		Short: "Delete a parameter",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.ssmClient(cmd)
			if err != nil {
				return err
			}
			_, err = c.DeleteParameter(cmd.Context(), &ssm.DeleteParameterInput{Name: aws.String(args[0])})
			var nf *ssmtypes.ParameterNotFound
			if errors.As(err, &nf) {
				return &exitError{code: 1, err: fmt.Errorf("parameter %s not found", args[0])}
			}
			if err != nil {
				return apiError("delete parameter "+args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted parameter %s\n", args[0])
			return nil
		},
	}
}

// reach loads the configuration and reaches its target.
func (g *globals) reach(cmd *cobra.Command) (*target.Target, error) {
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	return g.openTarget(cmd.Context(), cfg)
}

func (g *globals) ssmClient(cmd *cobra.Command) (*ssm.Client, error) {
	t, err := g.reach(cmd)
	if err != nil {
		return nil, err
	}
	return t.SSM(), nil
}

// argValue is a VALUE argument: "-" reads it from stdin (one trailing
// newline dropped), so it stays out of shell history and ps.
func argValue(cmd *cobra.Command, arg string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	b, err := io.ReadAll(cmd.InOrStdin())
	if err != nil {
		return "", &exitError{code: exitUsage, err: fmt.Errorf("read the value from stdin: %w", err)}
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

// apiError is a failed call to the runner: exit code 1 when the runner
// answered and refused the request (4xx: denied, unknown, invalid), 125
// when it failed or could not be reached.
func apiError(doing string, err error) error {
	code := exitRunner
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500 {
		code = 1
	}
	return &exitError{code: code, err: fmt.Errorf("%s: %w", doing, err)}
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
