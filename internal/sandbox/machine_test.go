//go:build linux

package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
		m, err := h.Prepare(ctx, id, Limits{CPU: 0.5, Pids: 64}, nil)
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
			// The init waits in the cgroup before any build exists (with
			// the shell it starts ahead, once it has).
			pids, err := cg.procs()
			if err != nil || len(pids) == 0 || len(pids) > 2 || !slices.Contains(pids, m.plat.p.cmd.Process.Pid) {
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
	m, err := h.Prepare(context.Background(), id, Limits{MemoryBytes: 64 << 20}, nil)
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

// A machine serves a non-root build: its control dir becomes the user's,
// so the shell can save and restore its state there. Prepared for that
// user, its shell started ahead is the build's; prepared for root, the
// build gets a new shell as the user.
func TestPreparedMachineForUser(t *testing.T) {
	needRoot(t)
	base := hostStateDir(t)
	os.Chmod(base, 0o711)
	dir := filepath.Join(base, "src")
	os.Mkdir(dir, 0o777)
	os.Chmod(dir, 0o777)
	h := newTestHost(t, HostOptions{WorkDir: filepath.Join(base, "work")})
	nobody := &User{UID: 65534, GID: 65534}
	for name, preparedFor := range map[string]*User{"root": nil, "user": nobody} {
		t.Run("prepared for "+name, func(t *testing.T) {
			id := "m-" + newID(t)
			m, err := h.Prepare(context.Background(), id, Limits{Pids: 64}, preparedFor)
			if err != nil {
				t.Fatal(err)
			}
			var waiting int
			if h.Isolated() && m.plat.cg != nil {
				init := m.plat.p.cmd.Process.Pid
				waitFor(t, func() bool {
					pids, _ := m.plat.cg.procs()
					for _, p := range pids {
						if p != init {
							waiting = p
						}
					}
					return waiting != 0
				})
			}
			sb := startSandbox(t, h, Spec{ID: id, Dir: dir, Machine: m, User: nobody})
			fi, err := os.Stat(filepath.Join(h.opts.WorkDir, id))
			if err != nil || fi.Sys().(*syscall.Stat_t).Uid != 65534 {
				t.Fatalf("control dir of the user's sandbox: %v %+v", err, fi)
			}
			if got := capture(t, sb, "id -u; grep NoNewPrivs /proc/$$/status"); got != "65534\nNoNewPrivs:\t1\n" {
				t.Fatalf("the build's shell: %q", got)
			}
			if waiting != 0 {
				pids, _ := m.plat.cg.procs()
				if used := slices.Contains(pids, waiting); used != (preparedFor != nil) {
					t.Errorf("shell started ahead serves the build: %v, want %v", used, preparedFor != nil)
				}
			}
			if code := run(t, sb, "X=1; exit 2"); code != 2 {
				t.Fatalf("exit: %d", code)
			}
			if got := capture(t, sb, "echo $X; id -u"); got != "1\n65534\n" {
				t.Fatalf("after the shell restarted: %q", got)
			}
		})
	}
}

// A prepared machine's shell is started before its build: the build's
// commands then run in that very shell, and it is indistinguishable from a
// shell started for the build (environment, directory, options, OLDPWD).
func TestPreparedMachineShellStartedAhead(t *testing.T) {
	needRoot(t)
	h := newTestHost(t, HostOptions{})
	if h.cg == nil || !h.Isolated() {
		t.Skip("needs cgroups and namespaces")
	}
	id := "m-" + newID(t)
	m, err := h.Prepare(context.Background(), id, Limits{Pids: 64}, nil)
	if err != nil {
		t.Fatal(err)
	}
	init := m.plat.p.cmd.Process.Pid
	// The init's child is the shell once it has exec'd.
	var shell int
	waitFor(t, func() bool {
		pids, _ := m.plat.cg.procs()
		for _, p := range pids {
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); p != init && string(comm) == "bash\n" {
				shell = p
			}
		}
		return shell != 0
	})
	dir := t.TempDir()
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "QUOTED=it's a \"test\" $HOME `x`\nline2", "EMPTY="}
	const probe = `echo "0=$0 PWD=$PWD opts=$- SHLVL=$SHLVL"; declare -p OLDPWD QUOTED EMPTY; env | LC_ALL=C sort | grep -v '^_='; umask`
	warm := startSandbox(t, h, Spec{Machine: m, Dir: dir, Env: env})
	got := capture(t, warm, probe)
	if pids, _ := m.plat.cg.procs(); !slices.Contains(pids, shell) {
		t.Errorf("the shell started ahead (%d) is gone once the build started: %v", shell, pids)
	}
	cold := startSandbox(t, h, Spec{Dir: dir, Env: env})
	if want := capture(t, cold, probe); got != want {
		t.Errorf("the shell started ahead differs from a new one:\n%s\nwant:\n%s", got, want)
	}
	// State carries across commands and a shell restart as usual.
	if code := run(t, warm, "cd /; X=1; exit 2"); code != 2 {
		t.Fatalf("exit: %d", code)
	}
	if got := capture(t, warm, "echo $X $PWD"); got != "1 /\n" {
		t.Errorf("after the restart: %q", got)
	}
}

// Builds the shell started ahead cannot serve get a new shell, and the
// waiting one is gone: another shell, variables an export cannot set.
func TestPreparedMachineShellNotUsable(t *testing.T) {
	needRoot(t)
	h := newTestHost(t, HostOptions{})
	if h.cg == nil || !h.Isolated() {
		t.Skip("needs cgroups and namespaces")
	}
	path := "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for name, spec := range map[string]Spec{
		"sh":       {Shell: "sh", Env: []string{path}},
		"bash_env": {Env: []string{path, "BASH_ENV=/nonexistent"}},
		"not_name": {Env: []string{path, "a.b=1"}},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := h.Prepare(context.Background(), "m-"+newID(t), Limits{Pids: 64}, nil)
			if err != nil {
				t.Fatal(err)
			}
			init := m.plat.p.cmd.Process.Pid
			var waiting int
			waitFor(t, func() bool {
				pids, _ := m.plat.cg.procs()
				for _, p := range pids {
					if p != init {
						waiting = p
					}
				}
				return waiting != 0
			})
			cg := m.plat.cg
			spec.Machine = m
			sb := startSandbox(t, h, spec)
			if got := capture(t, sb, "echo ran"); got != "ran\n" {
				t.Fatalf("output %q", got)
			}
			if pids, _ := cg.procs(); slices.Contains(pids, waiting) {
				t.Errorf("the shell started ahead (%d) still runs: %v", waiting, pids)
			}
		})
	}
}

// The shell started ahead waits in the host's root, but a build sees only
// its own: pivot_root moves the waiting shell into the build's new root
// (here made for /codebuild), so hidden host paths stay hidden from it.
func TestPreparedMachineShellInBuildsRoot(t *testing.T) {
	needRoot(t)
	h := newTestHost(t, HostOptions{})
	if h.cg == nil || !h.Isolated() {
		t.Skip("needs cgroups and namespaces")
	}
	state := hostStateDir(t)
	if err := os.WriteFile(filepath.Join(state, "secret"), []byte("s3cr3t"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(state, "builds", "b", "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "mine"), []byte("source"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := h.Prepare(context.Background(), "m-"+newID(t), Limits{Pids: 64}, nil)
	if err != nil {
		t.Fatal(err)
	}
	init := m.plat.p.cmd.Process.Pid
	var waiting int
	waitFor(t, func() bool {
		pids, _ := m.plat.cg.procs()
		for _, p := range pids {
			if p != init {
				waiting = p
			}
		}
		return waiting != 0
	})
	sb := startSandbox(t, h, Spec{Machine: m, Dir: "/codebuild/output/src1/src", ReadOnlyRoot: true, Hide: []string{state},
		Binds: []Bind{{Source: src, Target: "/codebuild/output/src1/src"}}})
	got := capture(t, sb, `echo "$PWD $(cat mine)"; cat `+shellQuote(filepath.Join(state, "secret"))+` 2>/dev/null || echo hidden`)
	if pids, _ := m.plat.cg.procs(); !slices.Contains(pids, waiting) {
		t.Fatalf("the shell started ahead did not serve the build: %v", pids)
	}
	if got != "/codebuild/output/src1/src source\nhidden\n" {
		t.Errorf("the build's shell sees %q", got)
	}
}

// A privileged build on a prepared machine keeps the capabilities its
// waiting shell was started without: another init serves it, in the
// machine's cgroup.
func TestPreparedMachinePrivileged(t *testing.T) {
	needRoot(t)
	h := newTestHost(t, HostOptions{})
	if h.cg == nil || !h.Isolated() {
		t.Skip("needs cgroups and namespaces")
	}
	id := "m-" + newID(t)
	m, err := h.Prepare(context.Background(), id, Limits{Pids: 64}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bnd := func(sb *Sandbox) string {
		return strings.TrimSpace(capture(t, sb, `awk '$1 == "CapBnd:" {print $2}' /proc/self/status`))
	}
	priv := startSandbox(t, h, Spec{Machine: m, Privileged: true})
	plain := startSandbox(t, h, Spec{})
	if p, u := bnd(priv), bnd(plain); p == u {
		t.Errorf("privileged build's bounding set %s is an unprivileged one's", p)
	}
	if inside := capture(t, priv, "cat /proc/self/cgroup"); !strings.Contains(inside, "/hangar/"+id+"\n") {
		t.Errorf("the privileged build is not in the machine's cgroup: %s", inside)
	}
}
