// Package scheduler queues builds and starts them when there is room,
// first in first out.
package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/runner"
)

// Runner runs builds and ends the ones that never run.
type Runner interface {
	Run(ctx context.Context, b *model.Build) error
	EndQueued(ctx context.Context, b *model.Build, status, code, message string) error
}

// Config configures a Scheduler.
type Config struct {
	Runner Runner
	// MaxRunning caps builds running at once; 0 means no cap.
	MaxRunning int
	// Minute is how long a "minute" of queuedTimeoutInMinutes lasts.
	Minute time.Duration
	Log    *slog.Logger
}

// Scheduler hands builds to the runner.
type Scheduler struct {
	cfg Config

	mu      sync.Mutex
	queue   []*entry
	running map[string]*entry
	closed  bool
	wg      sync.WaitGroup
	base    context.Context // parent of every build's context
	cancel  context.CancelCauseFunc
}

type entry struct {
	b       *model.Build
	timer   *time.Timer // queued timeout
	cancel  context.CancelCauseFunc
	done    chan struct{}
	stopped bool
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
	return &Scheduler{cfg: cfg, running: make(map[string]*entry), base: base, cancel: cancel}
}

// Submit queues a build that is stored in QUEUED.
func (s *Scheduler) Submit(ctx context.Context, b *model.Build) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("scheduler is closed")
	}
	e := &entry{b: b, done: make(chan struct{})}
	if b.QueuedTimeoutInMinutes != nil {
		d := time.Duration(*b.QueuedTimeoutInMinutes) * s.cfg.Minute
		if b.StartTime != nil {
			d -= time.Since(b.StartTime.Time)
		}
		e.timer = time.AfterFunc(max(d, 0), func() { s.expire(e) })
	}
	s.queue = append(s.queue, e)
	s.dispatchLocked()
	return nil
}

// dispatchLocked starts queued builds while there is room.
func (s *Scheduler) dispatchLocked() {
	for len(s.queue) > 0 && (s.cfg.MaxRunning == 0 || len(s.running) < s.cfg.MaxRunning) {
		e := s.queue[0]
		s.queue = s.queue[1:]
		if e.timer != nil {
			e.timer.Stop()
		}
		ctx, cancel := context.WithCancelCause(s.base)
		e.cancel = cancel
		s.running[e.b.ID] = e
		s.wg.Add(1)
		go s.run(ctx, e)
	}
}

func (s *Scheduler) run(ctx context.Context, e *entry) {
	defer s.wg.Done()
	if err := s.cfg.Runner.Run(ctx, e.b); err != nil {
		s.cfg.Log.Error("build failed to run", "build", e.b.ID, "err", err)
	}
	e.cancel(nil)
	s.mu.Lock()
	delete(s.running, e.b.ID)
	close(e.done)
	s.dispatchLocked()
	s.mu.Unlock()
}

// expire ends a build that waited in the queue past its queued timeout.
func (s *Scheduler) expire(e *entry) {
	if !s.dequeue(e) {
		return
	}
	err := s.cfg.Runner.EndQueued(s.base, e.b, model.StatusTimedOut, "BUILD_TIMED_OUT", "Build timed out while waiting in the queue.")
	if err != nil {
		s.cfg.Log.Error("expire queued build", "build", e.b.ID, "err", err)
	}
	close(e.done)
}

// dequeue removes e from the queue; false if it had already left it.
func (s *Scheduler) dequeue(e *entry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.queue {
		if q == e {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			if e.timer != nil {
				e.timer.Stop()
			}
			return true
		}
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
