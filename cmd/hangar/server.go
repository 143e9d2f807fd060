package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangarci/hangar/internal/server"
	"github.com/hangarci/hangar/internal/target"
)

func newServerCmd() *cobra.Command {
	var cfg server.Config
	var logLevel string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a Hangar runner (CodeBuild, Logs, SSM, Secrets Manager and S3 APIs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.StateDir == "" {
				d, err := target.DefaultStateDir()
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				cfg.StateDir = d
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--log-level: %w", err)}
			}
			cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			out := cmd.OutOrStdout()
			cfg.Ready = func(endpoint string) {
				fmt.Fprintf(out, "endpoint: %s\n", endpoint)
				fmt.Fprintf(out, "credentials: %s/credentials\n", cfg.StateDir)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := server.Run(ctx, cfg); err != nil {
				return &exitError{code: 1, err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", server.DefaultListen, "address to serve on (host:port)")
	f.StringVar(&cfg.StateDir, "state", "", "state directory (default $XDG_STATE_HOME/hangar or ~/.local/state/hangar)")
	f.StringVar(&cfg.Region, "region", "us-east-1", "region named in ARNs")
	f.IntVar(&cfg.MaxRunning, "max-builds", 0, "most builds running at once (0: no limit)")
	f.DurationVar(&cfg.Minute, "minute", time.Minute, "length of one minute of build and queue timeouts; for tests only")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", 0, "stop after this long without requests or builds (0: never)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.MarkHidden("minute")
	return cmd
}
