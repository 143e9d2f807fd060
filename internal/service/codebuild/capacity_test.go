package codebuild

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
)

// fleetQueue is a Scheduler with capacity: it counts what it is given and
// retires fleets when the test says their builds are over.
type fleetQueue struct {
	queue
	fleets   map[string]*model.Fleet
	counts   map[string][2]int // running, queued
	projects map[string]int
	retiring map[string]func()
	max      int
}

func newFleetService(t *testing.T) (*Service, *fleetQueue) {
	t.Helper()
	s, _ := newService(t)
	q := &fleetQueue{fleets: map[string]*model.Fleet{}, counts: map[string][2]int{}, projects: map[string]int{}, retiring: map[string]func(){}}
	s.sched = q
	return s, q
}

func (q *fleetQueue) Submit(ctx context.Context, b *model.Build) error {
	q.projects[b.ProjectName]++
	return q.queue.Submit(ctx, b)
}
func (q *fleetQueue) SetFleet(f *model.Fleet) { q.fleets[f.Arn] = f }
func (q *fleetQueue) RetireFleet(arn string, gone func()) {
	if c := q.counts[arn]; c[0]+c[1] == 0 {
		delete(q.fleets, arn)
		gone()
		return
	}
	q.retiring[arn] = gone
}
func (q *fleetQueue) FleetCounts(arn string) (int, int, bool) {
	_, ok := q.fleets[arn]
	c := q.counts[arn]
	return c[0], c[1], ok
}
func (q *fleetQueue) ProjectBuilds(p string) int { return q.projects[p] }
func (q *fleetQueue) MaxRunning() int            { return q.max }

func wantCode(t *testing.T, err error, code, contains string) {
	t.Helper()
	e, ok := awsapi.AsError(err)
	if !ok || e.Code != code || !strings.Contains(e.Message, contains) {
		t.Fatalf("got %v, want %s containing %q", err, code, contains)
	}
}

func fleetIn(name string, capacity int, env, compute string) *FleetInput {
	return &FleetInput{Name: name, BaseCapacity: ptr(capacity), EnvironmentType: env, ComputeType: compute}
}

// CreateFleet refuses what CodeBuild refuses, echoes the scaling
// configuration with its desired capacity, and hands the fleet to the
// scheduler.
func TestFleetValidation(t *testing.T) {
	ctx := context.Background()
	s, q := newFleetService(t)
	for _, c := range []struct {
		in   *FleetInput
		want string
	}{
		{fleetIn("zero", 0, model.EnvLinuxContainer, model.ComputeSmall), "base capacity 0"},
		{fleetIn("lam", 1, model.EnvLinuxLambdaContainer, model.ComputeLambda1), "Lambda"},
		{fleetIn("lam2", 1, model.EnvLinuxContainer, model.ComputeLambda2), "Lambda"},
		{fleetIn("gpu", 1, model.EnvLinuxGPUContainer, model.ComputeMedium), "BUILD_GENERAL1_MEDIUM for environment type LINUX_GPU_CONTAINER"},
		{fleetIn("mac", 1, model.EnvMacArm, model.ComputeSmall), "BUILD_GENERAL1_SMALL for environment type MAC_ARM"},
		{fleetIn("attr", 1, model.EnvLinuxEC2, model.ComputeAttributeBased), "computeConfiguration.vCpu"},
		{fleetIn("custom", 1, model.EnvLinuxEC2, model.ComputeCustomInstance), "instanceType"},
		{fleetIn("x", 1, model.EnvLinuxContainer, model.ComputeSmall), "Invalid fleet name"},
		{&FleetInput{Name: "over", BaseCapacity: ptr(1), EnvironmentType: model.EnvLinuxContainer, ComputeType: model.ComputeSmall, OverflowBehavior: "SPILL"}, "overflow"},
		{&FleetInput{Name: "scale", BaseCapacity: ptr(4), EnvironmentType: model.EnvLinuxContainer, ComputeType: model.ComputeSmall,
			ScalingConfiguration: &model.ScalingConfiguration{ScalingType: "TARGET_TRACKING_SCALING", MaxCapacity: ptr(2)}}, "maxCapacity 2 is below the base capacity 4"},
	} {
		_, err := s.CreateFleet(ctx, c.in)
		wantInvalid(t, err, c.want)
	}
	if len(q.fleets) != 0 {
		t.Fatalf("refused fleets reached the scheduler: %v", q.fleets)
	}
	target := 80.0
	out, err := s.CreateFleet(ctx, &FleetInput{Name: "scaled", BaseCapacity: ptr(2), EnvironmentType: model.EnvLinuxContainer, ComputeType: model.ComputeSmall,
		ScalingConfiguration: &model.ScalingConfiguration{ScalingType: "TARGET_TRACKING_SCALING", MaxCapacity: ptr(5),
			TargetTrackingScalingConfigs: []model.TargetTrackingConfig{{MetricType: "FLEET_UTILIZATION_RATE", TargetValue: &target}}}})
	if err != nil {
		t.Fatal(err)
	}
	f := out.Fleet
	if sc := f.ScalingConfiguration; sc == nil || *sc.DesiredCapacity != 2 || *sc.MaxCapacity != 5 || *sc.TargetTrackingScalingConfigs[0].TargetValue != 80 {
		t.Errorf("scaling configuration echo %+v", f.ScalingConfiguration)
	}
	if f.Status.StatusCode != model.FleetActive || f.Status.Message != "running 0/2, queued 0" || f.OverflowBehavior != model.OverflowQueue {
		t.Errorf("new fleet status %+v overflow %s", f.Status, f.OverflowBehavior)
	}
	if q.fleets[f.Arn] == nil {
		t.Fatal("fleet not given to the scheduler")
	}
	// Growing it updates the desired capacity and the scheduler; an empty
	// scaling configuration removes it.
	up, err := s.UpdateFleet(ctx, &FleetInput{Arn: f.Arn, BaseCapacity: ptr(3)})
	if err != nil || *up.Fleet.ScalingConfiguration.DesiredCapacity != 3 || q.fleets[f.Arn].BaseCapacity != 3 {
		t.Fatalf("UpdateFleet: %+v %v", up, err)
	}
	up, err = s.UpdateFleet(ctx, &FleetInput{Arn: f.Arn, ScalingConfiguration: &model.ScalingConfiguration{}})
	if err != nil || up.Fleet.ScalingConfiguration != nil {
		t.Fatalf("removing the scaling configuration: %+v %v", up, err)
	}
	// A machine this host cannot be: created, but CREATE_FAILED, saying why.
	other := model.EnvArmContainer
	if runtime.GOARCH == "arm64" {
		other = model.EnvLinuxContainer
	}
	out, err = s.CreateFleet(ctx, fleetIn("elsewhere", 1, other, model.ComputeSmall))
	if err != nil {
		t.Fatal(err)
	}
	if st := out.Fleet.Status; st.StatusCode != model.FleetCreateFailed || st.Context != model.FleetCreateFailed || !strings.Contains(st.Message, runtime.GOARCH) {
		t.Errorf("%s fleet on %s: status %+v", other, runtime.GOARCH, st)
	}
}

// BatchGetFleets shows live counts in status.message; DeleteFleet of a fleet
// in use leaves it PENDING_DELETION until its builds are over.
func TestFleetCountsAndDelete(t *testing.T) {
	ctx := context.Background()
	s, q := newFleetService(t)
	out, err := s.CreateFleet(ctx, fleetIn("busy", 4, model.EnvLinuxContainer, model.ComputeSmall))
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Fleet.Arn
	q.counts[arn] = [2]int{4, 7}
	got, err := s.BatchGetFleets(ctx, &BatchGetFleetsInput{Names: []string{"busy"}})
	if err != nil || len(got.Fleets) != 1 {
		t.Fatalf("BatchGetFleets: %+v %v", got, err)
	}
	msg := got.Fleets[0].Status.Message
	if msg != "running 4/4, queued 7" {
		t.Errorf("status message %q", msg)
	}
	if r, n, qd, ok := model.ParseFleetCounts(msg); !ok || r != 4 || n != 4 || qd != 7 {
		t.Errorf("ParseFleetCounts(%q) = %d %d %d %v", msg, r, n, qd, ok)
	}
	if _, err := s.DeleteFleet(ctx, &DeleteFleetInput{Arn: arn}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.BatchGetFleets(ctx, &BatchGetFleetsInput{Names: []string{arn}})
	if len(got.Fleets) != 1 || got.Fleets[0].Status.StatusCode != model.FleetPendingDeletion || got.Fleets[0].Status.Message != "running 4/4, queued 7" {
		t.Fatalf("fleet in use after DeleteFleet: %+v", got)
	}
	_, err = s.UpdateFleet(ctx, &FleetInput{Arn: arn, BaseCapacity: ptr(1)})
	wantInvalid(t, err, "pending deletion")
	q.retiring[arn]() // its last build is over
	got, _ = s.BatchGetFleets(ctx, &BatchGetFleetsInput{Names: []string{arn}})
	if len(got.Fleets) != 0 || len(got.FleetsNotFound) != 1 {
		t.Fatalf("retired fleet still there: %+v", got)
	}
	// Deleting an idle fleet, or a missing one, just succeeds.
	idle, _ := s.CreateFleet(ctx, fleetIn("idle", 1, model.EnvLinuxContainer, model.ComputeSmall))
	for range 2 {
		if _, err := s.DeleteFleet(ctx, &DeleteFleetInput{Arn: idle.Fleet.Arn}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.Fleet(ctx, idle.Fleet.Arn); !isNotFound(err) {
		t.Errorf("idle fleet after DeleteFleet: %v", err)
	}
}

// Lambda compute refuses timeouts, the queued timeout, caching and
// privileged mode, in the project and as StartBuild overrides, with
// CodeBuild's "Cannot specify … for lambda compute".
func TestLambdaRestrictions(t *testing.T) {
	ctx := context.Background()
	s, q := newService(t)
	lambda := func(name string) *ProjectInput {
		return projectIn(name, model.EnvLinuxLambdaContainer, model.ComputeLambda1)
	}
	in := lambda("l1")
	in.QueuedTimeoutInMinutes = ptr(5)
	_, err := s.CreateProject(ctx, in)
	wantInvalid(t, err, "Cannot specify queuedTimeoutInMinutes for lambda compute")
	in = lambda("l2")
	in.TimeoutInMinutes = ptr(60)
	_, err = s.CreateProject(ctx, in)
	wantInvalid(t, err, "Cannot specify timeoutInMinutes for lambda compute")
	in = lambda("l3")
	in.Cache = &model.ProjectCache{Type: "LOCAL", Modes: []string{"LOCAL_CUSTOM_CACHE"}}
	_, err = s.CreateProject(ctx, in)
	wantInvalid(t, err, "Cannot specify cache for lambda compute")
	in = lambda("l4")
	in.Environment.PrivilegedMode = ptr(true)
	_, err = s.CreateProject(ctx, in)
	wantInvalid(t, err, "Cannot specify privilegedMode for lambda compute")

	in = lambda("ok")
	in.Cache = &model.ProjectCache{Type: "NO_CACHE"}
	in.Environment.PrivilegedMode = ptr(false)
	p, err := s.CreateProject(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Project.TimeoutInMinutes != nil || p.Project.QueuedTimeoutInMinutes != nil {
		t.Errorf("Lambda project got timeouts %v %v", p.Project.TimeoutInMinutes, p.Project.QueuedTimeoutInMinutes)
	}
	for _, c := range []struct {
		in   *StartBuildInput
		want string
	}{
		{&StartBuildInput{ProjectName: "ok", TimeoutInMinutesOverride: ptr(10)}, "timeoutInMinutesOverride"},
		{&StartBuildInput{ProjectName: "ok", QueuedTimeoutInMinutesOverride: ptr(10)}, "queuedTimeoutInMinutesOverride"},
		{&StartBuildInput{ProjectName: "ok", PrivilegedModeOverride: ptr(true)}, "privilegedModeOverride"},
		{&StartBuildInput{ProjectName: "ok", CacheOverride: &model.ProjectCache{Type: "S3", Location: "b/k"}}, "cacheOverride"},
	} {
		_, err := s.StartBuild(ctx, c.in)
		wantInvalid(t, err, "Cannot specify "+c.want+" for lambda compute")
	}
	if len(q.submitted) != 0 {
		t.Fatalf("refused builds submitted: %v", q.submitted)
	}
	// A container project's build moved onto Lambda drops the project's
	// timeouts; one moved off Lambda gets them back.
	if _, err := s.CreateProject(ctx, projectIn("box", model.EnvLinuxContainer, model.ComputeSmall)); err != nil {
		t.Fatal(err)
	}
	b, err := s.StartBuild(ctx, &StartBuildInput{ProjectName: "box", EnvironmentTypeOverride: model.EnvLinuxLambdaContainer, ComputeTypeOverride: model.ComputeLambda2})
	if err != nil {
		t.Fatal(err)
	}
	if b.Build.TimeoutInMinutes != nil || b.Build.QueuedTimeoutInMinutes != nil || b.Build.Cache.Type != "NO_CACHE" {
		t.Errorf("Lambda build of a container project: timeouts %v %v cache %+v", b.Build.TimeoutInMinutes, b.Build.QueuedTimeoutInMinutes, b.Build.Cache)
	}
	// Turning a container project into a Lambda one drops its old timeouts.
	up, err := s.UpdateProject(ctx, &ProjectInput{Name: "box", Environment: &model.ProjectEnvironment{Type: model.EnvLinuxLambdaContainer, Image: "i", ComputeType: model.ComputeLambda1}})
	if err != nil {
		t.Fatal(err)
	}
	if up.Project.TimeoutInMinutes != nil || up.Project.QueuedTimeoutInMinutes != nil {
		t.Errorf("project turned Lambda kept timeouts %v %v", up.Project.TimeoutInMinutes, up.Project.QueuedTimeoutInMinutes)
	}
}

// A project with concurrentBuildLimit refuses StartBuild beyond it with
// AccountLimitExceededException; -1 removes the limit; the limit cannot
// exceed the runner's cap on running builds.
func TestConcurrentBuildLimit(t *testing.T) {
	ctx := context.Background()
	s, q := newFleetService(t)
	q.max = 10
	in := projectIn("limited", model.EnvLinuxContainer, model.ComputeSmall)
	in.ConcurrentBuildLimit = ptr(11)
	_, err := s.CreateProject(ctx, in)
	wantInvalid(t, err, "Project-level concurrent build limit cannot exceed the account-level concurrent build limit of 10.")
	in.ConcurrentBuildLimit = ptr(0)
	_, err = s.CreateProject(ctx, in)
	wantInvalid(t, err, "concurrent build limit 0")
	in.ConcurrentBuildLimit = ptr(2)
	if _, err := s.CreateProject(ctx, in); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.StartBuild(ctx, &StartBuildInput{ProjectName: "limited"}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.StartBuild(ctx, &StartBuildInput{ProjectName: "limited"})
	wantCode(t, err, "AccountLimitExceededException", "Cannot have more than 2 active builds for the project")
	if len(q.submitted) != 2 {
		t.Errorf("submitted %v", q.submitted)
	}
	// The same idempotent request returns its build, limit or not.
	q.projects["limited"] = 1
	first, err := s.StartBuild(ctx, &StartBuildInput{ProjectName: "limited", IdempotencyToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.StartBuild(ctx, &StartBuildInput{ProjectName: "limited", IdempotencyToken: "t"})
	if err != nil || again.Build.ID != first.Build.ID {
		t.Fatalf("idempotent retry at the limit: %v %v", again, err)
	}
	up, err := s.UpdateProject(ctx, &ProjectInput{Name: "limited", ConcurrentBuildLimit: ptr(-1)})
	if err != nil || up.Project.ConcurrentBuildLimit != nil {
		t.Fatalf("removing the limit: %+v %v", up, err)
	}
	if _, err := s.StartBuild(ctx, &StartBuildInput{ProjectName: "limited"}); err != nil {
		t.Errorf("StartBuild without a limit: %v", err)
	}
	body, _ := json.Marshal(up.Project)
	if strings.Contains(string(body), "concurrentBuildLimit") {
		t.Errorf("removed limit still shown: %s", body)
	}
}
