package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hangarci/hangar/internal/bootstrap"
)

func newBootstrapCmd(g *globals) *cobra.Command {
	var dryRun, template bool
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Create or update the bucket, role, projects and fleet builds use",
		Long: `Reconcile the runner resources of this project (DESIGN §6): the bucket, the
role <ns>-codebuild-role and its policies, the project <ns>-remote, and
<ns>-remote-lambda and the fleet <ns>-fleet when enabled. It prints what it
creates (+), changes (~) and deletes (-); a second run changes nothing.
hangar run does this too, skipping quickly when nothing changed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if template {
				b, err := bootstrap.Template(cfg)
				if err != nil {
					return bootstrapError(err)
				}
				_, err = out.Write(b)
				return err
			}
			ctx := cmd.Context()
			t, err := g.openTarget(ctx, cfg)
			if err != nil {
				return err
			}
			p, err := bootstrap.NewPlan(ctx, t, cfg)
			if err != nil {
				return bootstrapError(err)
			}
			where := t.Kind
			if t.Endpoint != "" {
				where += " " + t.Endpoint
			}
			if p.Empty() && !dryRun {
				// Only the stored state hash may be missing: set it quietly.
				if err := p.Apply(ctx, t, nil, false); err != nil {
					return bootstrapError(err)
				}
				fmt.Fprintf(out, "No changes: %s is up to date on %s.\n", cfg.Namespace(), where)
				return nil
			}
			if dryRun {
				p.Write(out, true)
				if p.Empty() {
					fmt.Fprintf(out, "No changes: %s is up to date on %s.\n", cfg.Namespace(), where)
				} else {
					fmt.Fprintln(out, "Dry run: nothing was changed.")
				}
				return nil
			}
			if err := p.Apply(ctx, t, out, true); err != nil {
				return bootstrapError(err)
			}
			r := p.Resources
			fmt.Fprintf(out, "Done: bucket %s, project %s", r.Bucket, r.Project)
			if r.LambdaProject != "" {
				fmt.Fprintf(out, ", project %s", r.LambdaProject)
			}
			if r.FleetArn != "" {
				fmt.Fprintf(out, ", fleet %s", r.FleetArn)
			}
			fmt.Fprintln(out, ".")
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change and change nothing")
	cmd.Flags().BoolVar(&template, "template", false, "print the same resources as a CloudFormation template instead")
	return cmd
}

// bootstrapError gives configuration problems exit code 2, a name taken by
// something hangar did not make 1, and failures of the runner 125.
func bootstrapError(err error) error {
	if errors.Is(err, bootstrap.ErrConfig) {
		return &exitError{code: exitUsage, err: err}
	}
	if errors.Is(err, bootstrap.ErrConflict) {
		return &exitError{code: 1, err: fmt.Errorf("bootstrap: %w", err)}
	}
	return &exitError{code: exitRunner, err: fmt.Errorf("bootstrap: %w", err)}
}
