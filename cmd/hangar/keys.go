package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/spf13/cobra"
)

// newKeysCmd manages the access keys of IAM users on the target, through
// the IAM API: who else may call the runner, with what their policies
// allow. The runner's own keys (its credentials file) are not IAM's to
// change.
func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage access keys of IAM users (who may call the runner, limited by their policies)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newKeysCreateCmd(g), newKeysLsCmd(g), newKeysRmCmd(g))
	return cmd
}

func (g *globals) iamClient(cmd *cobra.Command) (*iam.Client, error) {
	t, err := g.reach(cmd)
	if err != nil {
		return nil, err
	}
	return t.IAM(), nil
}

// managedArn turns a bare managed policy name into AWS's ARN.
func managedArn(p string) string {
	if strings.HasPrefix(p, "arn:") {
		return p
	}
	return "arn:aws:iam::aws:policy/" + p
}

func newKeysCreateCmd(g *globals) *cobra.Command {
	var policies []string
	cmd := &cobra.Command{
		Use:   "create USER",
		Short: "Make an access key for USER (created if missing); the secret is printed this once",
		Long: "Make an access key for the IAM user USER, creating the user first if there is none.\n" +
			"A new user may do nothing until a policy allows it: --policy attaches managed policies\n" +
			"(AdministratorAccess, ReadOnlyAccess, … or ARNs of your own). The secret is printed once,\n" +
			"as a shared-credentials profile; the runner keeps it sealed.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			user := args[0]
			c, err := g.iamClient(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(user)})
			var exists *iamtypes.EntityAlreadyExistsException
			switch {
			case errors.As(err, &exists):
			case err != nil:
				return apiError("create user "+user, err)
			default:
				fmt.Fprintf(cmd.ErrOrStderr(), "created user %s\n", user)
			}
			for _, p := range policies {
				arn := managedArn(p)
				if _, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(user), PolicyArn: aws.String(arn)}); err != nil {
					return apiError("attach "+arn+" to "+user, err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "attached %s\n", arn)
			}
			out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
			if err != nil {
				return apiError("create access key for "+user, err)
			}
			k := out.AccessKey
			fmt.Fprintf(cmd.ErrOrStderr(), "created access key %s for %s; keep the secret now, it is not shown again\n", aws.ToString(k.AccessKeyId), user)
			fmt.Fprintf(cmd.OutOrStdout(), "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
				user, aws.ToString(k.AccessKeyId), aws.ToString(k.SecretAccessKey))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&policies, "policy", nil, "attach this managed policy (name or ARN; repeatable)")
	return cmd
}

// keyRow is one access key as ls shows it.
type keyRow struct{ user, id, status, created string }

// allKeys lists the keys of user, or of every user and the caller when
// user is empty.
func allKeys(cmd *cobra.Command, c *iam.Client, user string) ([]keyRow, error) {
	ctx := cmd.Context()
	var users []*string
	if user != "" {
		users = []*string{aws.String(user)}
	} else {
		users = append(users, nil) // the caller's own keys
		pages := iam.NewListUsersPaginator(c, &iam.ListUsersInput{})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, apiError("list users", err)
			}
			for _, u := range page.Users {
				users = append(users, u.UserName)
			}
		}
	}
	seen := map[string]bool{}
	var rows []keyRow
	for _, u := range users {
		pages := iam.NewListAccessKeysPaginator(c, &iam.ListAccessKeysInput{UserName: u})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				if u == nil {
					break // a caller that is no user (a role session) has no keys of its own
				}
				return nil, apiError("list access keys of "+aws.ToString(u), err)
			}
			for _, k := range page.AccessKeyMetadata {
				id := aws.ToString(k.AccessKeyId)
				if seen[id] {
					continue
				}
				seen[id] = true
				rows = append(rows, keyRow{aws.ToString(k.UserName), id, string(k.Status), when(k.CreateDate)})
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].user != rows[j].user {
			return rows[i].user < rows[j].user
		}
		return rows[i].id < rows[j].id
	})
	return rows, nil
}

func newKeysLsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ls [USER]",
		Short: "List access keys (of USER, else of every user and your own): user, id, status, created; never secrets",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.iamClient(cmd)
			if err != nil {
				return err
			}
			user := ""
			if len(args) == 1 {
				user = args[0]
			}
			rows, err := allKeys(cmd, c, user)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tACCESS KEY ID\tSTATUS\tCREATED")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.user, r.id, r.status, r.created)
			}
			return tw.Flush()
		},
	}
}

func newKeysRmCmd(g *globals) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "rm ACCESS_KEY_ID",
		Short: "Delete an access key; requests signed with it are refused from then on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			c, err := g.iamClient(cmd)
			if err != nil {
				return err
			}
			if user == "" {
				rows, err := allKeys(cmd, c, "")
				if err != nil {
					return err
				}
				for _, r := range rows {
					if r.id == id {
						user = r.user
					}
				}
				if user == "" {
					return &exitError{code: 1, err: fmt.Errorf("no user has access key %s", id)}
				}
			}
			_, err = c.DeleteAccessKey(cmd.Context(), &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id)})
			var nf *iamtypes.NoSuchEntityException
			if errors.As(err, &nf) {
				return &exitError{code: 1, err: fmt.Errorf("user %s has no access key %s", user, id)}
			}
			if err != nil {
				return apiError("delete access key "+id, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted access key %s of %s\n", id, user)
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "the key's user (found by listing when left out)")
	return cmd
}
