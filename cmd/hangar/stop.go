package main

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/hangarci/hangar/internal/remote"
)

func newStopCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "stop [BUILD]",
		Short: "Stop a build: by default the last one this working tree started",
		Long: `Stop BUILD, or with no argument the last build started from this working
tree on this runner (in either project, remote or remote-lambda), wait until
it has ended and print its final status.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, c, err := g.remoteClient(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var id string
			if len(args) == 1 {
				b, err := c.Resolve(ctx, args[0], cfg.ProjectName(), cfg.LambdaProjectName())
				if err != nil {
					return apiExit(err)
				}
				id = aws.ToString(b.Id)
			} else {
				dir, err := lastDir()
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				lb, err := remote.Recall(dir, cfg.Root, g.runnerKey(cfg))
				if errors.Is(err, remote.ErrNoLastBuild) {
					return &exitError{code: exitUsage, err: fmt.Errorf("no build was started from %s on this runner; name one: hangar stop BUILD", cfg.Root)}
				}
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				id = lb.BuildID
			}
			before, err := remote.GetBuild(ctx, c.CodeBuild, id)
			if err != nil {
				return apiExit(err)
			}
			b, err := c.Stop(ctx, id)
			if err != nil {
				return apiExit(err)
			}
			out := cmd.OutOrStdout()
			if before.BuildComplete {
				fmt.Fprintf(out, "%s had already ended: %s\n", id, b.BuildStatus)
				return nil
			}
			fmt.Fprintf(out, "%s %s\n", id, b.BuildStatus)
			return nil
		},
	}
}
