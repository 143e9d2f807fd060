package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
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
	var logLevel, pprofAddr string
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
			if cfg.Overcommit <= 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("--overcommit %g: must be above 0", cfg.Overcommit)}
			}
			if cfg.Minute <= 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("--minute %v: must be above 0", cfg.Minute)}
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
			if pprofAddr != "" {
				addr, err := servePprof(ctx, pprofAddr, cfg.Log)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				fmt.Fprintf(out, "pprof: http://%s/debug/pprof/\n", addr)
			}
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
	f.IntVar(&cfg.MaxRunning, "max-builds", 0, "most builds running at once, fleets' included (0: no limit)")
	f.Float64Var(&cfg.Overcommit, "overcommit", server.DefaultOvercommit, "on-demand builds start while their compute types' CPU and memory add up to at most the host's times this; the rest wait in QUEUED")
	f.DurationVar(&cfg.Minute, "minute", time.Minute, "length of one minute of build and queue timeouts; for tests only")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", 0, "stop after this long without requests or builds (0: never)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&pprofAddr, "pprof", "", "serve net/http/pprof on this address (host:port); for profiling only")
	f.MarkHidden("minute")
	f.MarkHidden("pprof")
	return cmd
}

// servePprof serves the runtime profiles on their own listener, apart from
// the API: they are unauthenticated, so they are opt-in and never reachable
// through the endpoint clients sign requests for. It returns the address
// (port 0 picks one) and stops serving when ctx ends.
func servePprof(ctx context.Context, addr string, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("--pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof listener stopped", "err", err)
		}
	}()
	context.AfterFunc(ctx, func() { srv.Close() })
	return ln.Addr().String(), nil
}
