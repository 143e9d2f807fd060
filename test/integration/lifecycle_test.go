package integration

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

// marker names a process so the test can look for it on the host.
func marker(t *testing.T) string {
	return fmt.Sprintf("hangar-it-%d", time.Now().UnixNano())
}

// hostProcesses lists host processes whose command line contains s.
func hostProcesses(s string) []string {
	out, _ := exec.Command("pgrep", "-af", s).Output()
	var procs []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !strings.Contains(l, "pgrep") {
			procs = append(procs, l)
		}
	}
	return procs
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startBuild(t *testing.T, cb *codebuild.Client, project string) string {
	t.Helper()
	out, err := cb.StartBuild(context.Background(), &codebuild.StartBuildInput{ProjectName: aws.String(project)})
	if err != nil {
		t.Fatalf("start build of %s: %v", project, err)
	}
	return aws.ToString(out.Build.Id)
}

func getBuild(t *testing.T, cb *codebuild.Client, id string) types.Build {
	t.Helper()
	out, err := cb.BatchGetBuilds(context.Background(), &codebuild.BatchGetBuildsInput{Ids: []string{id}})
	if err != nil || len(out.Builds) != 1 {
		t.Fatalf("get build %s: %v %v", id, err, out)
	}
	return out.Builds[0]
}

func phase(b types.Build, t types.BuildPhaseType) *types.BuildPhase {
	for i := range b.Phases {
		if b.Phases[i].PhaseType == t {
			return &b.Phases[i]
		}
	}
	return nil
}

func hasLine(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// A build stopped while it runs ends STOPPED at once, with its whole
// process tree gone: a child that ignores SIGTERM and a nohup daemon too.
func TestStopKillsTheWholeTree(t *testing.T) {
	r := StartRunner(t)
	cb := r.CodeBuild()
	m := marker(t)
	CreateProject(t, cb, "stopme", fmt.Sprintf(`version: 0.2
phases:
  build:
    commands:
      - nohup bash -c 'exec -a %[1]s-daemon sleep 300' >/dev/null 2>&1 &
      - bash -c 'trap "" TERM; exec -a %[1]s-stubborn sleep 300' &
      - echo started
      - sleep 300
  post_build:
    commands:
      - echo post-build-ran
`, m))
	id := startBuild(t, cb, "stopme")
	waitFor(t, 10*time.Second, "the build's processes", func() bool { return len(hostProcesses(m)) == 2 })
	begin := time.Now()
	out, err := cb.StopBuild(context.Background(), &codebuild.StopBuildInput{Id: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(begin)
	b := out.Build
	if b.BuildStatus != types.StatusTypeStopped || !b.BuildComplete {
		t.Fatalf("after StopBuild: status %s complete %v", b.BuildStatus, b.BuildComplete)
	}
	if took > 3*time.Second {
		t.Errorf("StopBuild took %v", took)
	}
	if p := phase(*b, types.BuildPhaseTypeBuild); p == nil || p.PhaseStatus != types.StatusTypeStopped {
		t.Errorf("BUILD phase: %+v", p)
	}
	if phase(*b, types.BuildPhaseTypeFinalizing) == nil || phase(*b, types.BuildPhaseTypePostBuild) != nil {
		t.Errorf("phases after stop: want FINALIZING and no POST_BUILD, got %+v", b.Phases)
	}
	if procs := hostProcesses(m); len(procs) != 0 {
		t.Errorf("processes left after stop: %v", procs)
	}
	// Stopping a finished build returns it unchanged.
	again, err := cb.StopBuild(context.Background(), &codebuild.StopBuildInput{Id: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if again.Build.BuildStatus != types.StatusTypeStopped || !again.Build.EndTime.Equal(*b.EndTime) {
		t.Errorf("second StopBuild changed the build: %+v", again.Build)
	}
	if log := BuildLog(t, r, *b); hasLine(log, "post-build-ran") {
		t.Errorf("post_build ran after stop")
	}
}

// A build past its timeout ends TIMED_OUT: the phase that ran out of time
// is TIMED_OUT, FINALIZING is still recorded, the processes are gone.
func TestTimeout(t *testing.T) {
	// With --minute 100ms, the smallest timeout (5 minutes) is 500 ms.
	r := StartRunner(t, "--minute", "100ms")
	cb := r.CodeBuild()
	m := marker(t)
	CreateProject(t, cb, "slow", fmt.Sprintf("version: 0.2\nphases:\n  build:\n    commands:\n      - bash -c 'exec -a %s sleep 300'\n", m))
	out, err := cb.StartBuild(context.Background(), &codebuild.StartBuildInput{ProjectName: aws.String("slow"), TimeoutInMinutesOverride: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	b := WaitBuild(t, cb, aws.ToString(out.Build.Id), 10*time.Second)
	if b.BuildStatus != types.StatusTypeTimedOut {
		t.Fatalf("status %s", b.BuildStatus)
	}
	if p := phase(b, types.BuildPhaseTypeBuild); p == nil || p.PhaseStatus != types.StatusTypeTimedOut {
		t.Errorf("BUILD phase: %+v", p)
	}
	if p := phase(b, types.BuildPhaseTypeFinalizing); p == nil || p.PhaseStatus != types.StatusTypeSucceeded {
		t.Errorf("FINALIZING phase: %+v", p)
	}
	if procs := hostProcesses(m); len(procs) != 0 {
		t.Errorf("processes left after timeout: %v", procs)
	}
}

// kill -9 of the runner mid-build: after a restart the running build ends
// FAULT saying why, every log line written before the kill is still there,
// the queued build runs, finished builds are still listed with their logs,
// and no process of the killed build survives.
func TestRunnerCrash(t *testing.T) {
	r := StartRunner(t, "--max-builds", "1")
	cb := r.CodeBuild()
	m := marker(t)
	CreateProject(t, cb, "done", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo finished-before-the-crash\n")
	CreateProject(t, cb, "long", fmt.Sprintf(`version: 0.2
phases:
  build:
    commands:
      - for i in $(seq 1 500); do echo line-$i; done
      - bash -c 'exec -a %s sleep 300'
`, m))
	CreateProject(t, cb, "queued", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ran-after-restart\n")

	done := startBuild(t, cb, "done")
	WaitBuild(t, cb, done, 10*time.Second)
	long := startBuild(t, cb, "long")
	waitFor(t, 10*time.Second, "the long build to print", func() bool { return len(hostProcesses(m)) == 1 })
	queued := startBuild(t, cb, "queued")
	if b := getBuild(t, cb, queued); aws.ToString(b.CurrentPhase) != "QUEUED" {
		t.Fatalf("second build should wait behind --max-builds 1, is in %s", aws.ToString(b.CurrentPhase))
	}

	r.Kill9()
	waitFor(t, 5*time.Second, "the killed build's processes to die", func() bool { return len(hostProcesses(m)) == 0 })
	r.Start()
	cb = r.CodeBuild()

	b := getBuild(t, cb, long)
	if b.BuildStatus != types.StatusTypeFault || !b.BuildComplete {
		t.Fatalf("crashed build: status %s complete %v", b.BuildStatus, b.BuildComplete)
	}
	p := phase(b, types.BuildPhaseTypeBuild)
	if p == nil || p.PhaseStatus != types.StatusTypeFault || len(p.Contexts) == 0 || !strings.Contains(aws.ToString(p.Contexts[0].Message), "runner restarted") {
		t.Errorf("crashed build's BUILD phase: %+v", p)
	}
	log := BuildLog(t, r, b)
	for i := 1; i <= 500; i++ {
		if !hasLine(log, fmt.Sprintf("line-%d", i)) {
			t.Fatalf("line-%d lost in the crash", i)
		}
	}
	q := WaitBuild(t, cb, queued, 20*time.Second)
	if q.BuildStatus != types.StatusTypeSucceeded || !hasLine(BuildLog(t, r, q), "ran-after-restart") {
		t.Errorf("queued build after restart: %s", q.BuildStatus)
	}
	d := getBuild(t, cb, done)
	if d.BuildStatus != types.StatusTypeSucceeded || !hasLine(BuildLog(t, r, d), "finished-before-the-crash") {
		t.Errorf("finished build after restart: %s", d.BuildStatus)
	}
	ids, err := cb.ListBuilds(context.Background(), &codebuild.ListBuildsInput{})
	if err != nil || len(ids.Ids) != 3 {
		t.Errorf("ListBuilds after restart: %v %v", ids, err)
	}
}
