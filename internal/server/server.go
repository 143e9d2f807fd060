// Package server assembles the runner: the store, the AWS API services, the
// scheduler and the sandbox executor, behind one HTTP listener.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Config configures a runner.
type Config struct {
	// Listen is the address to serve on (host:port; port 0 picks one).
	Listen string
	// StateDir holds everything the runner keeps.
	StateDir string
	// Region names the region in ARNs.
	Region string
	// Minute is how long a "minute" of build and queue timeouts lasts. It is
	// a minute; tests shorten it.
	Minute time.Duration
	// MaxRunning caps builds running at once (0: no cap).
	MaxRunning int
	// Overcommit is how far on-demand builds may over-commit the host: they
	// start while the CPU and memory of their compute types (each capped at
	// the host's) add up to at most the host's times Overcommit; the rest
	// wait in QUEUED. DefaultOvercommit when 0.
	Overcommit float64
	// IdleTimeout, when not zero, stops the runner once it has served no
	// request and run no build for that long (the embedded target).
	IdleTimeout time.Duration
	// Ready, if set, is called with the endpoint URL once the listener is
	// serving.
	Ready func(endpoint string)
	Log   *slog.Logger
}

// DefaultOvercommit lets builds reserve twice the host: CPU is shared
// well by the kernel and builds rarely use their whole compute size, so
// two SMALL builds (2 vCPU each) run side by side on a 2-core machine;
// memory limits still hold per build.
const DefaultOvercommit = 2.0

// DefaultListen is where `hangar server` listens unless told otherwise.
const DefaultListen = "127.0.0.1:4480"

// Run starts the runner and serves until ctx ends, then shuts down: the
// listener closes, running builds end, the store is closed.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("make state dir %s: %w", cfg.StateDir, err)
	}
	// A state dir made beforehand (by hand, by mktemp -d with a loose
	// umask) is the runner's alone too: it holds the credentials file,
	// the sealing key, the database, logs and objects.
	if err := os.Chmod(cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("restrict state dir %s: %w", cfg.StateDir, err)
	}
	lock, err := lockState(cfg.StateDir)
	if err != nil {
		return err
	}
	defer lock.Close()
	rt, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer rt.close()
	rt.act.last.Store(time.Now().UnixNano())

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	endpoint := "http://" + ln.Addr().String()
	rt.creds.setListener(ln.Addr())
	if err := rt.writeClientFiles(ctx, endpoint); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           rt.act.wrap(rt.routes()),
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if err := rt.recover(ctx); err != nil {
		srv.Close()
		return err
	}
	cfg.Log.Info("runner ready", "endpoint", endpoint, "state", cfg.StateDir)
	if cfg.Ready != nil {
		cfg.Ready(endpoint)
	}
	var idle <-chan time.Time
	if cfg.IdleTimeout > 0 {
		t := time.NewTicker(min(cfg.IdleTimeout/4, 5*time.Second))
		defer t.Stop()
		idle = t.C
	}
wait:
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
			break wait
		case now := <-idle:
			if rt.idleSince(now) >= cfg.IdleTimeout {
				cfg.Log.Info("runner idle, stopping", "idle", cfg.IdleTimeout)
				break wait
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	if err := rt.sched.Close(sctx); err != nil {
		return fmt.Errorf("stop builds: %w", err)
	}
	os.Remove(filepath.Join(cfg.StateDir, endpointFile))
	return shutdownErr
}
