package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/runner"
)

// fakeRunner runs a build until the test releases it (or its context ends)
// and records what happened, in order.
type fakeRunner struct {
	mu      sync.Mutex
	started []string
	where   map[string]runner.Placement
	ended   map[string]string // build → final status
	causes  map[string]error
	release map[string]chan struct{}
	changed chan struct{}
}

func newFakeRunner() *fakeRunner {
	return &fakeRunner{where: map[string]runner.Placement{}, ended: map[string]string{},
		causes: map[string]error{}, release: map[string]chan struct{}{}, changed: make(chan struct{}, 1000)}
}

func (f *fakeRunner) gate(id string) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.release[id]
	if !ok {
		c = make(chan struct{})
		f.release[id] = c
	}
	return c
}

func (f *fakeRunner) Run(ctx context.Context, b *model.Build, on runner.Placement) error {
	f.mu.Lock()
	f.started = append(f.started, b.ID)
	f.where[b.ID] = on
	f.mu.Unlock()
	f.changed <- struct{}{}
	status := model.StatusSucceeded
	select {
	case <-f.gate(b.ID):
	case <-ctx.Done():
		status = model.StatusStopped
		f.mu.Lock()
		f.causes[b.ID] = context.Cause(ctx)
		f.mu.Unlock()
	}
	f.mu.Lock()
	f.ended[b.ID] = status
	f.mu.Unlock()
	f.changed <- struct{}{}
	return nil
}

func (f *fakeRunner) EndQueued(_ context.Context, b *model.Build, status, code, message string) error {
	f.mu.Lock()
	f.ended[b.ID] = status + " " + code
	f.mu.Unlock()
	f.changed <- struct{}{}
	return nil
}

func (f *fakeRunner) finish(id string) { close(f.gate(id)) }

// startedIDs lists the builds started, in the order they left the queue.
func (f *fakeRunner) startedIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := slices.Clone(f.started)
	slices.SortStableFunc(ids, func(a, b string) int { return f.where[a].Dequeued.Compare(f.where[b].Dequeued) })
	return ids
}

func (f *fakeRunner) endedAs(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ended[id]
}

// waitFor waits until cond holds, checking whenever the runner reports.
func (f *fakeRunner) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for !cond() {
		select {
		case <-f.changed:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s (started %v)", what, f.startedIDs())
		}
	}
}

// settle gives the scheduler a moment to (wrongly) start more builds.
func settle() { time.Sleep(30 * time.Millisecond) }

func build(id, compute string) *model.Build {
	return &model.Build{ID: "p:" + id, ProjectName: "p", StartTime: model.Now().Ptr(),
		Environment: &model.ProjectEnvironment{Type: model.EnvLinuxContainer, ComputeType: compute}}
}

func onFleet(b *model.Build, arn string) *model.Build {
	b.Environment.Fleet = &model.ProjectFleet{FleetArn: arn}
	return b
}

func newScheduler(t *testing.T, cfg Config) (*Scheduler, *fakeRunner) {
	t.Helper()
	r := newFakeRunner()
	cfg.Runner = r
	s := New(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s, r
}

func submit(t *testing.T, s *Scheduler, b *model.Build) {
	t.Helper()
	if err := s.Submit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

const gib = 1 << 30

// On-demand builds start while their CPU and memory fit in the capacity,
// the rest wait and start in submission order as room frees up.
func TestOnDemandCapacityFIFO(t *testing.T) {
	// 4 cores, 2× over-commit of a 2-core host: two SMALL (2 vCPU) builds.
	s, r := newScheduler(t, Config{Capacity: Resources{CPU: 4, MemoryBytes: 64 * gib}, Host: Resources{CPU: 2, MemoryBytes: 32 * gib}})
	for i := range 5 {
		submit(t, s, build(fmt.Sprint(i), model.ComputeSmall))
	}
	r.waitFor(t, "two builds", func() bool { return len(r.startedIDs()) == 2 })
	settle()
	if got := r.startedIDs(); len(got) != 2 {
		t.Fatalf("started %v, want 2 (capacity 4 CPU, 2 each)", got)
	}
	if q, run := s.Counts(); q != 3 || run != 2 {
		t.Fatalf("counts queued %d running %d", q, run)
	}
	r.finish("p:1")
	r.waitFor(t, "the third build", func() bool { return len(r.startedIDs()) == 3 })
	for _, id := range []string{"p:0", "p:2", "p:3", "p:4"} {
		r.finish(id)
	}
	r.waitFor(t, "every build", func() bool { return len(r.startedIDs()) == 5 })
	if got, want := r.startedIDs(), []string{"p:0", "p:1", "p:2", "p:3", "p:4"}; !slices.Equal(got, want) {
		t.Errorf("start order %v, want %v", got, want)
	}
}

// A build bigger than what is free holds the smaller ones behind it: the
// queue is first in, first out, and the big build is not starved.
func TestOnDemandHeadOfLineHolds(t *testing.T) {
	s, r := newScheduler(t, Config{Capacity: Resources{CPU: 8, MemoryBytes: 1 << 40}, Host: Resources{CPU: 8, MemoryBytes: 1 << 40}})
	submit(t, s, build("medium", model.ComputeMedium)) // 4 vCPU
	submit(t, s, build("large", model.ComputeLarge))   // 8 vCPU: waits for the medium
	submit(t, s, build("small", model.ComputeSmall))   // 2 vCPU: would fit, but is behind
	r.waitFor(t, "the medium build", func() bool { return len(r.startedIDs()) == 1 })
	settle()
	if got := r.startedIDs(); len(got) != 1 {
		t.Fatalf("started %v; the small build jumped the queue", got)
	}
	r.finish("p:medium")
	r.waitFor(t, "the large build", func() bool { return len(r.startedIDs()) == 2 })
	r.finish("p:large")
	r.waitFor(t, "the small build", func() bool { return len(r.startedIDs()) == 3 })
	r.finish("p:small")
	// A build bigger than the whole capacity still runs, alone.
	s2, r2 := newScheduler(t, Config{Capacity: Resources{CPU: 1}, Host: Resources{CPU: 2}})
	submit(t, s2, build("big", model.ComputeSmall))
	r2.waitFor(t, "the oversized build", func() bool { return len(r2.startedIDs()) == 1 })
	r2.finish("p:big")
}

const fleetA = "arn:aws:codebuild:us-east-1:000000000000:fleet/a:1"

func fleetOf(capacity int, overflow string) *model.Fleet {
	return &model.Fleet{Arn: fleetA, Name: "a", BaseCapacity: capacity, OverflowBehavior: overflow,
		EnvironmentType: model.EnvLinuxContainer, ComputeType: model.ComputeSmall, Status: &model.FleetStatus{StatusCode: model.FleetActive}}
}

type warmLog struct {
	mu    sync.Mutex
	sizes []int
}

func (w *warmLog) Warm(_ string, n int, _ *model.ProjectEnvironment) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sizes = append(w.sizes, n)
}

func (w *warmLog) last() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sizes[len(w.sizes)-1]
}

// A fleet of N runs N builds at once on its machines, whatever the host's
// capacity; the others wait for a machine, in order. Growing the fleet
// starts waiting builds at once.
func TestFleetQueue(t *testing.T) {
	warm := &warmLog{}
	s, r := newScheduler(t, Config{Capacity: Resources{CPU: 1}, Host: Resources{CPU: 2}, Warmer: warm})
	s.SetFleet(fleetOf(2, model.OverflowQueue))
	if warm.last() != 2 {
		t.Errorf("warm machines %d, want 2", warm.last())
	}
	for i := range 6 {
		submit(t, s, onFleet(build(fmt.Sprint(i), model.ComputeSmall), fleetA))
	}
	r.waitFor(t, "two fleet builds", func() bool { return len(r.startedIDs()) == 2 })
	settle()
	if run, q, _ := s.FleetCounts(fleetA); run != 2 || q != 4 {
		t.Fatalf("fleet counts running %d queued %d, want 2 and 4", run, q)
	}
	for _, id := range r.startedIDs() {
		if r.where[id].Fleet != fleetA || r.where[id].FleetName != "a" {
			t.Errorf("%s placed %+v, want on fleet a", id, r.where[id])
		}
	}
	s.SetFleet(fleetOf(3, model.OverflowQueue))
	r.waitFor(t, "a third machine's build", func() bool { return len(r.startedIDs()) == 3 })
	s.SetFleet(fleetOf(1, model.OverflowQueue)) // running builds go on
	r.finish("p:0")
	r.finish("p:1")
	settle()
	if got := r.startedIDs(); len(got) != 3 {
		t.Fatalf("started %v with 1 machine and 1 build still running", got)
	}
	r.finish("p:2")
	r.waitFor(t, "the next build", func() bool { return len(r.startedIDs()) == 4 })
	for _, id := range []string{"p:3", "p:4"} {
		r.finish(id)
	}
	r.waitFor(t, "every build", func() bool { return len(r.startedIDs()) == 6 })
	if got, want := r.startedIDs(), []string{"p:0", "p:1", "p:2", "p:3", "p:4", "p:5"}; !slices.Equal(got, want) {
		t.Errorf("start order %v, want %v", got, want)
	}
}

// ON_DEMAND overflow: builds that find every machine busy run on on-demand
// capacity (when it has room) instead of waiting.
func TestFleetOverflowOnDemand(t *testing.T) {
	s, r := newScheduler(t, Config{Capacity: Resources{CPU: 6}, Host: Resources{CPU: 2}})
	s.SetFleet(fleetOf(1, model.OverflowOnDemand))
	for i := range 4 {
		submit(t, s, onFleet(build(fmt.Sprint(i), model.ComputeSmall), fleetA))
	}
	// 1 on the machine + 2 on demand (2 + 2×2 = 6 CPU reserved); 1 waits.
	r.waitFor(t, "three builds", func() bool { return len(r.startedIDs()) == 3 })
	settle()
	if got := r.startedIDs(); len(got) != 3 {
		t.Fatalf("started %v, want 3", got)
	}
	onMachine := 0
	for _, id := range r.startedIDs() {
		if r.where[id].Fleet != "" {
			onMachine++
		}
	}
	if onMachine != 1 {
		t.Errorf("%d builds on the fleet's machine, want 1", onMachine)
	}
	r.finish("p:0")
	r.waitFor(t, "the last build", func() bool { return len(r.startedIDs()) == 4 })
	if r.where["p:3"].Fleet != fleetA {
		t.Errorf("the last build went %+v; the freed machine should take it", r.where["p:3"])
	}
	// Reserved-only environments have no on-demand twin: QUEUE it is.
	f := fleetOf(1, model.OverflowOnDemand)
	f.EnvironmentType = model.EnvLinuxEC2
	if hasOnDemand(f) {
		t.Error("LINUX_EC2 fleet overflows on demand")
	}
}

// queuedTimeoutInMinutes ends a waiting build TIMED_OUT in QUEUED, and
// what it held back starts.
func TestQueuedTimeout(t *testing.T) {
	s, r := newScheduler(t, Config{MaxRunning: 1, Minute: 10 * time.Millisecond})
	submit(t, s, build("running", model.ComputeSmall))
	waiting := build("waiting", model.ComputeSmall)
	waiting.QueuedTimeoutInMinutes = ptr(5) // 50 ms
	submit(t, s, waiting)
	r.waitFor(t, "the queued timeout", func() bool { return r.endedAs("p:waiting") != "" })
	if got := r.endedAs("p:waiting"); got != "TIMED_OUT BUILD_TIMED_OUT" {
		t.Errorf("waiting build ended %q", got)
	}
	if s.ProjectBuilds("p") != 1 {
		t.Errorf("project builds %d, want 1 (the running one)", s.ProjectBuilds("p"))
	}
	r.finish("p:running")
	// A build queued behind a full fleet expires too and frees its place.
	s.SetFleet(fleetOf(1, model.OverflowQueue))
	submit(t, s, onFleet(build("f1", model.ComputeSmall), fleetA))
	f2 := onFleet(build("f2", model.ComputeSmall), fleetA)
	f2.QueuedTimeoutInMinutes = ptr(5)
	submit(t, s, f2)
	r.waitFor(t, "the fleet build's queued timeout", func() bool { return r.endedAs("p:f2") != "" })
	if _, q, _ := s.FleetCounts(fleetA); q != 0 {
		t.Errorf("fleet queued %d after the timeout", q)
	}
	r.finish("p:f1")

	// A build submitted again after a restart keeps its timeout from
	// StartBuild: one past it ends at once, though it could start now.
	late := build("late", model.ComputeSmall)
	late.QueuedTimeoutInMinutes = ptr(5)
	late.StartTime = model.NewTime(time.Now().Add(-time.Second)).Ptr()
	submit(t, s, late)
	if got := r.endedAs("p:late"); got != "TIMED_OUT BUILD_TIMED_OUT" || slices.Contains(r.startedIDs(), "p:late") {
		t.Errorf("a build past its queued timeout when submitted: ended %q, started %v", got, r.startedIDs())
	}
}

// Stop ends a queued build STOPPED without running it, and cancels a
// running one with ErrStopped.
func TestStop(t *testing.T) {
	s, r := newScheduler(t, Config{MaxRunning: 1})
	submit(t, s, build("a", model.ComputeSmall))
	submit(t, s, build("b", model.ComputeSmall))
	r.waitFor(t, "a", func() bool { return len(r.startedIDs()) == 1 })
	if err := s.Stop(context.Background(), "p:b"); err != nil {
		t.Fatal(err)
	}
	if got := r.endedAs("p:b"); got != "STOPPED BUILD_STOPPED" {
		t.Errorf("queued build ended %q", got)
	}
	if err := s.Stop(context.Background(), "p:a"); err != nil {
		t.Fatal(err)
	}
	if got := r.endedAs("p:a"); got != model.StatusStopped || !errors.Is(r.causes["p:a"], runner.ErrStopped) {
		t.Errorf("running build ended %q, cause %v", got, r.causes["p:a"])
	}
	if slices.Contains(r.startedIDs(), "p:b") {
		t.Error("the stopped queued build ran")
	}
	if err := s.Stop(context.Background(), "p:unknown"); err != nil {
		t.Errorf("stopping an unknown build: %v", err)
	}
}

// Deleting a fleet in use: it keeps serving its builds, and is gone once
// the last is over; an idle fleet goes at once. Builds of an unknown fleet
// fail.
func TestRetireFleet(t *testing.T) {
	warm := &warmLog{}
	s, r := newScheduler(t, Config{Warmer: warm})
	s.SetFleet(fleetOf(1, model.OverflowQueue))
	submit(t, s, onFleet(build("a", model.ComputeSmall), fleetA))
	submit(t, s, onFleet(build("b", model.ComputeSmall), fleetA))
	r.waitFor(t, "a", func() bool { return len(r.startedIDs()) == 1 })
	gone := make(chan struct{})
	s.RetireFleet(fleetA, func() { close(gone) })
	r.finish("p:a")
	r.waitFor(t, "b on the retiring fleet", func() bool { return len(r.startedIDs()) == 2 })
	select {
	case <-gone:
		t.Fatal("fleet gone with a build running")
	default:
	}
	r.finish("p:b")
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("fleet not gone after its last build")
	}
	if warm.last() != 0 {
		t.Errorf("warm machines %d after retiring", warm.last())
	}
	if _, _, ok := s.FleetCounts(fleetA); ok {
		t.Error("retired fleet still counted")
	}
	submit(t, s, onFleet(build("late", model.ComputeSmall), fleetA))
	if got := r.endedAs("p:late"); got != "FAILED CLIENT_ERROR" {
		t.Errorf("build of a deleted fleet ended %q", got)
	}
	idle := make(chan struct{})
	s.SetFleet(fleetOf(1, model.OverflowQueue))
	s.RetireFleet(fleetA, func() { close(idle) })
	select {
	case <-idle:
	default:
		t.Error("an idle fleet was not deleted at once")
	}
}

func ptr[T any](v T) *T { return &v }
