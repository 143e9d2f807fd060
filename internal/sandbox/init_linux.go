package sandbox

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// initArg0 is argv[0] of the re-executed binary in init mode. The spec comes
// over a pipe, never argv/env.
const initArg0 = "hangar-sandbox-init"

// The init's inherited fds (exec.Cmd.ExtraFiles order).
const (
	initCtlFD    = 3 // runner → init: spec, go-ahead, terminate
	initStatusFD = 4 // init → runner: "ok\n" or an error line
	initCmdFD    = 5 // command pipe, read end: handed to the shell as fd 9
	initOutFD    = 6 // output pipe, write end: the shell's fds 1, 2 and 8
)

// Messages on the ctl pipe after the spec.
const (
	ctlGo        = 'G' // cgroups are joined: start the shell
	ctlTerminate = 'T' // SIGTERM everything, stop restarting the shell
)

// Status line prefixes from init to runner.
const (
	statusOK     = "ok"
	statusDenied = "denied: " // namespaces/mounts not allowed here: fall back
	statusError  = "error: "
)

// initSpec is what the runner sends the init.
type initSpec struct {
	ID             string
	Nonce          string
	Shell          string
	Env            []string
	Dir            string
	CtlDir         string // host path, bound at ctlInside
	TmpDir         string
	User           *User
	ReadOnlyRoot   bool
	Privileged     bool
	Hide           []string
	Binds          []Bind
	Overlays       []Overlay
	LeftoverGrace  time.Duration
	ForceRemountRO bool
	// PreStart asks an init waiting for its build to start the shell
	// (Shell, as User) now; the build's spec follows. See preShellScript.
	PreStart bool

	// chrooted: setupMounts entered the new root with chroot (an initramfs
	// root cannot be pivoted away), which moves only the init itself.
	chrooted bool
}

// IsInit reports whether this process was started as a sandbox init. main
// must call it first thing and then InitMain.
func IsInit() bool { return len(os.Args) > 0 && os.Args[0] == initArg0 }

// InitMain runs the sandbox init (PID 1 of the build's pid namespace). It
// never returns.
func InitMain() {
	entered := monotonicNow()
	// Mount setup and capability drops are done on this thread, and the shell
	// is forked from it, so it inherits the per-thread bounding set.
	runtime.LockOSThread()
	status := os.NewFile(initStatusFD, "status")
	err := runInit(status, entered)
	if err != nil {
		line := statusError
		if errors.Is(err, errNamespaceDenied) {
			line = statusDenied
		}
		fmt.Fprintf(status, "%s%s\n", line, strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
	os.Exit(0)
}

func readSpec(r io.Reader) (*initSpec, error) {
	var n uint32
	if err := binary.Read(r, binary.BigEndian, &n); err != nil {
		return nil, fmt.Errorf("read spec length: %w", err)
	}
	if n > 64<<20 {
		return nil, fmt.Errorf("spec too large: %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	var s initSpec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode spec: %w", err)
	}
	return &s, nil
}

// dockerDefaultCaps is the bounding set non-privileged root builds keep:
// Docker's default minus CAP_NET_RAW (the host network is shared; raw
// sockets could sniff other builds' loopback traffic).
var dockerDefaultCaps = []int{
	unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FSETID, unix.CAP_FOWNER,
	unix.CAP_MKNOD, unix.CAP_SETGID, unix.CAP_SETUID, unix.CAP_SETFCAP,
	unix.CAP_SETPCAP, unix.CAP_NET_BIND_SERVICE, unix.CAP_SYS_CHROOT,
	unix.CAP_KILL, unix.CAP_AUDIT_WRITE,
}

func dropCaps() error {
	last := unix.CAP_LAST_CAP
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			last = n
		}
	}
	keep := map[int]bool{}
	for _, c := range dockerDefaultCaps {
		keep[c] = true
	}
	for c := 0; c <= last; c++ {
		if keep[c] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("drop capability %d: %w", c, err)
		}
	}
	return nil
}

// preShellScript returns what the shell started ahead (if any) sources to
// become the build's shell, or false when it cannot be: the build wants
// another shell or user, the shell was not moved into the new root, it
// died, or the environment has names only an exec can give a shell
// (exports cannot set them, or bash reads them only at startup).
func preShellScript(spec *initSpec, sup *supervisor) (string, bool) {
	if sup.pid == 0 || sup.preShell != spec.Shell || !sameUser(sup.preUser, spec.User) || spec.chrooted {
		return "", false
	}
	var ws unix.WaitStatus
	if pid, err := unix.Wait4(sup.pid, &ws, unix.WNOHANG, nil); pid != 0 || err != nil {
		sup.pid = 0 // it is gone (and now reaped)
		return "", false
	}
	var b strings.Builder
	for _, kv := range spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		if !ShellName(k) || startupOnly(k) {
			return "", false
		}
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(v))
	}
	// As after an exec: OLDPWD exported with no value, and no trace of
	// the variables used here.
	fmt.Fprintf(&b, "cd -- %s || exit 1\nunset OLDPWD __hangar_go\ndeclare -x OLDPWD\n", shellQuote(spec.Dir))
	fmt.Fprintf(&b, ". %s\n", shellQuote(ctlInside+"/"+shellScriptName))
	return b.String(), true
}

// sameUser reports whether a and b are the same user (nil: root).
func sameUser(a, b *User) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.UID == b.UID && a.GID == b.GID && slices.Equal(a.Groups, b.Groups)
}

// startupOnly reports the variables bash reads (or makes read-only) when
// it starts: a started shell cannot take them from an export.
func startupOnly(name string) bool {
	switch name {
	case "SHELLOPTS", "BASHOPTS", "BASH_ENV", "ENV", "POSIXLY_CORRECT", "BASH_XTRACEFD", "UID", "EUID", "PPID", "BASH_VERSINFO":
		return true
	}
	return false
}

// monotonicNow is CLOCK_MONOTONIC in ns: comparable across processes, so the
// runner can log where the init's startup time goes.
func monotonicNow() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func runInit(status *os.File, entered int64) error {
	// comm would be "exe" (from /proc/self/exe); name PID 1 for `ps` inside.
	// PR_SET_NAME names only the calling thread, which need not be the main
	// one `ps` shows, so write the process's comm file first.
	if os.WriteFile("/proc/self/comm", []byte("hangar-init"), 0) != nil {
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&[]byte("hangar-init\x00")[0])), 0, 0, 0)
	}
	for _, fd := range []int{initCtlFD, initStatusFD, initCmdFD, initOutFD} {
		unix.CloseOnExec(fd) // the shell gets only what ForkExec maps
	}
	ctl := os.NewFile(initCtlFD, "ctl")
	// Handling (not ignoring) these means the shell starts with default
	// dispositions (Go resets handled signals on exec, but keeps SIG_IGN), and
	// a build's `kill 1` does nothing.
	ignored := make(chan os.Signal, 1)
	signal.Notify(ignored, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT,
		unix.SIGUSR1, unix.SIGUSR2, unix.SIGPIPE, unix.SIGALRM, unix.SIGTTIN, unix.SIGTTOU, unix.SIGTSTP)
	// Its own channel, so a build spamming PID 1 with signals cannot crowd
	// out SIGCHLD. One pending SIGCHLD is enough: each reaps everything.
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, unix.SIGCHLD)

	// A prestarted init waits here. Warm encoding/json's type cache first:
	// the one decode of the spec is otherwise its slow first use (~1 ms).
	_ = json.Unmarshal([]byte(`{"Env":[""],"User":{"Groups":[0]},"Hide":[""],"Binds":[{}]}`), &initSpec{})
	spec, err := readSpec(ctl)
	if err != nil {
		return err
	}
	null, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open /dev/null: %w", err)
	}
	out := os.NewFile(initOutFD, "out")
	sup := &supervisor{
		shell:     spec.Shell,
		ctl:       ctlInside,
		dir:       "/",
		statePath: filepath.Join(ctlInside, "state"),
		null:      null.Fd(),
		out:       initOutFD,
		marker:    out,
	}
	preStarted := false
	if spec.PreStart {
		// A machine made ahead of its build: start the shell now, while no
		// build waits for it. Its capabilities are dropped first (the
		// bounding set is this thread's and the shell inherits it), and its
		// root and working dir are the old root, which pivot_root moves.
		if err := dropCaps(); err != nil {
			return err
		}
		if spec.User != nil {
			// As for any non-root build: no way back to root.
			if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
				return fmt.Errorf("set no_new_privs: %w", err)
			}
		}
		sup.user = spec.User
		if err := sup.prestart(); err != nil {
			return err
		}
		preStarted = true
		if spec, err = readSpec(ctl); err != nil {
			return err
		}
		if spec.Privileged {
			return errors.New("a privileged build cannot use a shell started with dropped capabilities")
		}
	}
	specRead := monotonicNow()
	if err := setupMounts(spec); err != nil {
		return err
	}
	mounted := monotonicNow()
	var b [1]byte
	if _, err := io.ReadFull(ctl, b[:]); err != nil || b[0] != ctlGo {
		return fmt.Errorf("wait for go-ahead: %v", err)
	}
	goAhead := monotonicNow()
	if !spec.Privileged {
		if err := dropCaps(); err != nil {
			return err
		}
	}
	if spec.User != nil {
		// Lambda-style builds: no way back to root through setuid binaries.
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	if fi, err := os.Stat(spec.Dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("working dir %s: not a directory inside the sandbox (%v)", spec.Dir, err)
	}
	sup.shell, sup.env, sup.dir, sup.user, sup.nonce = spec.Shell, spec.Env, spec.Dir, spec.User, spec.Nonce
	switch script, ok := preShellScript(spec, sup); {
	case ok:
		// The shell started ahead sources the build's environment and
		// directory, then the protocol script, as a new shell would.
		path := filepath.Join(ctlInside, "prestart")
		if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
			return fmt.Errorf("write the waiting shell's start: %w", err)
		}
		if err := sup.adopt(path); err != nil {
			return err
		}
	default:
		if preStarted {
			sup.discardPrestarted()
		}
		if err := sup.start(); err != nil {
			return err
		}
	}
	// The timestamps are for the runner's debug log.
	if _, err := fmt.Fprintf(status, "%s %d %d %d %d %d\n", statusOK, entered, specRead, mounted, goAhead, monotonicNow()); err != nil {
		return fmt.Errorf("report ready: %w", err)
	}
	status.Close()

	ctlMsgs := make(chan byte, 4)
	go func() {
		var b [1]byte
		for {
			if _, err := ctl.Read(b[:]); err != nil {
				close(ctlMsgs) // runner gone or done with us
				return
			}
			ctlMsgs <- b[0]
		}
	}()
	reqs := make(chan string, 1)
	go func() {
		br := bufio.NewReader(os.NewFile(initCmdFD, "requests"))
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				close(reqs) // Close: no more commands
				return
			}
			reqs <- line
		}
	}()

	var (
		stopping bool // no more restarts; exit once no child is left
		deadline <-chan time.Time
	)
	windDown := func() {
		// Leftovers (daemons) get SIGTERM and LeftoverGrace.
		stopping = true
		if unix.Kill(-1, unix.SIGTERM) == nil {
			deadline = time.After(spec.LeftoverGrace)
		}
	}
	for {
		select {
		case <-ignored:
			continue
		case line, ok := <-reqs:
			if !ok {
				reqs = nil
				sup.closeInput() // the shell reads EOF and exits
				continue
			}
			if !stopping {
				sup.request(line)
			}
			continue
		case m, ok := <-ctlMsgs:
			if !ok {
				// The runner died (or closed us): take everything down now.
				_ = unix.Kill(-1, unix.SIGKILL)
				return nil
			}
			if m != ctlTerminate {
				continue
			}
			if !stopping {
				stopping = true
				_ = unix.Kill(-1, unix.SIGTERM)
			}
		case <-deadline:
			return nil // leftovers get SIGKILL from the kernel when PID 1 exits
		case <-sigchld:
		}
		// Reap everything: as PID 1 we inherit every orphan.
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.ECHILD) {
				if stopping {
					return nil
				}
				break
			}
			if err != nil || pid <= 0 {
				break
			}
			if pid != sup.pid {
				continue
			}
			if stopping {
				sup.pid = 0
				continue
			}
			end, err := sup.exited(exitCode(ws))
			if err != nil {
				fmt.Fprintf(os.Stderr, "hangar sandbox init: %v\n", err)
				stopping = true
				_ = unix.Kill(-1, unix.SIGKILL)
			} else if end {
				windDown()
			}
		}
	}
}
