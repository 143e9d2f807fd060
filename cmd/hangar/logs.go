package main

import (
	"fmt"
	"os"
	"os/signal"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/hangarci/hangar/internal/remote"
)

func newLogsCmd(g *globals) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs BUILD",
		Short: "Print a build's log from the start; --follow reattaches until it ends",
		Long: `Print the log of BUILD (its id, or the part after the colon) from the
start. With --follow, keep printing until the build is complete and exit
with the same code hangar run would have (Ctrl-C detaches again: 130).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, c, err := g.remoteClient(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			b, err := c.Resolve(ctx, args[0], cfg.ProjectName(), cfg.LambdaProjectName())
			if err != nil {
				return apiExit(err)
			}
			id := aws.ToString(b.Id)
			stderr := cmd.ErrOrStderr()
			f := c.Follower()
			f.Out, f.Status, f.TTY, f.NoWait = cmd.OutOrStdout(), stderr, isTerminal(stderr), !follow
			fb, _, err := f.Follow(ctx, id)
			if err != nil {
				if interrupted(ctx) && cmd.Context().Err() == nil {
					detachNote(stderr, id)
					return &exitError{code: remote.ExitDetached}
				}
				return apiExit(err)
			}
			if !follow {
				return nil
			}
			fmt.Fprintln(stderr, "hangar:", remote.Summary(fb))
			if f := remote.FailureContext(fb); f != "" {
				fmt.Fprintln(stderr, "hangar:", f)
			}
			if code := remote.ExitCode(fb); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "follow the log until the build is complete; exit with its exit code")
	return cmd
}
