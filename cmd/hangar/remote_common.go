package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/hangarci/hangar/internal/config"
	"github.com/hangarci/hangar/internal/remote"
	"github.com/hangarci/hangar/internal/target"
)

// Helpers of the remote-run commands (run, logs, stop, builds, status).

// logger is the -v debug log on stderr; silent otherwise.
func (g *globals) logger(cmd *cobra.Command) *slog.Logger {
	if !g.verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// remoteClient loads the configuration and reaches its runner.
func (g *globals) remoteClient(cmd *cobra.Command) (*config.Config, *target.Target, *remote.Client, error) {
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	t, err := g.openTarget(cmd.Context(), cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, t, remote.New(t, g.logger(cmd)), nil
}

// runnerKey names the runner a build went to, for remembering the last
// build of a tree: the embedded runner by its state dir, a server by its
// endpoint, AWS by region.
func (g *globals) runnerKey(cfg *config.Config) string {
	switch cfg.Target {
	case target.Server:
		return "server " + cfg.Endpoint
	case target.AWS:
		return "aws " + cfg.Region
	default:
		dir := g.state
		if dir == "" {
			dir, _ = target.DefaultStateDir()
		}
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		return "embedded " + dir
	}
}

// lastDir is where the last build of each tree is remembered.
func lastDir() (string, error) {
	d, err := target.DefaultStateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "last"), nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// apiExit turns an error from talking to the runner into an exit error:
// a build that does not exist or a request the runner refuses is a usage
// error (2), anything else means the runner failed (125).
func apiExit(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	var nf *remote.NotFoundError
	if errors.As(err, &nf) {
		return &exitError{code: exitUsage, err: err}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "InvalidInputException", "ResourceNotFoundException":
			return &exitError{code: exitUsage, err: err}
		}
	}
	return &exitError{code: exitRunner, err: err}
}

// detachNote says how to get back to a build that goes on.
func detachNote(w io.Writer, id string) {
	fmt.Fprintf(w, "\nhangar: detached; build %s goes on.\n", id)
	fmt.Fprintf(w, "hangar:   reattach: hangar logs %s --follow\n", id)
	fmt.Fprintf(w, "hangar:   stop:     hangar stop   (or: hangar stop %s)\n", id)
}

// checkOutput validates --output.
func checkOutput(v string) error {
	if v != "text" && v != "json" {
		return &exitError{code: exitUsage, err: fmt.Errorf("--output: %q is not text or json", v)}
	}
	return nil
}

// interrupted is the context error of a Ctrl-C.
func interrupted(ctx context.Context) bool { return errors.Is(ctx.Err(), context.Canceled) }
