package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by Sandbox methods.
var (
	// ErrKilled is returned by Run/Capture once Kill was called.
	ErrKilled = errors.New("sandbox killed")
	// ErrClosed is returned by Run/Capture after Close.
	ErrClosed = errors.New("sandbox closed")
	// ErrShellGone means the sandbox's shell and init are gone without Kill or
	// Close (crashed, or killed from outside).
	ErrShellGone = errors.New("sandbox shell is gone")
	// ErrUnsupported is returned by NewHost on platforms without a POSIX shell.
	ErrUnsupported = errors.New("sandbox: platform not supported")
)

// Limits are the resources a build may use. Zero means no limit. Values above
// what the host has are capped to it.
type Limits struct {
	CPU         float64 // cores
	MemoryBytes int64
	Pids        int64
}

// User is the identity the commands run as (Lambda compute types).
type User struct {
	UID    uint32
	GID    uint32
	Groups []uint32
}

// Bind makes a host path visible inside the sandbox. Binds are applied after
// Hide, so a build's own directory under the hidden state dir can be bound back.
type Bind struct {
	Source   string // host path
	Target   string // path inside the sandbox
	ReadOnly bool
}

// Overlay is an overlay filesystem (lowerdir, upperdir, workdir) mounted on
// Merged inside the sandbox's own mount namespace, before Hide and Binds
// apply: the host never sees the mount, and it ends with the sandbox. Use
// Merged as a Bind source to place it. Isolated sandboxes only.
type Overlay struct {
	Lower, Upper, Work, Merged string // host paths; Merged an empty directory
}

// Spec describes one sandbox (one build).
type Spec struct {
	ID    string   // build uuid; names the cgroup "<parent>/<ID>" and the control dir
	Shell string   // "bash" (default, /bin/bash), "sh" (/bin/sh) or an absolute path
	Env   []string // the shell's initial environment, KEY=VALUE
	Dir   string   // initial working directory (the source dir), as seen inside
	// TmpDir, if set, is a host directory that backs the build's private /tmp;
	// otherwise /tmp is a fresh tmpfs.
	TmpDir       string
	Limits       Limits
	User         *User // nil = root
	ReadOnlyRoot bool  // root filesystem read-only except Binds, /tmp, Dir
	// Privileged keeps every capability and a writable /sys and /proc/sys
	// (CodeBuild privilegedMode). Otherwise root builds get Docker's default
	// capability set minus CAP_NET_RAW, so they cannot undo the mounts that
	// hide the runner's state, touch cgroup files or sniff host traffic.
	Privileged bool
	Hide       []string // host paths made empty and inaccessible inside
	Binds      []Bind
	Overlays   []Overlay
	// Machine, if set, is what Host.Prepare made for this sandbox: Start
	// uses its cgroup (whose limits replace Limits) and its init. A machine
	// serves one Start.
	Machine *Machine
	// Output receives every byte the commands write to stdout/stderr
	// (merged), in order. It is written from one goroutine of the sandbox,
	// also between and after Runs (background jobs) until Close returns; a
	// caller that writes to the same sink must synchronize.
	Output io.Writer
	Logger *slog.Logger
}

// Machine is what a sandbox needs before its build's spec is known: its
// cgroup, with the limits written, a sandbox init started and moved into
// it, its control dir with the shell's protocol script, and the shell
// itself, started by the init and waiting for its build's environment.
// Host.Prepare makes one (CodeBuild's PROVISIONING); a fleet keeps machines
// prepared ahead of its builds, so those have only the mounts left to make.
// Discard a machine no Start used.
type Machine struct {
	id     string
	limits Limits
	plat   machinePlatform // cgroup and init (Linux)
	ctl    preparedCtl     // control dir, when prepared
	taken  atomic.Bool     // Start or Discard has it
}

// preparedCtl is a machine's control dir (owned by root) and the shell
// script written in it for the shell to see the dir at seen.
type preparedCtl struct {
	dir, nonce, seen string
}

// ctlFor returns the control dir and nonce of a sandbox being started: the
// machine's prepared ones (given to user, as makeCtlDir does), else new
// ones. written is where the dir's script expects to be seen ("" when
// none is written yet).
func (h *Host) ctlFor(spec Spec) (dir, nonce, written string, err error) {
	if m := spec.Machine; m != nil && m.ctl.dir != "" {
		c := m.ctl
		if u := spec.User; u != nil {
			if err := os.Chown(c.dir, int(u.UID), int(u.GID)); err != nil {
				os.RemoveAll(c.dir)
				return "", "", "", fmt.Errorf("chown control dir: %w", err)
			}
		}
		return c.dir, c.nonce, c.seen, nil
	}
	if nonce, err = newNonce(); err != nil {
		return "", "", "", fmt.Errorf("make nonce: %w", err)
	}
	if dir, err = makeCtlDir(h.opts.WorkDir, spec.ID, spec.User); err != nil {
		return "", "", "", err
	}
	return dir, nonce, "", nil
}

// ID is the name of the machine's cgroup.
func (m *Machine) ID() string { return m.id }

// Limits are the limits the machine's cgroup enforces.
func (m *Machine) Limits() Limits { return m.limits }

// Discard releases a machine no Start used: its init is killed and its
// cgroup removed. It does nothing to a machine a sandbox runs on.
func (m *Machine) Discard() {
	if m == nil || !m.taken.CompareAndSwap(false, true) {
		return
	}
	m.plat.discard()
	if m.ctl.dir != "" {
		os.RemoveAll(m.ctl.dir)
	}
}

// HostOptions configure a Host.
type HostOptions struct {
	// WorkDir holds the per-build control dirs (command files, shell state).
	// It must be owned by the runner, not group/world-writable and not inside
	// any build's source dir; in the fallback, non-root builds must be able to
	// traverse it. Hide it from builds (the runner's state dir). Default:
	// $TMPDIR/hangar-sandbox.
	WorkDir string
	// CgroupParent is the cgroup under which builds get "<CgroupParent>/<ID>",
	// relative to each hierarchy's mount point. Default "hangar".
	CgroupParent string
	// DisableIsolation forces the plain-process fallback.
	DisableIsolation bool
	// InitPath is the binary re-executed as the sandbox init; it must call
	// IsInit/InitMain first thing in main. Default: the running binary.
	InitPath string
	// LeftoverGrace is how long Close lets leftover background processes
	// react to SIGTERM before they are killed. Default 1s.
	LeftoverGrace time.Duration
	// KillGrace is the SIGTERM→SIGKILL grace used when a Run's context ends.
	// Default 2s.
	KillGrace time.Duration
	// ForceRemountRO makes ReadOnlyRoot use per-mount remounts instead of
	// mount_setattr (for kernels < 5.12; also lets tests cover that path).
	ForceRemountRO bool
	// Prestart is how many sandbox inits are kept started ahead of time
	// (default 2, so builds started back to back each find one ready).
	Prestart int
	// NoPrestart disables keeping sandbox inits started ahead of time
	// (it saves the next Start the init's exec and Go runtime start).
	NoPrestart bool
	Logger     *slog.Logger
}

// Host creates sandboxes. It is safe for concurrent use.
type Host struct {
	opts     HostOptions
	log      *slog.Logger
	cg       *cgroupLayout // nil when cgroups are unusable
	degraded atomic.Bool   // namespaces turned out to be unavailable
	warnOnce sync.Once
	cgWarn   sync.Once

	poolMu   sync.Mutex
	pool     []*initProc // inits started ahead of time (Linux), oldest first
	poolBusy int         // inits being started for the pool
	closed   bool
}

// validID accepts build ids ([A-Za-z0-9][A-Za-z0-9._:-]{0,127}): they name
// a directory and a cgroup. (No regexp: package init runs in every sandbox
// init process too.)
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != ':' && c != '-')) {
			return false
		}
	}
	return true
}

// NewHost prepares the executor: it detects the cgroup layout and creates WorkDir.
func NewHost(opts HostOptions) (*Host, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WorkDir == "" {
		opts.WorkDir = filepath.Join(os.TempDir(), "hangar-sandbox")
	}
	if opts.CgroupParent == "" {
		opts.CgroupParent = "hangar"
	}
	if opts.LeftoverGrace <= 0 {
		opts.LeftoverGrace = time.Second
	}
	if opts.KillGrace <= 0 {
		opts.KillGrace = 2 * time.Second
	}
	if err := os.MkdirAll(opts.WorkDir, 0o711); err != nil {
		return nil, fmt.Errorf("create sandbox work dir: %w", err)
	}
	if err := checkWorkDir(opts.WorkDir); err != nil {
		return nil, err
	}
	h := &Host{opts: opts, log: opts.Logger}
	if err := h.platformInit(); err != nil {
		return nil, err
	}
	return h, nil
}

// warnDegraded logs once per Host that builds are not isolated.
func (h *Host) warnDegraded(reason string) {
	h.warnOnce.Do(func() {
		h.log.Warn("sandbox degraded: builds run as plain processes without namespaces", "reason", reason)
	})
}

// Start creates the sandbox and its shell. The shell is ready for Run when
// Start returns.
func (h *Host) Start(ctx context.Context, spec Spec) (*Sandbox, error) {
	if !validID(spec.ID) {
		return nil, fmt.Errorf("start sandbox: invalid id %q", spec.ID)
	}
	if spec.Output == nil {
		spec.Output = io.Discard
	}
	if spec.Logger == nil {
		spec.Logger = h.log
	}
	spec.Logger = spec.Logger.With("sandbox", spec.ID)
	shell, err := shellPath(spec.Shell)
	if err != nil {
		return nil, fmt.Errorf("start sandbox %s: %w", spec.ID, err)
	}
	spec.Shell = shell
	if spec.Dir == "" {
		spec.Dir = "/"
	}
	if !filepath.IsAbs(spec.Dir) {
		return nil, fmt.Errorf("start sandbox %s: dir %q is not absolute", spec.ID, spec.Dir)
	}
	sb, err := h.start(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("start sandbox %s: %w", spec.ID, err)
	}
	return sb, nil
}

// makeCtlDir creates the build's private control dir (command file, shell
// state, captured output). It is not inside the source dir, and the shell's
// user owns it.
func makeCtlDir(workDir, id string, user *User) (string, error) {
	dir := filepath.Join(workDir, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("create control dir: %w", err)
	}
	if user != nil {
		if err := os.Chown(dir, int(user.UID), int(user.GID)); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("chown control dir: %w", err)
		}
	}
	return dir, nil
}

// writeShellScript writes the protocol script; seen is the control dir's
// path as the shell sees it.
func writeShellScript(ctlDir, seen, nonce string) error {
	if err := os.WriteFile(filepath.Join(ctlDir, shellScriptName), []byte(shellScript(seen, nonce)), 0o644); err != nil {
		return fmt.Errorf("write shell script: %w", err)
	}
	return nil
}

// pruneWorkDir removes every control dir in WorkDir.
func pruneWorkDir(ctx context.Context, h *Host) error {
	ents, err := os.ReadDir(h.opts.WorkDir)
	if err != nil {
		return fmt.Errorf("prune sandbox work dir: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := os.RemoveAll(filepath.Join(h.opts.WorkDir, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("prune sandbox work dir: %w", err))
		}
	}
	return errors.Join(errs...)
}

func shellPath(s string) (string, error) {
	switch s {
	case "", "bash", "/bin/bash":
		return "/bin/bash", nil
	case "sh", "/bin/sh":
		return "/bin/sh", nil
	}
	if filepath.IsAbs(s) {
		return s, nil
	}
	return "", fmt.Errorf("unsupported shell %q", s)
}

// backend is what differs between the namespaced init and the plain-process
// fallback.
type backend interface {
	// send hands a request line to the shell's supervisor.
	send(line string) error
	// closeInput ends the requests: the shell exits when it is idle.
	closeInput()
	// terminate asks every process of the sandbox to exit (SIGTERM).
	terminate()
	// killAll SIGKILLs every process of the sandbox.
	killAll()
	// done is closed when the shell supervisor (init or goroutine) has ended
	// and every process it could reach is gone.
	done() <-chan struct{}
	// cleanup releases what is left (cgroup); called once, after done.
	cleanup(ctx context.Context) error
	// oomKills counts the processes the memory limit killed.
	oomKills() int64
}

// Sandbox is one build's running shell.
type Sandbox struct {
	spec      Spec
	log       *slog.Logger
	isolated  bool
	ctlDir    string // host path of the control dir
	cmdW      *os.File
	rd        *outputReader
	be        backend
	killGrace time.Duration

	runMu sync.Mutex // one command at a time
	seq   uint64

	// afterwards, if set, is called once when the sandbox has closed (or
	// from a timer, for long builds): it refills the host's prestarted
	// inits off this build's path.
	afterwards func()
	afterOnce  sync.Once

	killed    chan struct{}
	killOnce  sync.Once
	killDone  chan struct{}
	closeOnce sync.Once
	closed    atomic.Bool
	closeErr  error
}

// Isolated reports whether the sandbox runs in its own namespaces (false when
// it fell back to plain processes).
func (s *Sandbox) Isolated() bool { return s.isolated }

// OOMKilled reports whether the cgroup's memory limit killed a process.
func (s *Sandbox) OOMKilled() bool { return s.be.oomKills() > 0 }

// OOMKills counts the processes the cgroup's memory limit has killed so
// far; compare counts to tell whether one command was.
func (s *Sandbox) OOMKills() int64 { return s.be.oomKills() }

// Run runs one command in the persistent shell and returns its exit status
// (128+n when the shell was killed by signal n). Everything the command writes
// reaches Output before Run returns. If ctx ends first, the sandbox is killed
// (the shell cannot abandon a running command) and ctx's error is returned.
func (s *Sandbox) Run(ctx context.Context, command string) (int, error) {
	code, err := s.exec(ctx, command, modeRun)
	if err != nil {
		return -1, fmt.Errorf("run command in sandbox %s: %w", s.spec.ID, err)
	}
	return code, nil
}

// Capture runs a script in the same shell but returns its stdout instead of
// sending it to Output (stderr is discarded). Use it to read variables.
func (s *Sandbox) Capture(ctx context.Context, script string) ([]byte, int, error) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	outPath := filepath.Join(s.ctlDir, "out")
	// Whatever the build left there (a FIFO would block the shell's redirect).
	if err := os.Remove(outPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, -1, fmt.Errorf("capture in sandbox %s: %w", s.spec.ID, err)
	}
	code, err := s.execLocked(ctx, script, modeCapture)
	if err != nil {
		return nil, -1, fmt.Errorf("capture in sandbox %s: %w", s.spec.ID, err)
	}
	out, err := readCapped(outPath, maxCapture)
	os.Remove(outPath)
	if err != nil {
		return nil, code, fmt.Errorf("capture in sandbox %s: read output: %w", s.spec.ID, err)
	}
	return out, code, nil
}

const maxCapture = 16 << 20

// The build can write the control dir (it is its own), so the runner never
// follows a symlink or opens a FIFO there: a symlink to a host file would
// otherwise make the runner overwrite or disclose it.

// writeCtlFile replaces path with a new regular file.
func writeCtlFile(path string, data []byte) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readCapped reads a regular file the shell wrote, up to limit bytes.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNOFOLLOW|oNONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // the script exited the shell before writing anything
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("output larger than %d bytes", limit)
	}
	return b, nil
}

func (s *Sandbox) exec(ctx context.Context, command string, mode byte) (int, error) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	return s.execLocked(ctx, command, mode)
}

func (s *Sandbox) after() {
	if s.afterwards != nil {
		s.afterOnce.Do(s.afterwards)
	}
}

func (s *Sandbox) execLocked(ctx context.Context, command string, mode byte) (int, error) {
	select {
	case <-s.killed:
		return -1, ErrKilled
	default:
	}
	if s.closed.Load() {
		return -1, ErrClosed
	}
	select {
	case <-s.be.done():
		return -1, ErrShellGone
	default:
	}
	s.seq++
	seq := s.seq
	// The shell sources this file; a fixed name keeps error messages stable
	// ("…/cmd: line 3: foo: command not found").
	if err := writeCtlFile(filepath.Join(s.ctlDir, "cmd"), []byte(command+"\n")); err != nil {
		return -1, fmt.Errorf("write command file: %w", err)
	}
	res := s.rd.expect(seq)
	defer s.rd.expect(0)
	if err := s.be.send(fmt.Sprintf("%d %c\n", seq, mode)); err != nil {
		return -1, fmt.Errorf("send command to shell: %w", err)
	}
	select {
	case code := <-res:
		return code, nil
	case <-s.killed:
		return -1, ErrKilled
	case <-s.be.done():
		// The shell's last marker may still be in the pipe: give the reader
		// a moment (a fallback daemon may hold the pipe open forever).
		select {
		case code := <-res:
			return code, nil
		case <-s.rd.eof:
		case <-time.After(time.Second):
		}
		select {
		case code := <-res:
			return code, nil
		case <-s.killed:
			return -1, ErrKilled
		default:
			return -1, ErrShellGone
		}
	case <-ctx.Done():
		go s.Kill(s.killGrace)
		return -1, ctx.Err()
	}
}

// Kill sends SIGTERM to every process of the sandbox and SIGKILL after grace
// (also to children that ignore SIGTERM and daemons that left the process
// group). A pending Run returns ErrKilled at once; Kill itself returns when
// nothing of the build is running any more. It is idempotent; call Close
// afterwards to release the cgroup and control dir.
func (s *Sandbox) Kill(grace time.Duration) {
	first := false
	s.killOnce.Do(func() {
		first = true
		close(s.killed)
	})
	if !first {
		<-s.killDone
		return
	}
	defer close(s.killDone)
	s.log.Debug("killing sandbox", "grace", grace)
	s.be.terminate()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-s.be.done():
	case <-t.C:
	}
	// Second line even when the init exited by itself: anything that escaped
	// it (it cannot, but the cgroup is the authority) dies here.
	s.be.killAll()
	select {
	case <-s.be.done():
	case <-time.After(10 * time.Second):
		s.log.Error("sandbox processes did not exit after SIGKILL")
	}
}

// Close ends the shell normally (a running command finishes first; call Kill to
// abort it), gives leftover background processes LeftoverGrace to exit after
// SIGTERM and kills the rest, waits for the output to drain, then removes the
// cgroup and control dir. It is idempotent.
func (s *Sandbox) Close(ctx context.Context) error {
	defer s.after()
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.be.closeInput() // the shell exits once the running command is done
		select {
		case <-s.be.done():
		case <-ctx.Done():
			s.Kill(0)
		}
		select {
		case <-s.rd.eof:
		case <-ctx.Done():
			s.Kill(0)
			select {
			case <-s.rd.eof:
			case <-time.After(time.Second):
				s.log.Warn("output pipe still open after kill")
			}
		}
		err := s.be.cleanup(ctx)
		if rerr := os.RemoveAll(s.ctlDir); rerr != nil && err == nil {
			err = fmt.Errorf("remove control dir: %w", rerr)
		}
		if err != nil {
			s.closeErr = fmt.Errorf("close sandbox %s: %w", s.spec.ID, err)
		}
	})
	return s.closeErr
}

func newSandbox(spec Spec, isolated bool, ctlDir string, rd *outputReader, be backend, killGrace time.Duration) *Sandbox {
	return &Sandbox{
		spec:      spec,
		log:       spec.Logger,
		isolated:  isolated,
		ctlDir:    ctlDir,
		rd:        rd,
		be:        be,
		killGrace: killGrace,
		killed:    make(chan struct{}),
		killDone:  make(chan struct{}),
	}
}

// ShellName reports whether s is a shell variable name, one a shell can
// export.
func ShellName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
