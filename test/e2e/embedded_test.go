package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// embeddedPid reads the pid of the embedded runner of a state dir.
func embeddedPid(t *testing.T, state string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, "endpoint"))
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		t.Fatalf("endpoint file: %q", b)
	}
	return f[1]
}

// The embedded runner starts on first use, is shared by every later and
// concurrent run, and stops by itself once idle.
func TestEmbeddedRunnerLifecycle(t *testing.T) {
	state := t.TempDir()
	tg := Target{Flags: []string{"--state", state}}
	env := []string{"HANGAR_EMBEDDED_IDLE_TIMEOUT=2s"}
	tree := NewTree(t, map[string]string{"a.txt": "a"}, "")
	defer stopEmbedded(state)

	WantCode(t, Hangar(t, tg, tree.Dir, env, "run", "--", "true"), 0)
	pid := embeddedPid(t, state)
	if pid == "" {
		t.Fatal("no embedded runner after the first run")
	}
	if fi, err := os.Stat(filepath.Join(state, "credentials")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	// Concurrent runs share the one runner.
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			WantCode(t, Hangar(t, tg, tree.Dir, env, "run", "--", "true"), 0)
		}()
	}
	wg.Wait()
	if got := embeddedPid(t, state); got != pid {
		t.Fatalf("runner changed from pid %s to %s", pid, got)
	}
	// Idle, it stops and removes its endpoint file.
	deadline := time.Now().Add(20 * time.Second)
	for embeddedPid(t, state) != "" {
		if time.Now().After(deadline) {
			t.Fatal("the idle embedded runner did not stop")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n, err := strconv.Atoi(pid); err == nil {
		for syscall.Kill(n, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond) // it removes the file just before it exits
		}
		if syscall.Kill(n, 0) == nil {
			t.Errorf("runner pid %d still alive after it removed its endpoint", n)
		}
	}
	// The next run starts a new one.
	WantCode(t, Hangar(t, tg, tree.Dir, env, "run", "--", "true"), 0)
	if got := embeddedPid(t, state); got == "" || got == pid {
		t.Errorf("after idle stop: runner pid %q (was %s)", got, pid)
	}
}
