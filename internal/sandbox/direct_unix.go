//go:build unix

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupHandle is what the fallback needs from a build's cgroup (Linux only;
// nil elsewhere or when cgroups are not writable).
type cgroupHandle interface {
	join(pid int, v2 bool) error
	signal(sig syscall.Signal)
	kill()
	procs() ([]int, error)
	remove(ctx context.Context) error
	oomKills() int64
}

// directBackend is the fallback: the shell is a plain child of the runner, in
// its own session (so its own process group), in the build's cgroup when
// there is one. A goroutine of the runner supervises it. Without a cgroup,
// daemons that call setsid escape Kill — that is the degradation.
type directBackend struct {
	log           *slog.Logger
	sup           *supervisor
	cg            cgroupHandle
	cgFD          int
	outW          *os.File
	null          *os.File
	leftoverGrace time.Duration

	reqs      chan string
	closeIn   chan struct{}
	closeOnce sync.Once
	exits     chan int

	mu       sync.Mutex
	pgids    []int // one per shell incarnation
	stopping bool  // Kill was called: no restarts
	doneCh   chan struct{}
}

type directConfig struct {
	spec          Spec
	ctlDir        string
	nonce         string
	cg            cgroupHandle
	cgFD          int // v2 dir fd for CLONE_INTO_CGROUP, 0 = none
	leftoverGrace time.Duration
}

// startDirect starts the shell as a plain process. It returns the read end
// of the output pipe.
func startDirect(c directConfig) (d *directBackend, outR *os.File, err error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("create output pipe: %w", err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	d = &directBackend{
		log:           c.spec.Logger,
		cg:            c.cg,
		cgFD:          c.cgFD,
		outW:          outW,
		null:          null,
		leftoverGrace: c.leftoverGrace,
		reqs:          make(chan string),
		closeIn:       make(chan struct{}),
		exits:         make(chan int, 1),
		doneCh:        make(chan struct{}),
	}
	d.sup = &supervisor{
		shell:         c.spec.Shell,
		ctl:           c.ctlDir,
		env:           c.spec.Env,
		dir:           c.spec.Dir,
		statePath:     filepath.Join(c.ctlDir, "state"),
		user:          c.spec.User,
		null:          null.Fd(),
		out:           outW.Fd(),
		nonce:         c.nonce,
		marker:        outW,
		setsid:        true,
		dieWithParent: true,
		cgroupFD:      c.cgFD,
	}
	if err := d.sup.start(); err != nil {
		for _, f := range []*os.File{outR, outW, null} {
			f.Close()
		}
		return nil, nil, err
	}
	d.pgids = append(d.pgids, d.sup.pid)
	d.joinCgroup(d.sup.pid)
	go d.wait(d.sup.pid)
	go d.loop()
	return d, outR, nil
}

// joinCgroup puts a new shell in the v1 hierarchies (v2 happened at clone
// time). The shell only forks once it reads a request.
func (d *directBackend) joinCgroup(pid int) {
	if d.cg == nil {
		return
	}
	if err := d.cg.join(pid, d.cgFD <= 0); err != nil {
		d.log.Warn("sandbox fallback: join cgroup", "err", err)
	}
}

// wait reaps one shell (only its pid: the runner has other children).
func (d *directBackend) wait(pid int) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	d.exits <- exitCode(ws)
}

func (d *directBackend) send(line string) error {
	select {
	case d.reqs <- line:
		return nil
	case <-d.doneCh:
		return ErrShellGone
	}
}

func (d *directBackend) closeInput() {
	d.closeOnce.Do(func() { close(d.closeIn) })
}

func (d *directBackend) loop() {
	defer close(d.doneCh)
	defer func() {
		d.outW.Close()
		d.null.Close()
	}()
	closeIn := d.closeIn
	for {
		select {
		case line := <-d.reqs:
			d.sup.request(line)
			continue
		case <-closeIn:
			closeIn = nil
			d.sup.closeInput()
			continue
		case code := <-d.exits:
			d.mu.Lock()
			if d.stopping {
				d.mu.Unlock()
				// Kill is in charge of signals; wait for it to finish the job.
				d.waitGone(30 * time.Second)
				return
			}
			end, err := d.sup.exited(code)
			if err == nil && !end {
				d.pgids = append(d.pgids, d.sup.pid)
			}
			d.mu.Unlock()
			switch {
			case err != nil:
				d.log.Error("sandbox fallback: shell restart failed", "err", err)
				d.signal(unix.SIGKILL)
				d.waitGone(5 * time.Second)
				return
			case end:
				// Close: leftovers (daemons) get SIGTERM, then SIGKILL.
				d.signal(unix.SIGTERM)
				if !d.waitGone(d.leftoverGrace) {
					d.signal(unix.SIGKILL)
					if d.cg != nil {
						d.cg.kill()
					}
					d.waitGone(5 * time.Second)
				}
				return
			}
			d.joinCgroup(d.sup.pid)
			go d.wait(d.sup.pid)
		}
	}
}

// signal sends sig to every process group the shells led and to the cgroup.
func (d *directBackend) signal(sig syscall.Signal) {
	d.mu.Lock()
	pg := slices.Clone(d.pgids)
	d.mu.Unlock()
	for _, p := range pg {
		_ = unix.Kill(-p, sig)
	}
	if d.cg != nil {
		d.cg.signal(sig)
	}
}

// alive reports whether any process of the sandbox is still there.
func (d *directBackend) alive() bool {
	d.mu.Lock()
	pg := slices.Clone(d.pgids)
	d.mu.Unlock()
	for _, p := range pg {
		if unix.Kill(-p, 0) == nil {
			return true
		}
	}
	if d.cg != nil {
		if pids, _ := d.cg.procs(); len(pids) > 0 {
			return true
		}
	}
	return false
}

func (d *directBackend) waitGone(limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for d.alive() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

func (d *directBackend) terminate() {
	d.mu.Lock()
	d.stopping = true
	d.mu.Unlock()
	d.signal(unix.SIGTERM)
}

func (d *directBackend) killAll() {
	d.signal(unix.SIGKILL)
	if d.cg != nil {
		d.cg.kill()
	}
}

func (d *directBackend) done() <-chan struct{} { return d.doneCh }

func (d *directBackend) cleanup(ctx context.Context) error {
	if d.cgFD > 0 {
		unix.Close(d.cgFD)
	}
	if d.cg == nil {
		return nil
	}
	return d.cg.remove(ctx)
}

func (d *directBackend) oomKills() int64 {
	if d.cg == nil {
		return 0
	}
	return d.cg.oomKills()
}
