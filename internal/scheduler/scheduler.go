// Package scheduler queues builds and starts them when there is room: on
// the host's on-demand capacity while their CPU and memory fit, or on a
// machine of their fleet. Each queue is first in, first out.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/runner"
)

// Runner runs builds and ends the ones that never run.
type Runner interface {
	Run(ctx context.Context, b *model.Build, on runner.Placement) error
	EndQueued(ctx context.Context, b *model.Build, status, code, message string) error
}

// Warmer keeps machines prepared for fleets (the runner does).
type Warmer interface {
	Warm(fleet string, machines int, env *model.ProjectEnvironment)
}

// Resources are CPU cores and memory bytes.
type Resources struct {
	CPU         float64
	MemoryBytes int64
}

func (r Resources) add(o Resources) Resources {
	return Resources{r.CPU + o.CPU, r.MemoryBytes + o.MemoryBytes}
}

func (r Resources) sub(o Resources) Resources {
	return Resources{max(r.CPU-o.CPU, 0), max(r.MemoryBytes-o.MemoryBytes, 0)}
}

func (r Resources) zero() bool { return r.CPU <= 1e-9 && r.MemoryBytes <= 0 }

// Config configures a Scheduler.
type Config struct {
	Runner Runner
	// Warmer, if set, is told each fleet's size, to keep its machines warm.
	Warmer Warmer
	// MaxRunning caps builds running at once, fleets' too; 0 means no cap.
	MaxRunning int
	// Capacity is what builds may reserve together: the host's CPU and
	// memory times the over-commit factor. A zero field is no limit.
	Capacity Resources
	// Host is what one build can reserve at most (its compute size is
	// capped at it, as its cgroup limits are). A zero field is no cap.
	Host Resources
	// Minute is how long a "minute" of queuedTimeoutInMinutes lasts.
	Minute time.Duration
	Log    *slog.Logger
}

// Scheduler hands builds to the runner.
//
// On-demand builds wait in one queue and start, in order, while the CPU and
// memory of their compute types (capped at the host's) fit in Capacity
// next to everything running; the first that does not fit holds the ones
// behind it, so a big build is not starved by small ones. A fleet's builds
// wait in their fleet's queue for one of its machines; a fleet with
// overflowBehavior ON_DEMAND sends the builds that find every machine busy
// to the on-demand queue instead. Fleet builds use the host too, so their
// CPU and memory count against Capacity, but they never wait for it: the
// fleet's machines are reserved.
type Scheduler struct {
	cfg Config

	mu       sync.Mutex
	queue    []*entry // waiting builds, in submission order
	running  map[string]*entry
	fleets   map[string]*fleet // by ARN
	projects map[string]int    // builds queued or running, by project
	used     Resources         // reserved by running builds
	closed   bool
	wg       sync.WaitGroup
	base     context.Context // parent of every build's context
	cancel   context.CancelCauseFunc
}

type entry struct {
	b       *model.Build
	need    Resources
	fleet   *fleet // the build's fleet, nil for on-demand
	onFleet bool   // running on one of the fleet's machines
	timer   *time.Timer
	cancel  context.CancelCauseFunc
	done    chan struct{}
}

// fleet is a fleet's machines as the scheduler counts them.
type fleet struct {
	arn, name string
	capacity  int
	overflow  bool // spill to on-demand when every machine is busy
	running   int  // builds on its machines
	queued    int  // its builds waiting (for a machine or to spill)
	retiring  bool
	gone      func() // called once retired and idle
}

// New returns a scheduler; Close it to stop every build.
func New(cfg Config) *Scheduler {
	if cfg.Minute == 0 {
		cfg.Minute = time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	base, cancel := context.WithCancelCause(context.Background())
	return &Scheduler{cfg: cfg, running: map[string]*entry{}, fleets: map[string]*fleet{},
		projects: map[string]int{}, base: base, cancel: cancel}
}

// need is what a build reserves: its compute size, capped at the host.
func (s *Scheduler) need(b *model.Build) Resources {
	size := model.SizeFor(b.Environment)
	r := Resources{CPU: size.VCPU, MemoryBytes: size.MemoryMB << 20}
	if h := s.cfg.Host; h.CPU > 0 {
		r.CPU = min(r.CPU, h.CPU)
	}
	if h := s.cfg.Host; h.MemoryBytes > 0 {
		r.MemoryBytes = min(r.MemoryBytes, h.MemoryBytes)
	}
	return r
}

// fits reports whether a build needing need can start next to what runs.
// One build always can when nothing is reserved: a factor below 1 must
// not leave a build waiting forever.
func (s *Scheduler) fits(need Resources) bool {
	if s.used.zero() {
		return true
	}
	c, u := s.cfg.Capacity, s.used.add(need)
	return (c.CPU <= 0 || u.CPU <= c.CPU+1e-9) && (c.MemoryBytes <= 0 || u.MemoryBytes <= c.MemoryBytes)
}

// Submit queues a build that is stored in QUEUED. A build naming a fleet
// this scheduler does not know ends at once, FAILED: its fleet was deleted.
// A build already past its queued timeout (it waited across a runner
// restart) ends at once, TIMED_OUT, instead of starting.
func (s *Scheduler) Submit(ctx context.Context, b *model.Build) error {
	var wait time.Duration
	if b.QueuedTimeoutInMinutes != nil {
		wait = time.Duration(*b.QueuedTimeoutInMinutes) * s.cfg.Minute
		if b.StartTime != nil {
			wait -= time.Since(b.StartTime.Time)
		}
		if wait <= 0 {
			if err := s.cfg.Runner.EndQueued(context.WithoutCancel(ctx), b, model.StatusTimedOut, codeQueuedTimeout, msgQueuedTimeout); err != nil {
				return fmt.Errorf("end build %s past its queued timeout: %w", b.ID, err)
			}
			return nil
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("scheduler is closed")
	}
	e := &entry{b: b, need: s.need(b), done: make(chan struct{})}
	if arn := fleetArn(b); arn != "" {
		if e.fleet = s.fleets[arn]; e.fleet == nil {
			s.mu.Unlock()
			err := s.cfg.Runner.EndQueued(context.WithoutCancel(ctx), b, model.StatusFailed, "CLIENT_ERROR", fmt.Sprintf("Fleet %s does not exist", arn))
			if err != nil {
				return fmt.Errorf("end build %s of a deleted fleet: %w", b.ID, err)
			}
			return nil
		}
		e.fleet.queued++
	}
	if wait > 0 {
		e.timer = time.AfterFunc(wait, func() { s.expire(e) })
	}
	s.projects[b.ProjectName]++
	s.queue = append(s.queue, e)
	s.dispatchLocked()
	s.mu.Unlock()
	return nil
}

func fleetArn(b *model.Build) string {
	if e := b.Environment; e != nil && e.Fleet != nil {
		return e.Fleet.FleetArn
	}
	return ""
}

// dispatchLocked starts the waiting builds there is room for, in order:
// within each queue (on-demand, each fleet's) the first that cannot start
// holds those behind it.
func (s *Scheduler) dispatchLocked() {
	onDemandHeld := false
	held := map[*fleet]bool{}
	kept := s.queue[:0]
	for _, e := range s.queue {
		if s.cfg.MaxRunning > 0 && len(s.running) >= s.cfg.MaxRunning {
			kept = append(kept, e)
			continue
		}
		f := e.fleet
		switch {
		case f != nil && !held[f] && f.running < f.capacity:
			s.startLocked(e, true)
		case f != nil && !f.overflow:
			held[f] = true
			kept = append(kept, e)
		case !onDemandHeld && s.fits(e.need):
			s.startLocked(e, false)
		default:
			onDemandHeld = true
			if f != nil {
				held[f] = true
			}
			kept = append(kept, e)
		}
	}
	clear(s.queue[len(kept):])
	s.queue = kept
}

func (s *Scheduler) startLocked(e *entry, onFleet bool) {
	if e.timer != nil {
		e.timer.Stop()
	}
	ctx, cancel := context.WithCancelCause(s.base)
	e.cancel = cancel
	e.onFleet = onFleet
	s.running[e.b.ID] = e
	s.used = s.used.add(e.need)
	// Taken under the lock, in queue order: builds started in one pass
	// still show the order they were submitted in.
	on := runner.Placement{Dequeued: time.Now()}
	if f := e.fleet; f != nil {
		f.queued--
		if onFleet {
			f.running++
			on.Fleet, on.FleetName = f.arn, f.name
		}
	}
	s.wg.Add(1)
	go s.run(ctx, e, on)
}

func (s *Scheduler) run(ctx context.Context, e *entry, on runner.Placement) {
	defer s.wg.Done()
	if err := s.cfg.Runner.Run(ctx, e.b, on); err != nil {
		s.cfg.Log.Error("build failed to run", "build", e.b.ID, "err", err)
	}
	e.cancel(nil)
	s.mu.Lock()
	delete(s.running, e.b.ID)
	s.used = s.used.sub(e.need)
	if e.onFleet {
		e.fleet.running--
	}
	s.leaveLocked(e)
	close(e.done)
	s.dispatchLocked()
	gone := s.retireIdleLocked(e.fleet)
	s.mu.Unlock()
	if gone != nil {
		gone()
	}
}

// leaveLocked forgets a build that is over (run, expired or stopped).
func (s *Scheduler) leaveLocked(e *entry) {
	if s.projects[e.b.ProjectName]--; s.projects[e.b.ProjectName] <= 0 {
		delete(s.projects, e.b.ProjectName)
	}
}

// How a queued timeout ends a build's QUEUED phase.
const (
	codeQueuedTimeout = "BUILD_TIMED_OUT"
	msgQueuedTimeout  = "Build timed out while waiting in the queue."
)

// expire ends a build that waited in the queue past its queued timeout.
// CodeBuild removes such a build from the queue; it ends TIMED_OUT, its
// QUEUED phase TIMED_OUT (the API's StatusType for a timeout), and it never
// reaches PROVISIONING.
func (s *Scheduler) expire(e *entry) {
	if !s.dequeue(e) {
		return
	}
	err := s.cfg.Runner.EndQueued(context.WithoutCancel(s.base), e.b, model.StatusTimedOut, codeQueuedTimeout, msgQueuedTimeout)
	if err != nil {
		s.cfg.Log.Error("expire queued build", "build", e.b.ID, "err", err)
	}
	close(e.done)
}

// dequeue removes e from the queue; false if it had already left it.
func (s *Scheduler) dequeue(e *entry) bool {
	s.mu.Lock()
	var gone func()
	defer func() {
		s.mu.Unlock()
		if gone != nil {
			gone()
		}
	}()
	for i, q := range s.queue {
		if q != e {
			continue
		}
		s.queue = append(s.queue[:i], s.queue[i+1:]...)
		if e.timer != nil {
			e.timer.Stop()
		}
		if e.fleet != nil {
			e.fleet.queued--
		}
		s.leaveLocked(e)
		// What this one held back may start now.
		s.dispatchLocked()
		gone = s.retireIdleLocked(e.fleet)
		return true
	}
	return false
}

// Stop stops a queued or running build and waits until it is complete or
// ctx ends. Unknown (finished) builds are left alone.
func (s *Scheduler) Stop(ctx context.Context, id string) error {
	s.mu.Lock()
	var queued, running *entry
	for _, e := range s.queue {
		if e.b.ID == id {
			queued = e
		}
	}
	if e, ok := s.running[id]; ok {
		running = e
	}
	s.mu.Unlock()
	switch {
	case queued != nil:
		if !s.dequeue(queued) {
			return s.Stop(ctx, id) // it just started: stop it running
		}
		err := s.cfg.Runner.EndQueued(ctx, queued.b, model.StatusStopped, "BUILD_STOPPED", "Build was stopped.")
		close(queued.done)
		return err
	case running != nil:
		running.cancel(runner.ErrStopped)
		select {
		case <-running.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// SetFleet adds a fleet or applies its new settings: a larger capacity
// starts waiting builds at once, a smaller one lets running builds finish.
// A fleet that failed to create (a machine this host cannot be) keeps no
// machines warm; its builds fail at PROVISIONING.
func (s *Scheduler) SetFleet(mf *model.Fleet) {
	s.mu.Lock()
	f := s.fleets[mf.Arn]
	if f == nil {
		f = &fleet{arn: mf.Arn}
		s.fleets[mf.Arn] = f
	}
	f.name = mf.Name
	f.capacity = mf.BaseCapacity
	f.overflow = mf.OverflowBehavior == model.OverflowOnDemand && hasOnDemand(mf)
	s.dispatchLocked()
	s.mu.Unlock()
	if w := s.cfg.Warmer; w != nil {
		n := mf.BaseCapacity
		if mf.Status != nil && mf.Status.StatusCode == model.FleetCreateFailed {
			n = 0
		}
		w.Warm(mf.Arn, n, FleetEnvironment(mf))
	}
}

// FleetEnvironment is the environment of a fleet's machines.
func FleetEnvironment(f *model.Fleet) *model.ProjectEnvironment {
	return &model.ProjectEnvironment{Type: f.EnvironmentType, ComputeType: f.ComputeType, ComputeConfiguration: f.ComputeConfiguration}
}

// hasOnDemand reports whether a fleet's builds have an on-demand
// equivalent: CodeBuild forces ON_DEMAND overflow to QUEUE for fleets that
// have none (reserved-only environment types, attribute-based and custom
// instance compute).
func hasOnDemand(f *model.Fleet) bool {
	switch f.EnvironmentType {
	case model.EnvLinuxEC2, model.EnvArmEC2, model.EnvWindowsEC2, model.EnvMacArm:
		return false
	}
	_, sized := model.SizeOf(f.ComputeType, f.EnvironmentType)
	return sized
}

// RetireFleet deletes a fleet once it is idle: it keeps running and
// starting the builds it has (a CodeBuild fleet pending deletion is still
// usable), and gone is called when the last one is over, or now if there is
// none.
func (s *Scheduler) RetireFleet(arn string, gone func()) {
	s.mu.Lock()
	f := s.fleets[arn]
	if f == nil {
		s.mu.Unlock()
		gone()
		return
	}
	f.retiring, f.gone = true, gone
	done := s.retireIdleLocked(f)
	s.mu.Unlock()
	if done != nil {
		done()
	}
}

// retireIdleLocked removes a retiring fleet with no builds left and
// returns what to call then (outside the lock).
func (s *Scheduler) retireIdleLocked(f *fleet) func() {
	if f == nil || !f.retiring || f.running > 0 || f.queued > 0 || s.fleets[f.arn] != f {
		return nil
	}
	delete(s.fleets, f.arn)
	gone := f.gone
	w := s.cfg.Warmer
	return func() {
		if w != nil {
			w.Warm(f.arn, 0, nil)
		}
		if gone != nil {
			gone()
		}
	}
}

// FleetCounts reports a fleet's builds running on its machines and waiting
// for one; ok is false for a fleet the scheduler does not know.
func (s *Scheduler) FleetCounts(arn string) (running, queued int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fleets[arn]
	if f == nil {
		return 0, 0, false
	}
	return f.running, f.queued, true
}

// ProjectBuilds reports how many builds of a project are queued or running.
func (s *Scheduler) ProjectBuilds(project string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.projects[project]
}

// MaxRunning is the cap on builds running at once (0: none).
func (s *Scheduler) MaxRunning() int { return s.cfg.MaxRunning }

// Counts reports how many builds are queued and running.
func (s *Scheduler) Counts() (queued, running int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue), len(s.running)
}

// Close ends every running build (as FAULT: the runner shut down), leaves
// queued builds queued in the store for the next start, and waits for the
// running ones to be saved.
func (s *Scheduler) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for _, e := range s.queue {
		if e.timer != nil {
			e.timer.Stop()
		}
	}
	s.queue = nil
	s.mu.Unlock()
	s.cancel(runner.ErrShutdown)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
