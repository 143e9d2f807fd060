package sandbox

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func (h *Host) platformInit() error {
	defer h.probeIsolation()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("detect cgroups: %w", err)
	}
	defer f.Close()
	l, err := detectCgroups(f, h.opts.CgroupParent)
	if err != nil {
		return fmt.Errorf("detect cgroups: %w", err)
	}
	if l == nil {
		h.log.Warn("no cgroup hierarchy mounted: build limits are not enforced")
		return nil
	}
	l.host = readHostResources()
	h.cg = l
	v1, v2 := ownCgroups()
	h.log.Debug("cgroups detected", "mode", l.mode, "v1", l.v1, "v2", l.v2, "parent", l.parent,
		"runner_v1", v1, "runner_v2", v2)
	return nil
}

// Prune removes what a runner that died left behind: its builds die with it
// (Pdeathsig, and the init's ctl pipe EOF) but their empty cgroups and control
// dirs stay. Call it at startup, before starting builds: a sandbox being set
// up by a concurrent Start looks the same.
func (h *Host) Prune(ctx context.Context) error {
	return errors.Join(h.pruneCgroups(ctx), pruneWorkDir(ctx, h))
}

// Isolated reports whether Start creates namespaced sandboxes, where Bind
// targets are the paths the build sees. NewHost finds out by starting an
// init; it turns false if a later Start finds mounts denied.
func (h *Host) Isolated() bool { return !h.isolationDisabled() }

// probeIsolation starts the first init now: it tells whether namespaces are
// allowed here, and it is the prestarted init for the first build.
func (h *Host) probeIsolation() {
	if h.opts.DisableIsolation {
		return
	}
	p, err := h.spawnInit(0)
	switch {
	case errors.Is(err, errNamespaceDenied):
		h.degraded.Store(true)
		h.warnDegraded(err.Error())
	case err != nil:
		h.log.Warn("start a sandbox init", "err", err)
	case h.opts.NoPrestart:
		p.discard()
	default:
		h.poolMu.Lock()
		h.pool = append(h.pool, p)
		h.poolMu.Unlock()
		h.schedulePrestart(0)
	}
}

func (h *Host) isolationDisabled() bool {
	return h.opts.DisableIsolation || h.degraded.Load()
}

func (h *Host) start(ctx context.Context, spec Spec) (sb *Sandbox, err error) {
	tStart := monotonicNow()
	var m machinePlatform // what this start owns until it hands it over
	if spec.Machine != nil {
		if !spec.Machine.taken.CompareAndSwap(false, true) {
			return nil, fmt.Errorf("machine %s was already used", spec.Machine.id)
		}
		m = spec.Machine.plat
		if spec.Privileged && m.p != nil && m.p.preShell {
			// Its shell was started without the capabilities a privileged
			// build keeps: another init serves, in the machine's cgroup.
			m.p.discard()
			m.p = nil
		}
	}
	defer func() {
		if err != nil {
			m.discard()
		}
	}()
	ctlDir, nonce, written, err := h.ctlFor(spec)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(ctlDir)
		}
	}()
	if spec.Machine == nil {
		if m.cg, err = h.makeCgroup(spec.ID, spec.Limits); err != nil {
			return nil, err
		}
	}

	if !h.isolationDisabled() {
		p, joined := m.p, m.p != nil
		m.p = nil // startNamespaced discards it on failure
		sb, err = h.startNamespaced(ctx, spec, nonce, ctlDir, written, m.cg, p, joined, tStart)
		if !errors.Is(err, errNamespaceDenied) {
			if err == nil {
				m.cg = nil // the sandbox removes it
			}
			return sb, err
		}
		h.degraded.Store(true)
		h.warnDegraded(err.Error())
	} else {
		h.warnDegraded("isolation disabled by configuration")
	}
	if m.p != nil {
		m.p.discard()
		m.p = nil
	}
	sb, err = h.startFallback(spec, nonce, ctlDir, written, m.cg)
	if err == nil {
		m.cg = nil
	}
	return sb, err
}

// makeCgroup creates a build's cgroup with its limits; nil when cgroups
// are not writable here (said once).
func (h *Host) makeCgroup(id string, lim Limits) (*cgroup, error) {
	if h.cg == nil {
		return nil, nil
	}
	cg, warn, err := h.cg.create(id, lim)
	switch {
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EROFS):
		h.cgWarn.Do(func() {
			h.log.Warn("cgroups not writable: build limits are not enforced", "err", err)
		})
		return nil, nil
	case err != nil:
		return nil, err
	case warn != nil:
		h.cgWarn.Do(func() { h.log.Warn("some build limits are not enforced", "err", warn) })
	}
	return cg, nil
}

// machinePlatform is a machine's cgroup and init; either may be nil.
type machinePlatform struct {
	cg *cgroup
	p  *initProc
}

// discard kills the init and removes the cgroup.
func (m *machinePlatform) discard() {
	if m.p != nil {
		m.p.discard()
		m.p = nil
	}
	if m.cg != nil {
		m.cg.kill()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.cg.remove(ctx)
		m.cg = nil
	}
}

// Prepare makes a machine: the cgroup "<CgroupParent>/<id>" with lim written,
// the control dir "<WorkDir>/<id>" with the shell's script, a sandbox init
// (a prestarted one, else a new one) moved into it, and the default shell
// started by the init as user (nil: root), waiting for its build. It is
// what a build needs before its spec is known, so it can be done ahead of
// the build (fleets) or while it provisions.
func (h *Host) Prepare(ctx context.Context, id string, lim Limits, user *User) (_ *Machine, err error) {
	if !validID(id) {
		return nil, fmt.Errorf("prepare machine: invalid id %q", id)
	}
	m := &Machine{id: id, limits: lim}
	defer func() {
		if err != nil {
			m.plat.discard()
			if m.ctl.dir != "" {
				os.RemoveAll(m.ctl.dir)
			}
		}
	}()
	if m.plat.cg, err = h.makeCgroup(id, lim); err != nil {
		return nil, fmt.Errorf("prepare machine %s: %w", id, err)
	}
	if m.plat.cg != nil {
		m.limits = capLimits(lim, h.cg.host) // what the cgroup got
	}
	if m.ctl, err = h.prepareCtl(id); err != nil {
		return nil, fmt.Errorf("prepare machine %s: %w", id, err)
	}
	if h.isolationDisabled() {
		return m, nil
	}
	p := h.takePrestarted()
	if p != nil {
		// Refill the pool later, off the path of whatever runs now.
		h.schedulePrestart(prestartDelay)
	} else {
		cgFD := 0
		if m.plat.cg != nil {
			if fd, err := m.plat.cg.openV2(); err == nil {
				cgFD = fd
				defer unix.Close(fd)
			}
		}
		p, err = h.spawnInit(cgFD)
		if errors.Is(err, errNamespaceDenied) {
			// Start finds out again and falls back; the cgroup still serves.
			return m, nil
		}
		if err != nil {
			return nil, fmt.Errorf("prepare machine %s: %w", id, err)
		}
	}
	m.plat.p = p
	if m.plat.cg != nil {
		if err := m.plat.cg.join(p.cmd.Process.Pid, !p.joinedV2); err != nil {
			return nil, fmt.Errorf("prepare machine %s: %w", id, err)
		}
	}
	// The shell too, now that the init is in the cgroup (children are
	// born where their parent is): builds of the default shell, as user
	// and not privileged, find it started.
	shell, _ := shellPath("")
	if err := writeSpec(p.ctlW, &initSpec{PreStart: true, Shell: shell, User: user}); err != nil {
		return nil, fmt.Errorf("prepare machine %s: %w", id, err)
	}
	p.preShell = true
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("prepare machine %s: %w", id, err)
	}
	return m, nil
}

// prepareCtl makes a control dir named id with the shell's script in it,
// for a sandbox that sees the dir at ctlInside (or, where isolation is off,
// where it is).
func (h *Host) prepareCtl(id string) (preparedCtl, error) {
	nonce, err := newNonce()
	if err != nil {
		return preparedCtl{}, fmt.Errorf("make nonce: %w", err)
	}
	dir, err := makeCtlDir(h.opts.WorkDir, id, nil)
	if err != nil {
		return preparedCtl{}, err
	}
	seen := ctlInside
	if h.isolationDisabled() {
		seen = dir
	}
	if err := writeShellScript(dir, seen, nonce); err != nil {
		os.RemoveAll(dir)
		return preparedCtl{}, err
	}
	return preparedCtl{dir: dir, nonce: nonce, seen: seen}, nil
}

func (h *Host) startFallback(spec Spec, nonce, ctlDir, written string, cg *cgroup) (*Sandbox, error) {
	if len(spec.Overlays) > 0 {
		return nil, fmt.Errorf("start sandbox %s: overlays need an isolated sandbox (%w)", spec.ID, ErrUnsupported)
	}
	if written != ctlDir {
		if err := writeShellScript(ctlDir, ctlDir, nonce); err != nil {
			return nil, err
		}
	}
	c := directConfig{spec: spec, ctlDir: ctlDir, nonce: nonce, leftoverGrace: h.opts.LeftoverGrace}
	if cg != nil {
		c.cg = cg
		if fd, err := cg.openV2(); err == nil {
			c.cgFD = fd
		}
	}
	d, outR, err := startDirect(c)
	if err != nil {
		if c.cgFD > 0 {
			unix.Close(c.cgFD)
		}
		return nil, err
	}
	rd := newOutputReader(spec.Output, nonce, spec.Logger)
	go rd.run(outR)
	return newSandbox(spec, false, ctlDir, rd, d, h.opts.KillGrace), nil
}

// openV2 opens the v2 group for CLONE_INTO_CGROUP; 0 when there is none.
func (cg *cgroup) openV2() (int, error) {
	if cg.v2dir == "" {
		return 0, errors.New("no v2 group")
	}
	fd, err := unix.Open(cg.v2dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open cgroup %s: %w", cg.v2dir, err)
	}
	return fd, nil
}

// nsBackend is a sandbox whose init runs in new namespaces.
type nsBackend struct {
	cmd    *exec.Cmd
	cmdW   *os.File // requests to the init
	ctlW   *os.File
	cg     *cgroup
	doneCh chan struct{}
}

func (b *nsBackend) send(line string) error {
	_, err := io.WriteString(b.cmdW, line)
	return err
}

func (b *nsBackend) closeInput() { b.cmdW.Close() }

func (b *nsBackend) terminate() {
	// The init forwards it with kill(-1, SIGTERM): every process of the pid
	// namespace, including daemons that left the process group.
	_, _ = b.ctlW.Write([]byte{ctlTerminate})
}

func (b *nsBackend) killAll() {
	// SIGKILL to the namespace's PID 1 makes the kernel kill the namespace;
	// the cgroup is the second line.
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	if b.cg != nil {
		b.cg.kill()
	}
}

func (b *nsBackend) done() <-chan struct{} { return b.doneCh }

func (b *nsBackend) cleanup(ctx context.Context) error {
	defer b.ctlW.Close()
	if b.cg == nil {
		return nil
	}
	return b.cg.remove(ctx)
}

func (b *nsBackend) oomKills() int64 {
	if b.cg == nil {
		return 0
	}
	return b.cg.oomKills()
}

func (h *Host) initPath() string {
	if h.opts.InitPath != "" {
		return h.opts.InitPath
	}
	return "/proc/self/exe"
}

// initProc is a started init, waiting for its spec on the ctl pipe.
type initProc struct {
	cmd                       *exec.Cmd
	ctlW, statusR, cmdW, outR *os.File
	doneCh                    chan struct{}
	joinedV2                  bool  // CLONE_INTO_CGROUP put it in the v2 group
	started                   int64 // monotonic ns, for the debug log
	// preShell: it started a shell ahead (Prepare), with the capabilities
	// of an unprivileged build.
	preShell bool
}

// writeSpec sends the init a spec: its length, then its JSON.
func writeSpec(w io.Writer, is *initSpec) error {
	msg, err := json.Marshal(is)
	if err != nil {
		return fmt.Errorf("encode init spec: %w", err)
	}
	buf := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(msg)), uint32(len(msg)))
	if _, err := w.Write(append(buf, msg...)); err != nil {
		return fmt.Errorf("send init spec: %w", err)
	}
	return nil
}

// discard kills an init that will not be used and releases its pipes.
func (p *initProc) discard() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.doneCh
	for _, f := range []*os.File{p.ctlW, p.statusR, p.cmdW, p.outR} {
		f.Close()
	}
}

// spawnInit re-executes the binary as a sandbox init in new pid, mount, ipc
// and uts namespaces (the network is shared). cgFD > 0 starts it inside that
// v2 cgroup.
func (h *Host) spawnInit(cgFD int) (*initProc, error) {
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	var ends [4][2]*os.File // ctl, status, cmd, out: {read, write}
	for i := range ends {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("create pipe: %w", err)
		}
		files = append(files, r, w)
		ends[i] = [2]*os.File{r, w}
	}
	ctlR, ctlW := ends[0][0], ends[0][1]
	statusR, statusW := ends[1][0], ends[1][1]
	cmdR, cmdW := ends[2][0], ends[2][1]
	outR, outW := ends[3][0], ends[3][1]
	// Fewer wakeups for chatty builds.
	_, _ = unix.FcntlInt(outW.Fd(), unix.F_SETPIPE_SZ, 1<<20)

	newCmd := func(useFD bool) *exec.Cmd {
		c := &exec.Cmd{
			Path: h.initPath(),
			Args: []string{initArg0},
			// Fewer runtime threads (they count against pids.max), and no
			// cgroup scan at runtime start (the init's CPU need is nil).
			Env:        []string{"GOMAXPROCS=1", "GODEBUG=containermaxprocs=0,updatemaxprocs=0"},
			Stderr:     os.Stderr,
			ExtraFiles: []*os.File{ctlR, statusW, cmdR, outW},
			SysProcAttr: &syscall.SysProcAttr{
				Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
				// The init dies with the runner (and with it the namespace).
				// Pdeathsig follows the forking thread, so the ctl pipe's EOF
				// is the init's second way to notice.
				Pdeathsig: syscall.SIGKILL,
				// Out of the runner's session: a Ctrl-C on the runner's
				// terminal must not reach builds.
				Setsid: true,
			},
		}
		if useFD {
			c.SysProcAttr.UseCgroupFD, c.SysProcAttr.CgroupFD = true, cgFD
		}
		return c
	}
	cmd := newCmd(cgFD > 0)
	err := cmd.Start()
	joinedV2 := cgFD > 0
	if err != nil && cgFD > 0 && !errors.Is(err, unix.EPERM) {
		// clone3/CLONE_INTO_CGROUP unsupported (kernel < 5.7): join by pid.
		cmd, joinedV2 = newCmd(false), false
		err = cmd.Start()
	}
	if err != nil {
		closeAll()
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EUSERS) {
			return nil, fmt.Errorf("start sandbox init: %w (%w)", err, errNamespaceDenied)
		}
		return nil, fmt.Errorf("start sandbox init: %w", err)
	}
	// Our copies of the init's ends must go, or EOFs never come.
	ctlR.Close()
	statusW.Close()
	cmdR.Close()
	outW.Close()
	p := &initProc{cmd: cmd, ctlW: ctlW, statusR: statusR, cmdW: cmdW, outR: outR,
		doneCh: make(chan struct{}), joinedV2: joinedV2, started: monotonicNow()}
	go func() {
		_ = cmd.Wait()
		close(p.doneCh)
	}()
	return p, nil
}

// takePrestarted returns the init started ahead of time, if there is a live one.
func (h *Host) takePrestarted() *initProc {
	for {
		h.poolMu.Lock()
		if len(h.pool) == 0 {
			h.poolMu.Unlock()
			return nil
		}
		p := h.pool[0]
		h.pool = h.pool[1:]
		h.poolMu.Unlock()
		select {
		case <-p.doneCh:
			p.discard() // died while waiting; try the next
		default:
			return p
		}
	}
}

// prestartDelay is the longest a running build keeps the refill of the
// prestarted inits waiting (see startNamespaced).
const prestartDelay = 500 * time.Millisecond

// schedulePrestart tops the pool of inits started ahead of time up to
// Prestart, so the next Starts skip the clone, exec and Go runtime start
// (tens of ms: this binary's package initialisation is heavy). A
// prestarted init joins the build's cgroups by pid.
func (h *Host) schedulePrestart(delay time.Duration) {
	if h.opts.NoPrestart || h.isolationDisabled() {
		return
	}
	size := h.opts.Prestart
	if size <= 0 {
		size = 2
	}
	h.poolMu.Lock()
	n := size - len(h.pool) - h.poolBusy
	if h.closed || n <= 0 {
		h.poolMu.Unlock()
		return
	}
	h.poolBusy += n
	h.poolMu.Unlock()
	go func() {
		time.Sleep(delay)
		// One at a time: on 2 cores, parallel Go starts only slow each other.
		for range n {
			p, err := h.spawnInit(0)
			h.poolMu.Lock()
			h.poolBusy--
			if err == nil && !h.closed {
				h.pool, p = append(h.pool, p), nil
			}
			h.poolMu.Unlock()
			if p != nil {
				p.discard()
			}
			if err != nil {
				h.log.Debug("prestart sandbox init", "err", err)
			}
		}
	}()
}

// Close stops the inits kept ready for the next builds. Running sandboxes are
// not affected.
func (h *Host) Close() error {
	h.poolMu.Lock()
	h.closed = true
	pool := h.pool
	h.pool = nil
	h.poolMu.Unlock()
	for _, p := range pool {
		p.discard()
	}
	return nil
}

// startNamespaced runs the build under a sandbox init: the machine's, a
// prestarted one, or a new one started right inside the build's v2 group.
//
// p, if not nil, is a machine's init, already in cg when joined; it is
// discarded if the start fails. written says where the control dir's
// script expects to be seen, if a machine wrote it.
func (h *Host) startNamespaced(ctx context.Context, spec Spec, nonce, ctlDir, written string, cg *cgroup, p *initProc, joined bool, tStart int64) (sb *Sandbox, err error) {
	if written != ctlInside {
		if err := writeShellScript(ctlDir, ctlInside, nonce); err != nil {
			if p != nil {
				p.discard()
			}
			return nil, err
		}
	}
	t0 := monotonicNow()
	if p == nil {
		p = h.takePrestarted()
	}
	if p == nil {
		cgFD := 0
		if cg != nil {
			if fd, err := cg.openV2(); err == nil {
				cgFD = fd
				defer unix.Close(fd)
			}
		}
		if p, err = h.spawnInit(cgFD); err != nil {
			return nil, err
		}
	}
	cmd, ctlW, statusR := p.cmd, p.ctlW, p.statusR
	fail := func(err error) (*Sandbox, error) {
		p.discard()
		h.schedulePrestart(0)
		return nil, err
	}

	is := initSpec{
		ID: spec.ID, Nonce: nonce, Shell: spec.Shell, Env: spec.Env, Dir: spec.Dir,
		CtlDir: ctlDir, TmpDir: spec.TmpDir, User: spec.User, ReadOnlyRoot: spec.ReadOnlyRoot,
		Privileged: spec.Privileged, Hide: spec.Hide, Binds: spec.Binds, Overlays: spec.Overlays,
		LeftoverGrace: h.opts.LeftoverGrace, ForceRemountRO: h.opts.ForceRemountRO,
	}
	// The init sets up its mounts while we put it into the cgroups.
	if err := writeSpec(ctlW, &is); err != nil {
		return fail(err)
	}
	if cg != nil && !joined {
		if err := cg.join(cmd.Process.Pid, !p.joinedV2); err != nil {
			return fail(err)
		}
	}
	if _, err := ctlW.Write([]byte{ctlGo}); err != nil {
		return fail(fmt.Errorf("start init: %w", err))
	}
	tJoined := monotonicNow()

	statusCh := make(chan string, 1)
	go func() {
		line, err := bufio.NewReader(statusR).ReadString('\n')
		if err != nil && line == "" {
			line = statusError + "init exited during setup"
		}
		statusCh <- strings.TrimSpace(line)
	}()
	var status string
	select {
	case status = <-statusCh:
	case <-ctx.Done():
		return fail(fmt.Errorf("wait for sandbox init: %w", ctx.Err()))
	}
	switch {
	case status == statusOK || strings.HasPrefix(status, statusOK+" "):
		logStartTimes(spec, tStart, t0, p.started, tJoined, status)
	case strings.HasPrefix(status, statusDenied):
		return fail(fmt.Errorf("sandbox init: %s (%w)", strings.TrimPrefix(status, statusDenied), errNamespaceDenied))
	default:
		return fail(fmt.Errorf("sandbox init: %s", strings.TrimPrefix(status, statusError)))
	}
	statusR.Close()

	rd := newOutputReader(spec.Output, nonce, spec.Logger)
	go rd.run(p.outR)
	be := &nsBackend{cmd: cmd, cmdW: p.cmdW, ctlW: ctlW, cg: cg, doneCh: p.doneCh}
	sb = newSandbox(spec, true, ctlDir, rd, be, h.opts.KillGrace)
	// Refill the prestarted inits once this build is over, or after
	// prestartDelay if it runs longer: a Go process starting (tens of ms of
	// CPU) competes on 2 cores with the build's shell and its ending, which
	// the user waits for; the pool holds another init meanwhile.
	refill := sync.OnceFunc(func() { h.schedulePrestart(0) })
	timer := time.AfterFunc(prestartDelay, refill)
	sb.afterwards = func() { timer.Stop(); refill() }
	return sb, nil
}

// logStartTimes logs where the startup time went (debug level), as offsets
// from Start in µs: control dir and cgroup made, the init's Go runtime start
// (negative when prestarted), spec read, mounts done, cgroups joined,
// go-ahead seen, shell forked, ready line back.
func logStartTimes(spec Spec, tStart, t0, started, joined int64, status string) {
	if !spec.Logger.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	f := strings.Fields(status)
	if len(f) != 6 {
		return
	}
	var ts [5]int64
	for i := range ts {
		ts[i], _ = strconv.ParseInt(f[i+1], 10, 64)
	}
	at := func(t int64) int64 { return (t - tStart) / 1000 }
	spec.Logger.Debug("sandbox init started", "prestarted", started < t0, "setup_us", at(t0),
		"init_main_us", at(ts[0]), "spec_read_us", at(ts[1]), "mounted_us", at(ts[2]),
		"joined_us", at(joined), "go_ahead_us", at(ts[3]), "shell_forked_us", at(ts[4]),
		"ready_us", at(monotonicNow()))
}
