package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hangarci/hangar/internal/sandbox"
)

// machinePool keeps sandbox machines prepared for fleets. A reserved
// CodeBuild fleet's instances sit idle, ready for builds; a Hangar fleet's
// machines are the same idea on one host: the cgroup made with the fleet's
// limits, a sandbox init and a shell waiting inside it, the sandbox's
// control dir and the build's directories, before any build arrives. A
// build on the fleet takes one and has only its mounts left to make.
//
// A fleet of N machines keeps N ready. A machine a build takes is replaced
// once that build is over, or refillDelay after it started if it runs
// longer: preparing one (a Go process starting, tens of ms of CPU) would
// otherwise compete on a small host with the start of the very build that
// took it. Machines are prepared one at a time, in the background, and
// MaxWarm caps the ready ones of all fleets together.
type machinePool struct {
	sb      Sandboxes
	max     int
	workDir string // where the machines' build directories go
	log     *slog.Logger

	mu     sync.Mutex
	fleets map[string]*fleetMachines
	busy   bool // the preparing goroutine runs
	closed bool
}

type fleetMachines struct {
	want      int // the fleet's machines
	inUse     int // its builds running (each holds a slot, warm or not)
	lim       sandbox.Limits
	ready     []*warmMachine
	preparing int
	gen       int // bumped when the limits change: older machines are discarded
}

// warmMachine is a prepared sandbox machine and the build directories made
// for it.
type warmMachine struct {
	*sandbox.Machine
	// dir is <WorkDir>/<machine id>, holding src, tmp and home: the
	// directories of the build that takes the machine.
	dir string
}

// discard releases a machine no build took, and its directories.
func (w *warmMachine) discard() {
	w.Machine.Discard()
	os.RemoveAll(w.dir)
}

// makeBuildDirs makes a build's directories under dir.
func makeBuildDirs(dir string) error {
	for _, d := range []string{"src", "tmp", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("make build directory: %w", err)
		}
	}
	return nil
}

func newMachinePool(sb Sandboxes, max int, workDir string, log *slog.Logger) *machinePool {
	if log == nil {
		log = slog.Default()
	}
	return &machinePool{sb: sb, max: max, workDir: workDir, log: log, fleets: map[string]*fleetMachines{}}
}

// set sizes a fleet's machines; 0 forgets the fleet.
func (p *machinePool) set(fleet string, want int, lim sandbox.Limits) {
	if p.sb == nil {
		return
	}
	p.mu.Lock()
	f := p.fleets[fleet]
	if f == nil {
		f = &fleetMachines{}
		p.fleets[fleet] = f
	}
	var drop []*warmMachine
	if f.lim != lim {
		f.lim = lim
		f.gen++
		drop, f.ready = f.ready, nil
	}
	f.want = max(want, 0)
	if extra := len(f.ready) - f.spare(); extra > 0 {
		drop = append(drop, f.ready[len(f.ready)-extra:]...)
		f.ready = f.ready[:len(f.ready)-extra]
	}
	if f.want == 0 && f.inUse == 0 && f.preparing == 0 {
		delete(p.fleets, fleet)
	}
	p.kickLocked()
	p.mu.Unlock()
	for _, m := range drop {
		m.discard()
	}
}

// spare is how many machines the fleet keeps ready.
func (f *fleetMachines) spare() int { return f.want }

// take hands a fleet's build a ready machine, or nil when none is (the
// build then prepares its own). Either way the build holds one of the
// fleet's slots until done.
func (p *machinePool) take(fleet string) *warmMachine {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.fleets[fleet]
	if f == nil {
		return nil
	}
	f.inUse++
	if n := len(f.ready); n > 0 {
		m := f.ready[n-1]
		f.ready = f.ready[:n-1]
		time.AfterFunc(refillDelay, p.kick)
		return m
	}
	return nil
}

// refillDelay is the longest a running build keeps the replacement of the
// machine it took waiting (see machinePool).
const refillDelay = 500 * time.Millisecond

func (p *machinePool) kick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kickLocked()
}

// done gives a build's slot back; its machine is replaced now.
func (p *machinePool) done(fleet string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.fleets[fleet]
	if f == nil {
		return
	}
	f.inUse = max(f.inUse-1, 0)
	if f.want == 0 && f.inUse == 0 && f.preparing == 0 {
		delete(p.fleets, fleet)
	}
	p.kickLocked()
}

// kickLocked starts the preparing goroutine if there is work for it.
func (p *machinePool) kickLocked() {
	if p.busy || p.closed || p.nextLocked() == "" {
		return
	}
	p.busy = true
	go p.prepareLoop()
}

// nextLocked picks a fleet short of ready machines, within the cap.
func (p *machinePool) nextLocked() string {
	total := 0
	for _, f := range p.fleets {
		total += len(f.ready) + f.preparing
	}
	if total >= p.max {
		return ""
	}
	best, gap := "", 0
	for name, f := range p.fleets {
		if g := f.spare() - len(f.ready) - f.preparing; g > gap {
			best, gap = name, g
		}
	}
	return best
}

func (p *machinePool) prepareLoop() {
	for {
		p.mu.Lock()
		name := p.nextLocked()
		if name == "" || p.closed {
			p.busy = false
			p.mu.Unlock()
			return
		}
		f := p.fleets[name]
		f.preparing++
		gen, lim := f.gen, f.lim
		p.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		id := machineID()
		var m *warmMachine
		sm, err := p.sb.Prepare(ctx, id, lim, nil) // fleets are never Lambda: root
		cancel()
		if err == nil {
			m = &warmMachine{Machine: sm, dir: filepath.Join(p.workDir, id)}
			if err = makeBuildDirs(m.dir); err != nil {
				m.discard()
				m = nil
			}
		}

		p.mu.Lock()
		f.preparing--
		keep := err == nil && !p.closed && f.gen == gen && len(f.ready) < f.spare()
		if keep {
			f.ready = append(f.ready, m)
		}
		if p.fleets[name] == f && f.want == 0 && f.inUse == 0 && f.preparing == 0 && len(f.ready) == 0 {
			delete(p.fleets, name)
		}
		p.mu.Unlock()
		if err != nil {
			p.log.Warn("prepare a fleet machine", "fleet", name, "err", err)
			time.Sleep(time.Second) // do not spin on a broken host
		} else if !keep {
			m.discard()
		}
	}
}

// close discards the ready machines and stops preparing more.
func (p *machinePool) close() {
	p.mu.Lock()
	p.closed = true
	var drop []*warmMachine
	for _, f := range p.fleets {
		drop = append(drop, f.ready...)
		f.ready = nil
	}
	p.mu.Unlock()
	for _, m := range drop {
		m.discard()
	}
}

// ready reports the ready machines of a fleet (tests).
func (p *machinePool) readyCount(fleet string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.fleets[fleet]; f != nil {
		return len(f.ready)
	}
	return 0
}

// machineID names a fleet machine's cgroup; it is not any build's id.
func machineID() string {
	var b [8]byte
	rand.Read(b[:])
	return "fleet-" + hex.EncodeToString(b[:])
}
