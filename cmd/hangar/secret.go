package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/spf13/cobra"
)

// newSecretCmd manages Secrets Manager secrets on the target: what SECRET:
// references in env.vars point at. Values are printed only by get.
func newSecretCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Manage Secrets Manager secrets (what SECRET: references name)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newSecretPutCmd(g), newSecretGetCmd(g), newSecretLsCmd(g), newSecretRmCmd(g))
	return cmd
}

func (g *globals) secretsClient(cmd *cobra.Command) (*secretsmanager.Client, error) {
	t, err := g.reach(cmd)
	if err != nil {
		return nil, err
	}
	return t.Secrets(), nil
}

func newSecretPutCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "put NAME VALUE",
		Short: "Create a secret or give it a new value; VALUE - reads it from stdin",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			value, err := argValue(cmd, args[1])
			if err != nil {
				return err
			}
			c, err := g.secretsClient(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
			var exists *smtypes.ResourceExistsException
			switch {
			case err == nil:
				fmt.Fprintf(out, "created secret %s\n", name)
				return nil
			case !errors.As(err, &exists):
				return apiError("create secret "+name, err)
			}
			pv, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(value)})
			if err != nil {
				return apiError("put a new value of secret "+name, err)
			}
			fmt.Fprintf(out, "put a new value of secret %s (version %s)\n", name, aws.ToString(pv.VersionId))
			return nil
		},
	}
}

func newSecretGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME",
		Short: "Print a secret's current value",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.secretsClient(cmd)
			if err != nil {
				return err
			}
			out, err := c.GetSecretValue(cmd.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(args[0])})
			var nf *smtypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return &exitError{code: 1, err: fmt.Errorf("secret %s not found", args[0])}
			}
			if err != nil {
				return apiError("get secret "+args[0], err)
			}
			w := cmd.OutOrStdout()
			if out.SecretString != nil {
				fmt.Fprintln(w, *out.SecretString)
				return nil
			}
			_, err = w.Write(out.SecretBinary)
			return err
		},
	}
}

func newSecretLsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List secrets: name, last change, deletion date; never values",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.secretsClient(cmd)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tLAST CHANGED\tDELETION")
			pages := secretsmanager.NewListSecretsPaginator(c, &secretsmanager.ListSecretsInput{})
			for pages.HasMorePages() {
				page, err := pages.NextPage(cmd.Context())
				if err != nil {
					return apiError("list secrets", err)
				}
				for _, s := range page.SecretList {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", aws.ToString(s.Name), when(s.LastChangedDate), when(s.DeletedDate))
				}
			}
			return tw.Flush()
		},
	}
}

func newSecretRmCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm NAME",
		Short: "Delete a secret (after the recovery window; at once with --force)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.secretsClient(cmd)
			if err != nil {
				return err
			}
			in := &secretsmanager.DeleteSecretInput{SecretId: aws.String(args[0])}
			if force {
				in.ForceDeleteWithoutRecovery = aws.Bool(true)
			}
			out, err := c.DeleteSecret(cmd.Context(), in)
			var nf *smtypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return &exitError{code: 1, err: fmt.Errorf("secret %s not found", args[0])}
			}
			if err != nil {
				return apiError("delete secret "+args[0], err)
			}
			if force {
				fmt.Fprintf(cmd.OutOrStdout(), "deleted secret %s\n", args[0])
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "secret %s will be deleted on %s (use --force to delete it now)\n", args[0], when(out.DeletionDate))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete at once, without a recovery window")
	return cmd
}
