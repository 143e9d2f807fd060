//go:build linux

package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if IsInit() {
		InitMain()
	}
	if h := os.Getenv(helperEnv); h != "" {
		runHelper(h)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer is an Output safe to read while the sandbox writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newID(testing.TB) string {
	var b [6]byte
	rand.Read(b[:])
	return "t-" + hex.EncodeToString(b[:])
}

func needRoot(t testing.TB) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

func newTestHost(t testing.TB, opts HostOptions) *Host {
	t.Helper()
	if opts.WorkDir == "" {
		opts.WorkDir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	h, err := NewHost(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func startSandbox(t testing.TB, h *Host, spec Spec) *Sandbox {
	t.Helper()
	if spec.ID == "" {
		spec.ID = newID(t)
	}
	if spec.Dir == "" {
		spec.Dir = t.TempDir()
	}
	if spec.Env == nil {
		spec.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sb, err := h.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := sb.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return sb
}

func run(t testing.TB, sb *Sandbox, cmd string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := sb.Run(ctx, cmd)
	if err != nil {
		t.Fatalf("run %q: %v", cmd, err)
	}
	return code
}

const helperEnv = "HANGAR_SANDBOX_TEST_HELPER"

// modes runs f for the namespaced sandbox and the plain-process fallback.
func modes(t *testing.T, f func(t *testing.T, h *Host)) {
	t.Run("isolated", func(t *testing.T) {
		needRoot(t)
		f(t, newTestHost(t, HostOptions{}))
	})
	t.Run("fallback", func(t *testing.T) {
		f(t, newTestHost(t, HostOptions{DisableIsolation: true}))
	})
}

// shells runs f for bash and for /bin/sh (dash here).
func shells(t *testing.T, f func(t *testing.T, h *Host, shell string)) {
	modes(t, func(t *testing.T, h *Host) {
		for _, sh := range []string{"bash", "sh"} {
			t.Run(sh, func(t *testing.T) { f(t, h, sh) })
		}
	})
}

func capture(t testing.TB, sb *Sandbox, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, code, err := sb.Capture(ctx, script)
	if err != nil {
		t.Fatalf("capture %q: %v", script, err)
	}
	if code != 0 {
		t.Fatalf("capture %q: exit %d", script, code)
	}
	return string(out)
}

func TestShellPersistence(t *testing.T) {
	shells(t, func(t *testing.T, h *Host, shell string) {
		var out syncBuffer
		dir := t.TempDir()
		sb := startSandbox(t, h, Spec{Shell: shell, Output: &out, Dir: dir})
		steps := []string{
			"cd /",
			"export EXP=exported",
			"PLAIN='plain value'",
			"f() { echo \"fn:$1\"; }",
			"mkdir -p /tmp/p-$$ && cd /tmp/p-$$",
		}
		for _, c := range steps {
			if code := run(t, sb, c); code != 0 {
				t.Fatalf("%q: exit %d", c, code)
			}
		}
		got := capture(t, sb, `echo "$EXP|$PLAIN|$(f x)|$(basename "$PWD")|$(env | grep -c '^PLAIN=')|$(env | grep '^EXP=')"`)
		if !strings.HasPrefix(got, "exported|plain value|fn:x|p-") || !strings.HasSuffix(got, "|0|EXP=exported\n") {
			t.Fatalf("state not kept: %q", got)
		}
		if strings.Contains(out.String(), "exported|") {
			t.Fatalf("capture output leaked into Output: %q", out.String())
		}
	})
}

func TestMultiLineLastStatus(t *testing.T) {
	shells(t, func(t *testing.T, h *Host, shell string) {
		sb := startSandbox(t, h, Spec{Shell: shell})
		for cmd, want := range map[string]int{
			"false\ntrue":                0,
			"true\nfalse":                1,
			"echo a\n(exit 7)":           7,
			"if true; then\n  false\nfi": 1,
			"true":                       0,
		} {
			if got := run(t, sb, cmd); got != want {
				t.Errorf("%q: exit %d, want %d", cmd, got, want)
			}
		}
	})
}

func TestExitKeepsState(t *testing.T) {
	shells(t, func(t *testing.T, h *Host, shell string) {
		var out syncBuffer
		sb := startSandbox(t, h, Spec{Shell: shell, Output: &out, Env: []string{"PATH=/usr/bin:/bin", "GONE=1"}})
		run(t, sb, "A=1; export B='two words'; unset GONE; cd /tmp; set -o noglob; g() { echo g; }; X=$(printf 'multi\\nline')")
		if code := run(t, sb, "echo before-exit; exit 3"); code != 3 {
			t.Fatalf("exit 3 gave %d", code)
		}
		got := capture(t, sb, `echo "$A|$B|${GONE-unset}|$PWD|$X|$(env | grep -c '^B=')|$-"`)
		want := "1|two words|unset|/tmp|multi\nline|1|"
		if !strings.HasPrefix(got, want) {
			t.Fatalf("after exit: %q, want prefix %q", got, want)
		}
		if !strings.Contains(strings.TrimPrefix(got, want), "f") {
			t.Errorf("noglob (set -f) lost: %q", got)
		}
		if shell == "bash" {
			if g := capture(t, sb, "g"); g != "g\n" {
				t.Errorf("function lost: %q", g)
			}
		}
		// A second exit works the same, and the restored shell exits cleanly.
		if code := run(t, sb, "A=$((A+1)); exit 0"); code != 0 {
			t.Fatalf("exit 0 gave %d", code)
		}
		if a := capture(t, sb, "echo $A"); a != "2\n" {
			t.Fatalf("A after second exit: %q", a)
		}
		if !strings.Contains(out.String(), "before-exit\n") {
			t.Fatalf("output before exit lost: %q", out.String())
		}
	})
}

func TestShellKilledBySignal(t *testing.T) {
	shells(t, func(t *testing.T, h *Host, shell string) {
		dir := t.TempDir()
		sb := startSandbox(t, h, Spec{Shell: shell, Dir: dir})
		if code := run(t, sb, "kill -9 $$"); code != 137 {
			t.Fatalf("kill -9 $$ gave %d, want 137", code)
		}
		if code := run(t, sb, "exit 5"); code != 5 {
			t.Fatalf("exit 5 gave %d", code)
		}
		if code := run(t, sb, "kill -TERM $$"); code != 143 {
			t.Fatalf("kill -TERM $$ gave %d, want 143", code)
		}
		if got := capture(t, sb, "echo ok"); got != "ok\n" {
			t.Fatalf("shell after signal: %q", got)
		}
		// A shell killed between commands (by its own background job) does
		// not complete the next command.
		run(t, sb, "(sleep 0.2; kill -9 $$; touch killed) >/dev/null 2>&1 &")
		waitFor(t, func() bool { _, err := os.Stat(filepath.Join(dir, "killed")); return err == nil })
		if code := run(t, sb, "sleep 0.1; exit 4"); code != 4 {
			t.Fatalf("command after idle death gave %d, want 4", code)
		}
	})
}

func TestErrexitAndXtrace(t *testing.T) {
	modes(t, func(t *testing.T, h *Host) {
		var out syncBuffer
		sb := startSandbox(t, h, Spec{Output: &out})
		run(t, sb, "set -e")
		if code := run(t, sb, "false; echo not-reached"); code != 1 {
			t.Fatalf("set -e: exit %d", code)
		}
		if strings.Contains(out.String(), "not-reached") {
			t.Fatal("set -e not applied")
		}
		if got := capture(t, sb, "echo $-"); !strings.Contains(got, "e") {
			t.Fatalf("set -e not kept after errexit: %q", got)
		}
		run(t, sb, "set +e; set -x")
		out.Reset()
		run(t, sb, "echo traced")
		if got := out.String(); !strings.Contains(got, "+ echo traced\n") || strings.Contains(got, "__hangar") || strings.Count(got, "+ ") > 2 {
			t.Fatalf("xtrace output: %q", got)
		}
	})
}

func TestOutputOrder(t *testing.T) {
	modes(t, func(t *testing.T, h *Host) {
		var out syncBuffer
		sb := startSandbox(t, h, Spec{Output: &out})
		code := run(t, sb, `for i in $(seq 1 2000); do echo "out $i"; echo "err $i" >&2; done; printf 'no newline'`)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		var want strings.Builder
		for i := 1; i <= 2000; i++ {
			fmt.Fprintf(&want, "out %d\nerr %d\n", i, i)
		}
		want.WriteString("no newline")
		if got := out.String(); got != want.String() {
			t.Fatalf("output differs (len %d vs %d)", len(got), want.Len())
		}
		// The next command's output follows directly.
		run(t, sb, "printf '\\036 lone separator and fake \\036HANGAR:00:E1:0\\036 marker\\n'")
		if got := out.String()[want.Len():]; got != "\x1e lone separator and fake \x1eHANGAR:00:E1:0\x1e marker\n" {
			t.Fatalf("separator bytes not passed through: %q", got)
		}
	})
}

// seqChecker verifies `seq 1 N` output without keeping it.
type seqChecker struct {
	next  int
	cur   int
	bytes int64
	err   error
}

func (c *seqChecker) Write(p []byte) (int, error) {
	c.bytes += int64(len(p))
	for _, b := range p {
		if c.err != nil {
			break
		}
		switch {
		case b >= '0' && b <= '9':
			c.cur = c.cur*10 + int(b-'0')
		case b == '\n':
			if c.cur != c.next {
				c.err = fmt.Errorf("got %d, want %d", c.cur, c.next)
			}
			c.next++
			c.cur = 0
		default:
			c.err = fmt.Errorf("unexpected byte %q", b)
		}
	}
	return len(p), nil
}

func TestLargeOutput(t *testing.T) {
	modes(t, func(t *testing.T, h *Host) {
		c := &seqChecker{next: 1}
		sb := startSandbox(t, h, Spec{Output: c})
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		const n = 6_500_000 // ≈ 52 MB
		if code := run(t, sb, fmt.Sprintf("seq 1 %d", n)); code != 0 {
			t.Fatalf("exit %d", code)
		}
		el := time.Since(start)
		runtime.ReadMemStats(&after)
		if c.err != nil {
			t.Fatal(c.err)
		}
		if c.next != n+1 {
			t.Fatalf("got %d lines, want %d", c.next-1, n)
		}
		t.Logf("%d MB in %v (%.0f MB/s), heap allocated during the run: %d KB",
			c.bytes>>20, el, float64(c.bytes)/1e6/el.Seconds(), (after.TotalAlloc-before.TotalAlloc)>>10)
		if grow := after.TotalAlloc - before.TotalAlloc; grow > 8<<20 {
			t.Fatalf("allocated %d bytes while streaming", grow)
		}
	})
}

func TestPidNamespace(t *testing.T) {
	needRoot(t)
	h := newTestHost(t, HostOptions{})
	sb := startSandbox(t, h, Spec{})
	run(t, sb, "sleep 100 &")
	var comms []string
	waitFor(t, func() bool { // until the background job has exec'd sleep
		got := capture(t, sb, "ps -e -o pid=,comm=")
		comms = nil
		for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
			comms = append(comms, strings.Join(strings.Fields(l), ":"))
		}
		return len(comms) == 4 && strings.HasSuffix(comms[2], ":sleep")
	})
	want := []string{"1:hangar-init", "bash", "sleep", "ps"}
	if len(comms) != 4 {
		t.Fatalf("processes inside: %v", comms)
	}
	for i, w := range want {
		if !strings.Contains(comms[i], w) {
			t.Fatalf("processes inside: %v, want %v", comms, want)
		}
	}
	if got := capture(t, sb, "hostname; ls /dev | tr '\\n' ' '"); !strings.Contains(got, "null") || strings.Contains(got, "vda") {
		t.Fatalf("/dev inside: %q", got)
	}
}

func hostStateDir(t *testing.T) string {
	// Not under /tmp: the sandbox has its own /tmp.
	d, err := os.MkdirTemp("/var/tmp", "hangar-state-")
	if err != nil {
		t.Skip("no /var/tmp:", err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestHideAndBind(t *testing.T) {
	needRoot(t)
	state := hostStateDir(t)
	src := filepath.Join(state, "builds", "b1", "src")
	cache := filepath.Join(state, "builds", "b1", "cache")
	for _, d := range []string{src, cache, filepath.Join(state, "keys"), filepath.Join(state, "builds", "other")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(state, "keys", "secret"), []byte("s3cr3t"), 0o600)
	os.WriteFile(filepath.Join(state, "builds", "other", "f"), []byte("other build"), 0o644)
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main"), 0o644)
	os.WriteFile(filepath.Join(cache, "c"), []byte("cache"), 0o644)
	h := newTestHost(t, HostOptions{})
	for _, user := range []*User{nil, {UID: 65534, GID: 65534}} {
		t.Run(fmt.Sprintf("user=%v", user != nil), func(t *testing.T) {
			os.Chmod(src, 0o777)
			sb := startSandbox(t, h, Spec{
				Dir:   src,
				User:  user,
				Hide:  []string{state},
				Binds: []Bind{{Source: src, Target: src}, {Source: cache, Target: cache, ReadOnly: true}},
			})
			if got := capture(t, sb, "cat main.go; echo; cat ../cache/c"); got != "package main\ncache" {
				t.Fatalf("binds: %q", got)
			}
			if code := run(t, sb, "echo built > out.txt"); code != 0 {
				t.Fatalf("write in source dir: exit %d", code)
			}
			if b, _ := os.ReadFile(filepath.Join(src, "out.txt")); string(b) != "built\n" {
				t.Fatalf("write in source dir not on host: %q", b)
			}
			os.Remove(filepath.Join(src, "out.txt"))
			for _, c := range []string{
				"cat " + state + "/keys/secret",
				"ls " + state + "/keys",
				"cat " + state + "/builds/other/f",
				"echo x > " + cache + "/new",
				"touch " + state + "/x",
			} {
				if code := run(t, sb, c+" 2>/dev/null"); code == 0 {
					t.Errorf("%q succeeded inside the sandbox", c)
				}
			}
			if user == nil {
				// Root sees an empty tmpfs with only the mount points for the binds.
				if got := capture(t, sb, "ls -A "+state+"; ls -A "+state+"/builds; ls -A "+state+"/builds/b1"); got != "builds\nb1\ncache\nsrc\n" {
					t.Fatalf("hidden dir content: %q", got)
				}
				// No capability to undo it.
				if code := run(t, sb, "umount "+state+" 2>/dev/null"); code == 0 {
					t.Error("umount of the hiding mount succeeded")
				}
			} else if code := run(t, sb, "ls "+state+" 2>/dev/null"); code == 0 {
				t.Error("non-root could list the hidden dir")
			}
		})
	}
}

func TestReadOnlyRoot(t *testing.T) {
	needRoot(t)
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprintf("remount=%v", force), func(t *testing.T) {
			h := newTestHost(t, HostOptions{ForceRemountRO: force})
			dir := hostStateDir(t)
			sb := startSandbox(t, h, Spec{Dir: dir, ReadOnlyRoot: true})
			for _, c := range []string{"touch /usr/hangar-x", "touch /var/hangar-x", "echo 1 > /proc/sys/vm/swappiness", "mkdir /sys/fs/cgroup/pids/x"} {
				if code := run(t, sb, c+" 2>/dev/null"); code == 0 {
					t.Errorf("%q succeeded", c)
				}
			}
			for _, c := range []string{
				"touch /tmp/x && rm /tmp/x",
				"touch ./x && rm ./x",
				"echo hi > /dev/null",
				"head -c 4 /dev/urandom | wc -c | grep -q 4",
				"head -c 4 /dev/zero | wc -c | grep -q 4",
				"echo shm > /dev/shm/x && cat /dev/shm/x",
				"test ! -e /dev/vda",
			} {
				if code := run(t, sb, c); code != 0 {
					t.Errorf("%q: exit %d", c, code)
				}
			}
			if _, err := os.Stat("/dev/shm/x"); err == nil {
				t.Error("/dev/shm is not private")
			}
		})
	}
}

func TestUser(t *testing.T) {
	needRoot(t)
	for _, iso := range []bool{true, false} {
		t.Run(fmt.Sprintf("isolated=%v", iso), func(t *testing.T) {
			// The fallback has no mount namespace: the user must be able to
			// reach the dirs on the host.
			base := hostStateDir(t)
			os.Chmod(base, 0o711)
			dir := filepath.Join(base, "src")
			os.Mkdir(dir, 0o777)
			os.Chmod(dir, 0o777)
			h := newTestHost(t, HostOptions{DisableIsolation: !iso, WorkDir: filepath.Join(base, "work")})
			testUser(t, h, dir)
		})
	}
}

func testUser(t *testing.T, h *Host, dir string) {
	sb := startSandbox(t, h, Spec{Dir: dir, User: &User{UID: 65534, GID: 65534}})
	if got := capture(t, sb, "id -u; id -g"); got != "65534\n65534\n" {
		t.Fatalf("id: %q", got)
	}
	if code := run(t, sb, "touch ./mine && touch /tmp/mine"); code != 0 {
		t.Fatalf("user cannot write its dirs: %d", code)
	}
	if code := run(t, sb, "touch /etc/hangar-x 2>/dev/null"); code == 0 {
		t.Fatal("user wrote /etc")
	}
	if code := run(t, sb, "X=1; exit 2"); code != 2 {
		t.Fatalf("exit: %d", code)
	}
	if got := capture(t, sb, "echo $X; id -u"); got != "1\n65534\n" {
		t.Fatalf("after restart: %q", got)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cgroupOf returns the sandbox's cgroup (nil without one).
func cgroupOf(sb *Sandbox) *cgroup {
	switch b := sb.be.(type) {
	case *nsBackend:
		return b.cg
	case *directBackend:
		if cg, ok := b.cg.(*cgroup); ok {
			return cg
		}
	}
	return nil
}

func readTrim(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestCgroupLimits(t *testing.T) {
	needRoot(t)
	t.Run("isolated-noprestart", func(t *testing.T) {
		// Started right into the v2 group (CLONE_INTO_CGROUP) instead of
		// joining by pid like a prestarted init.
		testCgroupLimits(t, newTestHost(t, HostOptions{NoPrestart: true}))
	})
	modes(t, testCgroupLimits)
}

func testCgroupLimits(t *testing.T, h *Host) {
	{
		if h.cg == nil {
			t.Skip("no cgroups")
		}
		sb := startSandbox(t, h, Spec{Limits: Limits{CPU: 1.5, MemoryBytes: 256 << 20, Pids: 100}})
		cg := cgroupOf(sb)
		if cg == nil {
			t.Fatal("no cgroup")
		}
		id := sb.spec.ID
		check := func(ctl, file, want string) {
			t.Helper()
			var dir string
			if d, ok := cg.v1dirs[ctl]; ok {
				dir = d
			} else if cg.v2ctl[ctl] {
				dir = cg.v2dir
			} else {
				t.Fatalf("no %s controller", ctl)
			}
			if !strings.HasSuffix(dir, "/hangar/"+id) {
				t.Fatalf("cgroup dir %s", dir)
			}
			if got := readTrim(t, filepath.Join(dir, file)); got != want {
				t.Errorf("%s/%s = %q, want %q", dir, file, got, want)
			}
		}
		switch h.cg.mode {
		case "v1", "hybrid":
			check("cpu", "cpu.cfs_quota_us", "150000")
			check("cpu", "cpu.cfs_period_us", "100000")
			check("memory", "memory.limit_in_bytes", "268435456")
			if _, err := os.Stat(filepath.Join(cg.v1dirs["memory"], "memory.memsw.limit_in_bytes")); err == nil {
				check("memory", "memory.memsw.limit_in_bytes", "268435456")
			}
			check("pids", "pids.max", "100")
		case "v2":
			check("cpu", "cpu.max", "150000 100000")
			check("memory", "memory.max", "268435456")
			check("pids", "pids.max", "100")
		}
		// Every process of the build is in the group, in every hierarchy.
		inside := capture(t, sb, "cat /proc/self/cgroup")
		for _, ctl := range []string{"memory", "pids", "cpu", "freezer"} {
			if _, ok := h.cg.v1[ctl]; ok && !regexp.MustCompile(`(?m)^\d+:[^:]*\b`+ctl+`\b[^:]*:/hangar/`+id+`$`).MatchString(inside) {
				t.Errorf("not in the %s group: %s", ctl, inside)
			}
		}
		if h.cg.v2 != "" && !strings.Contains(inside, "0::/hangar/"+id+"\n") {
			t.Errorf("not in the v2 group: %s", inside)
		}
		pids, err := cg.procs()
		if err != nil || len(pids) == 0 {
			t.Fatalf("procs %v %v", pids, err)
		}
	}
}

func TestLimitsCappedAtHost(t *testing.T) {
	needRoot(t)
	h := newTestHost(t, HostOptions{})
	if h.cg == nil || h.cg.v1["cpu"] == "" || h.cg.v1["memory"] == "" {
		t.Skip("needs v1 cpu and memory")
	}
	sb := startSandbox(t, h, Spec{Limits: Limits{CPU: 4096, MemoryBytes: 1 << 60}})
	cg := cgroupOf(sb)
	if got, want := readTrim(t, filepath.Join(cg.v1dirs["cpu"], "cpu.cfs_quota_us")), fmt.Sprint(runtime.NumCPU()*100000); got != want {
		t.Errorf("quota %s, want %s", got, want)
	}
	got, _ := strconv.ParseInt(readTrim(t, filepath.Join(cg.v1dirs["memory"], "memory.limit_in_bytes")), 10, 64)
	if got > h.cg.host.memTotal || got < h.cg.host.memTotal-(1<<20) {
		t.Errorf("memory limit %d, host has %d", got, h.cg.host.memTotal)
	}
}

func TestOOMKilled(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("needs perl")
	}
	modes(t, func(t *testing.T, h *Host) {
		if h.cg == nil {
			t.Skip("no cgroups")
		}
		var out syncBuffer
		sb := startSandbox(t, h, Spec{Output: &out, Limits: Limits{MemoryBytes: 64 << 20}})
		if code := run(t, sb, `perl -e '$x = "a" x (20*1024*1024); print "small ok\n"'`); code != 0 || sb.OOMKilled() {
			t.Fatalf("small allocation: exit %d, oom %v, %q", code, sb.OOMKilled(), out.String())
		}
		code := run(t, sb, `perl -e '$x = "a" x (512*1024*1024); print length($x), "\n"'`)
		if code != 137 {
			t.Fatalf("memory hog: exit %d, output %q", code, out.String())
		}
		if !sb.OOMKilled() {
			t.Fatal("OOMKilled() = false after the hog was killed")
		}
		if code := run(t, sb, "true"); code != 0 {
			t.Fatalf("shell after OOM: %d", code)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := sb.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if !sb.OOMKilled() {
			t.Fatal("OOMKilled() forgot after Close")
		}
	})
}

func TestForkBombStoppedByPidsLimit(t *testing.T) {
	needRoot(t)
	modes(t, func(t *testing.T, h *Host) {
		if h.cg == nil {
			t.Skip("no cgroups")
		}
		sb := startSandbox(t, h, Spec{Shell: "sh", Limits: Limits{Pids: 40}})
		cg := cgroupOf(sb)
		pidsDir, ok := cg.v1dirs["pids"]
		if !ok {
			if !cg.v2ctl["pids"] {
				t.Skip("no pids controller")
			}
			pidsDir = cg.v2dir
		}
		// Never run the bomb without a working limit.
		if got := readTrim(t, filepath.Join(pidsDir, "pids.max")); got != "40" {
			t.Fatalf("pids.max = %q", got)
		}
		if code := run(t, sb, "b() { b | b & }; b 2>/dev/null"); code != 0 {
			t.Fatalf("bomb: %d", code)
		}
		var peak int
		for i := 0; i < 100; i++ {
			n, _ := strconv.Atoi(readTrim(t, filepath.Join(pidsDir, "pids.current")))
			peak = max(peak, n)
			if n > 40 {
				t.Fatalf("pids.current = %d over the limit", n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if ev := readTrim(t, filepath.Join(pidsDir, "pids.events")); !strings.HasPrefix(ev, "max ") || ev == "max 0" {
			t.Errorf("pids.events = %q, the limit was never hit", ev)
		}
		// The test process is not affected.
		if err := exec.Command("true").Run(); err != nil {
			t.Fatalf("host fork: %v", err)
		}
		start := time.Now()
		sb.Kill(0)
		if pids, _ := cg.procs(); len(pids) != 0 {
			t.Fatalf("left after Kill: %v", pids)
		}
		t.Logf("peak %d processes; Kill took %v", peak, time.Since(start))
		if _, err := sb.Run(context.Background(), "true"); !errors.Is(err, ErrKilled) {
			t.Fatalf("Run after Kill: %v", err)
		}
	})
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestKillTree(t *testing.T) {
	modes(t, func(t *testing.T, h *Host) {
		if h.cg == nil {
			t.Skip("pids of a fallback sandbox are only known through its cgroup")
		}
		dir := t.TempDir()
		sb := startSandbox(t, h, Spec{Dir: dir})
		cg := cgroupOf(sb)
		run(t, sb, `sh -c 'trap "" TERM; exec sleep 1000' >/dev/null 2>&1 &
nohup sleep 1001 >/dev/null 2>&1 &
setsid sleep 1002 >/dev/null 2>&1 &
(trap "" TERM; sleep 1003; echo never) &`)
		type result struct {
			code int
			err  error
			at   time.Time
		}
		res := make(chan result, 1)
		go func() {
			code, err := sb.Run(context.Background(), "trap '' TERM; sleep 1004")
			res <- result{code, err, time.Now()}
		}()
		var pids []int
		waitFor(t, func() bool {
			pids, _ = cg.procs()
			n := 0
			for _, p := range pids {
				if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p)); strings.HasPrefix(string(b), "sleep\x00100") {
					n++
				}
			}
			return n == 5
		})
		start := time.Now()
		sb.Kill(300 * time.Millisecond)
		took := time.Since(start)
		r := <-res
		if !errors.Is(r.err, ErrKilled) {
			t.Fatalf("Run: %d %v", r.code, r.err)
		}
		if d := r.at.Sub(start); d > 200*time.Millisecond {
			t.Errorf("Run returned %v after Kill started", d)
		}
		for _, p := range pids {
			if alive(p) {
				t.Errorf("pid %d still alive after Kill", p)
			}
		}
		if left, _ := cg.procs(); len(left) != 0 {
			t.Errorf("cgroup not empty: %v", left)
		}
		if took < 300*time.Millisecond {
			t.Errorf("Kill took %v: SIGTERM-ignoring children were not given the grace", took)
		}
		sb.Kill(time.Second) // idempotent
		if _, _, err := sb.Capture(context.Background(), "true"); !errors.Is(err, ErrKilled) {
			t.Errorf("Capture after Kill: %v", err)
		}
	})
}

func TestCloseKillsLeftovers(t *testing.T) {
	needRoot(t)
	modes(t, func(t *testing.T, h *Host) {
		h.opts.LeftoverGrace = 200 * time.Millisecond
		var out syncBuffer
		spec := Spec{ID: newID(t), Dir: t.TempDir(), Output: &out}
		ctx := context.Background()
		sb, err := h.Start(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		run(t, sb, `nohup sh -c 'trap "" TERM; sleep 1000' >/dev/null 2>&1 &
(sleep 0.2; echo late) &
setsid sh -c 'echo daemon up; exec sleep 1001' &`)
		waitFor(t, func() bool {
			return strings.Contains(out.String(), "late\n") && strings.Contains(out.String(), "daemon up\n")
		})
		cg := cgroupOf(sb)
		pids, _ := cg.procs()
		if len(pids) < 4 {
			t.Fatalf("procs: %v", pids)
		}
		start := time.Now()
		if err := sb.Close(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("Close took %v", time.Since(start))
		for _, p := range pids {
			if alive(p) {
				t.Errorf("pid %d alive after Close", p)
			}
		}
		for _, d := range cg.dirs {
			t.Errorf("cgroup dir %s kept", d)
		}
		for _, d := range []string{"cpu", "memory", "pids", "freezer"} {
			if mp, ok := h.cg.v1[d]; ok {
				if _, err := os.Stat(filepath.Join(mp, "hangar", spec.ID)); err == nil {
					t.Errorf("cgroup %s/hangar/%s still exists", mp, spec.ID)
				}
			}
		}
		if _, err := os.Stat(filepath.Join(h.opts.WorkDir, spec.ID)); err == nil {
			t.Error("control dir kept")
		}
		if err := sb.Close(ctx); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := sb.Run(ctx, "true"); !errors.Is(err, ErrClosed) {
			t.Errorf("Run after Close: %v", err)
		}
	})
}

func TestRunContextCancel(t *testing.T) {
	modes(t, func(t *testing.T, h *Host) {
		sb := startSandbox(t, h, Spec{})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := sb.Run(ctx, "sleep 1000")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Run took %v", d)
		}
		sb.Kill(time.Second) // waits for the kill that the cancel started
		if _, err := sb.Run(context.Background(), "true"); !errors.Is(err, ErrKilled) {
			t.Fatalf("Run after cancel: %v", err)
		}
	})
}

func TestCapture(t *testing.T) {
	modes(t, func(t *testing.T, h *Host) {
		var out syncBuffer
		sb := startSandbox(t, h, Spec{Output: &out})
		ctx := context.Background()
		got, code, err := sb.Capture(ctx, "CODEBUILD_BUILD_SUCCEEDING=0; echo captured; echo to-stderr >&2; exit 0")
		if err != nil || code != 0 || string(got) != "captured\n" {
			t.Fatalf("capture: %q %d %v", got, code, err)
		}
		got, code, err = sb.Capture(ctx, "printf '%s\\0' \"$CODEBUILD_BUILD_SUCCEEDING\"; false")
		if err != nil || code != 1 || string(got) != "0\x00" {
			t.Fatalf("capture: %q %d %v", got, code, err)
		}
		if out.String() != "" {
			t.Fatalf("capture wrote to Output: %q", out.String())
		}
		run(t, sb, "echo visible")
		if out.String() != "visible\n" {
			t.Fatalf("output: %q", out.String())
		}
	})
}

// countingHandler counts warnings.
type countingHandler struct {
	slog.Handler
	mu    *sync.Mutex
	warns *[]string
}

func (c countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		c.mu.Lock()
		*c.warns = append(*c.warns, r.Message)
		c.mu.Unlock()
	}
	return c.Handler.Handle(ctx, r)
}

func TestFallbackWarnsOnce(t *testing.T) {
	var mu sync.Mutex
	var warns []string
	log := slog.New(countingHandler{Handler: testLogger(t).Handler(), mu: &mu, warns: &warns})
	h := newTestHost(t, HostOptions{DisableIsolation: true, Logger: log})
	for i := 0; i < 3; i++ {
		sb := startSandbox(t, h, Spec{})
		if sb.Isolated() {
			t.Fatal("Isolated() = true with isolation disabled")
		}
		if got := capture(t, sb, "X=$((${X:-0}+1)); echo $X"); got != "1\n" {
			t.Fatalf("fallback shell: %q", got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, w := range warns {
		if strings.Contains(w, "degraded") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d degraded warnings: %v", n, warns)
	}
}

// TestPdeathsig kills a runner (a helper process) with SIGKILL and checks that
// its build's processes die with it.
func TestPdeathsig(t *testing.T) {
	needRoot(t)
	work := t.TempDir()
	id := newID(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=pdeathsig", "HANGAR_TEST_WORKDIR="+work, "HANGAR_TEST_ID="+id)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %q %v", line, err)
	}
	h := newTestHost(t, HostOptions{})
	pidsFile := filepath.Join(h.cg.v2, "hangar", id, "cgroup.procs")
	if h.cg.v2 == "" {
		pidsFile = filepath.Join(h.cg.v1["pids"], "hangar", id, "cgroup.procs")
	}
	var pids []int
	for _, f := range strings.Fields(readTrim(t, pidsFile)) {
		p, _ := strconv.Atoi(f)
		pids = append(pids, p)
	}
	if len(pids) < 5 {
		t.Fatalf("build processes: %v", pids)
	}
	cmd.Process.Kill()
	cmd.Wait()
	waitFor(t, func() bool {
		for _, p := range pids {
			if alive(p) {
				return false
			}
		}
		return true
	})
	// The dead runner's empty groups and control dir are what Prune is for.
	h2 := newTestHost(t, HostOptions{WorkDir: work})
	if err := h2.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(pidsFile)); err == nil {
		t.Fatal("Prune left the cgroup")
	}
	if ents, _ := os.ReadDir(work); len(ents) != 0 {
		t.Fatalf("Prune left %v", ents)
	}
}

// TestAutoFallback runs a runner without the right to create namespaces (a
// non-root helper): Start must fall back by itself and say so once.
func TestAutoFallback(t *testing.T) {
	needRoot(t)
	base := hostStateDir(t)
	os.Chmod(base, 0o755)
	bin := filepath.Join(base, "sandbox.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(base, "work")
	os.Mkdir(work, 0o700)
	os.Chown(work, 65534, 65534)
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Dir = base
	cmd.Env = []string{helperEnv + "=autofallback", "HANGAR_TEST_WORKDIR=" + work, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr.String())
	}
	if got := string(out); got != "isolated=false code=3 x=1\nisolated=false code=3 x=1\n" {
		t.Fatalf("helper output %q\n%s", got, stderr.String())
	}
	if n := strings.Count(stderr.String(), "sandbox degraded"); n != 1 {
		t.Fatalf("%d degraded warnings:\n%s", n, stderr.String())
	}
}

func runHelper(mode string) {
	switch mode {
	case "pdeathsig":
		h, err := NewHost(HostOptions{WorkDir: os.Getenv("HANGAR_TEST_WORKDIR")})
		if err != nil {
			panic(err)
		}
		ctx := context.Background()
		sb, err := h.Start(ctx, Spec{ID: os.Getenv("HANGAR_TEST_ID"), Dir: "/"})
		if err != nil {
			panic(err)
		}
		if _, err := sb.Run(ctx, "sleep 1000 & nohup sleep 1000 >/dev/null 2>&1 & setsid sleep 1000 >/dev/null 2>&1 &"); err != nil {
			panic(err)
		}
		// init, shell, three sleeps
		for {
			pids, _ := cgroupOf(sb).procs()
			if len(pids) >= 5 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		os.Stdout.WriteString("ready\n")
		select {}
	case "autofallback":
		h, err := NewHost(HostOptions{WorkDir: os.Getenv("HANGAR_TEST_WORKDIR"),
			Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
		if err != nil {
			panic(err)
		}
		ctx := context.Background()
		for i := 0; i < 2; i++ {
			sb, err := h.Start(ctx, Spec{ID: newID(nil), Dir: "/"})
			if err != nil {
				panic(err)
			}
			code, err := sb.Run(ctx, "X=1; exit 3")
			if err != nil {
				panic(err)
			}
			out, _, _ := sb.Capture(ctx, "echo $X")
			fmt.Printf("isolated=%v code=%d x=%s", sb.Isolated(), code, out)
			if err := sb.Close(ctx); err != nil {
				panic(err)
			}
		}
	default:
		panic("unknown helper " + mode)
	}
}

// TestControlDirSymlinks: the build owns its control dir; the runner must not
// follow links the build plants there.
func TestControlDirSymlinks(t *testing.T) {
	needRoot(t)
	state := hostStateDir(t)
	secret := filepath.Join(state, "secret")
	victim := filepath.Join(state, "victim")
	os.WriteFile(secret, []byte("s3cr3t"), 0o600)
	os.WriteFile(victim, []byte("original"), 0o644)
	h := newTestHost(t, HostOptions{})
	sb := startSandbox(t, h, Spec{Hide: []string{state}})
	run(t, sb, "ln -sf "+victim+" /dev/.hangar/cmd")
	run(t, sb, "true")
	if b, _ := os.ReadFile(victim); string(b) != "original" {
		t.Fatalf("runner wrote through a symlink: %q", b)
	}
	out, _, err := sb.Capture(context.Background(), "rm /dev/.hangar/out; ln -s "+secret+" /dev/.hangar/out")
	if err == nil || strings.Contains(string(out), "s3cr3t") {
		t.Fatalf("runner read through a symlink: %q %v", out, err)
	}
	// A FIFO left from before is removed first (or the shell would block).
	run(t, sb, "rm -f /dev/.hangar/out; mkfifo /dev/.hangar/out")
	if got := capture(t, sb, "echo fine"); got != "fine\n" {
		t.Fatalf("capture after a planted FIFO: %q", got)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := sb.Capture(context.Background(), "rm -f /dev/.hangar/out; mkfifo /dev/.hangar/out")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("capture from a FIFO succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runner blocked on a FIFO")
	}
}

// TestCodeBuildLayout is how the runner uses the sandbox: CodeBuild's paths,
// which do not exist on the host, bound from the build's dir under the
// hidden state dir.
func TestCodeBuildLayout(t *testing.T) {
	needRoot(t)
	state := hostStateDir(t)
	run1 := filepath.Join(state, "builds", "b1")
	for _, d := range []string{"src", "tmp", "home"} {
		os.MkdirAll(filepath.Join(run1, d), 0o755)
	}
	os.WriteFile(filepath.Join(run1, "src", "buildspec.yml"), []byte("version: 0.2\n"), 0o644)
	os.WriteFile(filepath.Join(state, "db"), []byte("secret"), 0o600)
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprintf("remount=%v", force), func(t *testing.T) {
			h := newTestHost(t, HostOptions{ForceRemountRO: force})
			if !h.Isolated() {
				t.Fatal("Isolated() = false")
			}
			src := "/codebuild/output/src123/src"
			sb := startSandbox(t, h, Spec{
				Dir:          src,
				Env:          []string{"PATH=/usr/bin:/bin", "HOME=/root"},
				ReadOnlyRoot: true,
				Hide:         []string{state},
				Binds: []Bind{
					{Source: filepath.Join(run1, "src"), Target: src},
					{Source: filepath.Join(run1, "tmp"), Target: "/tmp"},
					{Source: filepath.Join(run1, "home"), Target: "/root"},
				},
			})
			if got := capture(t, sb, "pwd; ls; ls -a / | grep -c hangar-old-root; ls / | grep -c '^usr$'"); got != src+"\nbuildspec.yml\n0\n1\n" {
				t.Fatalf("inside: %q", got)
			}
			if code := run(t, sb, "touch built && touch /tmp/t && echo hi > ~/h"); code != 0 {
				t.Fatalf("writes: %d", code)
			}
			for _, f := range []string{"src/built", "tmp/t", "home/h"} {
				if _, err := os.Stat(filepath.Join(run1, f)); err != nil {
					t.Errorf("%s not on the host: %v", f, err)
				}
				os.Remove(filepath.Join(run1, f))
			}
			for _, c := range []string{"touch /usr/x", "touch /codebuild/x", "mkdir /new", "cat " + state + "/db"} {
				if code := run(t, sb, c+" 2>/dev/null"); code == 0 {
					t.Errorf("%q succeeded", c)
				}
			}
			if _, err := os.Stat("/codebuild"); err == nil {
				t.Fatal("/codebuild was created on the host")
			}
		})
	}
	// The runner's state dir under the directory the build's HOME is
	// bound over (an embedded runner keeps it in ~/.local/state/hangar):
	// the bind shadows the hidden dir, which must not fail the start.
	t.Run("hidden dir under a bind target", func(t *testing.T) {
		home := hostStateDir(t)
		hidden := filepath.Join(home, ".local", "state", "hangar")
		os.MkdirAll(hidden, 0o700)
		os.WriteFile(filepath.Join(hidden, "db"), []byte("secret"), 0o600)
		h := newTestHost(t, HostOptions{})
		sb := startSandbox(t, h, Spec{
			Dir:          "/codebuild/output/src123/src",
			ReadOnlyRoot: true,
			Hide:         []string{hidden},
			Binds: []Bind{
				{Source: filepath.Join(run1, "src"), Target: "/codebuild/output/src123/src"},
				{Source: filepath.Join(run1, "home"), Target: home},
			},
		})
		if got := capture(t, sb, "cat "+hidden+"/db 2>&1 >/dev/null | wc -l; ls -A "+home+" | wc -l"); got != "1\n0\n" {
			t.Fatalf("inside: %q", got)
		}
	})
	t.Run("deep missing target", func(t *testing.T) {
		h := newTestHost(t, HostOptions{})
		_, err := h.Start(context.Background(), Spec{ID: newID(t), Dir: "/",
			Binds: []Bind{{Source: run1, Target: "/usr/share/hangar-missing/x"}}})
		if err == nil || !strings.Contains(err.Error(), "missing top-level") {
			t.Fatalf("Start: %v", err)
		}
	})
	if h := newTestHost(t, HostOptions{DisableIsolation: true}); h.Isolated() {
		t.Fatal("Isolated() with isolation disabled")
	}
}
