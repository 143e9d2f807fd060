//go:build linux

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A prepared machine holds the build's cgroup, its limits written, with a
// sandbox init already inside, and its control dir with the shell's script;
// Start on it runs commands there and the machine's limits win over the
// spec's.
func TestPreparedMachine(t *testing.T) {
	needRoot(t)
	modes(t, func(t *testing.T, h *Host) {
		if h.cg == nil {
			t.Skip("no cgroups")
		}
		ctx := context.Background()
		id := "m-" + newID(t)
		m, err := h.Prepare(ctx, id, Limits{CPU: 0.5, Pids: 64})
		if err != nil {
			t.Fatal(err)
		}
		cg := m.plat.cg
		if cg == nil {
			t.Fatal("no cgroup prepared")
		}
		pidsDir := cg.v1dirs["pids"]
		if pidsDir == "" {
			pidsDir = cg.v2dir
		}
		if got := readTrim(t, filepath.Join(pidsDir, "pids.max")); got != "64" {
			t.Errorf("pids.max before the build = %q", got)
		}
		if h.Isolated() {
			// The init waits in the cgroup before any build exists.
			pids, err := cg.procs()
			if err != nil || len(pids) != 1 || pids[0] != m.plat.p.cmd.Process.Pid {
				t.Fatalf("cgroup procs %v %v, want the init", pids, err)
			}
		}
		script := filepath.Join(h.opts.WorkDir, id, shellScriptName)
		if b, err := os.ReadFile(script); err != nil || !strings.Contains(string(b), m.ctl.nonce) {
			t.Fatalf("prepared shell script %s: %v %q", script, err, b)
		}
		sb := startSandbox(t, h, Spec{Machine: m, Limits: Limits{Pids: 9999}})
		if code := run(t, sb, "true"); code != 0 {
			t.Fatalf("run on the machine: %d", code)
		}
		inside := capture(t, sb, "cat /proc/self/cgroup")
		if !strings.Contains(inside, "/hangar/"+id+"\n") {
			t.Errorf("the build is not in the machine's cgroup: %s", inside)
		}
		if got := readTrim(t, filepath.Join(pidsDir, "pids.max")); got != "64" {
			t.Errorf("pids.max in the build = %q, want the machine's 64", got)
		}
		// A machine serves one start.
		if _, err := h.Start(ctx, Spec{ID: newID(t), Dir: t.TempDir(), Machine: m}); err == nil {
			t.Fatal("a second Start on the same machine succeeded")
		}
		m.Discard() // a used machine is the sandbox's: nothing happens
		if code := run(t, sb, "true"); code != 0 {
			t.Fatalf("run after Discard of the used machine: %d", code)
		}
	})
}

// An unused machine's Discard kills its init and removes its cgroup.
func TestDiscardMachine(t *testing.T) {
	needRoot(t)
	h := newTestHost(t, HostOptions{NoPrestart: true})
	if h.cg == nil || !h.Isolated() {
		t.Skip("needs cgroups and namespaces")
	}
	id := "m-" + newID(t)
	m, err := h.Prepare(context.Background(), id, Limits{MemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	pid := m.plat.p.cmd.Process.Pid
	dirs := append([]string{m.ctl.dir}, m.plat.cg.dirs...)
	m.Discard()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil && alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("init %d still alive after Discard", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", d, err)
		}
	}
	m.Discard() // idempotent
}

// A machine prepared before its build's user is known still serves a
// non-root build: its control dir becomes the user's, so the shell can save
// and restore its state there.
func TestPreparedMachineForUser(t *testing.T) {
	needRoot(t)
	base := hostStateDir(t)
	os.Chmod(base, 0o711)
	dir := filepath.Join(base, "src")
	os.Mkdir(dir, 0o777)
	os.Chmod(dir, 0o777)
	h := newTestHost(t, HostOptions{WorkDir: filepath.Join(base, "work")})
	id := "m-" + newID(t)
	m, err := h.Prepare(context.Background(), id, Limits{Pids: 64})
	if err != nil {
		t.Fatal(err)
	}
	sb := startSandbox(t, h, Spec{ID: id, Dir: dir, Machine: m, User: &User{UID: 65534, GID: 65534}})
	fi, err := os.Stat(filepath.Join(h.opts.WorkDir, id))
	if err != nil || fi.Sys().(*syscall.Stat_t).Uid != 65534 {
		t.Fatalf("control dir of the user's sandbox: %v %+v", err, fi)
	}
	if code := run(t, sb, "X=1; exit 2"); code != 2 {
		t.Fatalf("exit: %d", code)
	}
	if got := capture(t, sb, "echo $X; id -u"); got != "1\n65534\n" {
		t.Fatalf("after the shell restarted: %q", got)
	}
}
