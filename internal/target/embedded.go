package target

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// healthPath is the runner's unauthenticated health check.
const healthPath = "/_hangar/health"

// ensureEmbedded returns the endpoint of the embedded runner on dir,
// starting it in the background if it is not running. Two CLIs starting at
// once start one runner: the start is serialised by a lock file.
func ensureEmbedded(ctx context.Context, dir string, opts Options) (string, error) {
	if ep, ok := liveEndpoint(ctx, dir); ok {
		return ep, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("make state dir %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "start.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("open start lock: %w", err)
	}
	defer lock.Close()
	if err := flock(ctx, lock); err != nil {
		return "", err
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	if ep, ok := liveEndpoint(ctx, dir); ok {
		return ep, nil
	}

	bin := opts.Binary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return "", fmt.Errorf("find the hangar binary: %w", err)
		}
	}
	idle := opts.IdleTimeout
	if idle == 0 {
		idle = 15 * time.Minute
	}
	logf, err := os.OpenFile(filepath.Join(dir, "server.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return "", fmt.Errorf("open runner log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "server", "--state", dir, "--listen", "127.0.0.1:0", "--idle-timeout", idle.String())
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session: the runner outlives this terminal and its Ctrl-C.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start the embedded runner: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	opts.Log.Debug("started the embedded runner", "pid", cmd.Process.Pid, "state", dir)

	deadline := time.Now().Add(15 * time.Second)
	for {
		if ep, ok := liveEndpoint(ctx, dir); ok {
			return ep, nil
		}
		select {
		case err := <-exited:
			return "", fmt.Errorf("the embedded runner exited at start (%v); see %s", err, filepath.Join(dir, "server.log"))
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the embedded runner did not start within 15s; see %s", filepath.Join(dir, "server.log"))
		}
	}
}

// liveEndpoint reads the endpoint file and checks that its runner is alive
// and answering.
func liveEndpoint(ctx context.Context, dir string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "endpoint"))
	if err != nil {
		return "", false
	}
	lines := strings.Fields(string(b))
	if len(lines) < 2 {
		return "", false
	}
	pid, err := strconv.Atoi(lines[1])
	if err != nil || unix.Kill(pid, 0) != nil {
		return "", false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, lines[0]+healthPath, nil)
	if err != nil {
		return "", false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false
	}
	resp.Body.Close()
	return lines[0], resp.StatusCode == http.StatusOK
}

// flock takes an exclusive lock on f, giving up when ctx ends.
func flock(ctx context.Context, f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
