package integration

// Capacity: compute types as real limits, on-demand capacity and its queue,
// fleets, project concurrency limits, timeouts and stops at every phase,
// Lambda compute and environment types. Every build here is a real process
// tree in the real sandbox of a real `hangar server`.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// hostEnvironmentType is the container environment type of this host's
// architecture; foreignEnvironmentType the other one.
func hostEnvironmentType() types.EnvironmentType {
	if runtime.GOARCH == "arm64" {
		return types.EnvironmentTypeArmContainer
	}
	return types.EnvironmentTypeLinuxContainer
}

func foreignEnvironmentType() types.EnvironmentType {
	if runtime.GOARCH == "arm64" {
		return types.EnvironmentTypeLinuxContainer
	}
	return types.EnvironmentTypeArmContainer
}

func lambdaEnvironmentType() types.EnvironmentType {
	if runtime.GOARCH == "arm64" {
		return types.EnvironmentTypeArmLambdaContainer
	}
	return types.EnvironmentTypeLinuxLambdaContainer
}

// createProjectWith makes a NO_SOURCE project with an inline buildspec on
// the given environment; mod adjusts the request.
func createProjectWith(t testing.TB, cb *codebuild.Client, name, spec string, env *types.ProjectEnvironment, mod func(*codebuild.CreateProjectInput)) {
	t.Helper()
	in := &codebuild.CreateProjectInput{
		Name:        aws.String(name),
		Source:      &types.ProjectSource{Type: types.SourceTypeNoSource, Buildspec: aws.String(spec)},
		Artifacts:   &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts},
		Environment: env,
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/hangar-test"),
	}
	if mod != nil {
		mod(in)
	}
	if _, err := cb.CreateProject(bg, in); err != nil {
		t.Fatalf("create project %s: %v", name, err)
	}
}

func containerEnv(compute types.ComputeType) *types.ProjectEnvironment {
	return &types.ProjectEnvironment{Type: hostEnvironmentType(), Image: aws.String("aws/codebuild/amazonlinux2-x86_64-standard:5.0"), ComputeType: compute}
}

func lambdaEnv(compute types.ComputeType) *types.ProjectEnvironment {
	return &types.ProjectEnvironment{Type: lambdaEnvironmentType(), Image: aws.String("aws/codebuild/amazonlinux-x86_64-lambda-standard:go1.24"), ComputeType: compute}
}

// buildsNow returns the builds as they are now, in the order of ids.
func buildsNow(t testing.TB, cb *codebuild.Client, ids []string) []types.Build {
	t.Helper()
	var out []types.Build
	for len(ids) > 0 {
		chunk := ids[:min(100, len(ids))]
		ids = ids[len(chunk):]
		got, err := cb.BatchGetBuilds(bg, &codebuild.BatchGetBuildsInput{Ids: chunk})
		if err != nil {
			t.Errorf("batch get builds: %v", err)
			return nil
		}
		out = append(out, got.Builds...)
	}
	return out
}

// running reports whether a build is past QUEUED and not complete: what
// holds a machine or on-demand capacity.
func running(b types.Build) bool {
	p := aws.ToString(b.CurrentPhase)
	return !b.BuildComplete && p != "QUEUED" && p != "SUBMITTED" && p != "COMPLETED"
}

// sampler polls builds until stopped and keeps the most seen running at
// once. It polls only builds not seen complete, newest first: builds start
// in submission order, so a later build running in one call means the
// earlier ones running in the next call were running then too, and a
// sample spread over several calls never counts more than ran at once.
type sampler struct {
	max     atomic.Int64
	samples atomic.Int64
	stop    chan struct{}
	done    chan struct{}
}

func sampleRunning(t testing.TB, cb *codebuild.Client, ids func() []string) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	complete := map[string]bool{}
	// Build numbers as seen; ids() is in the order StartBuild answered
	// several clients, which is not quite submission order.
	number := map[string]int64{}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			var open []string
			for _, id := range ids() {
				if !complete[id] {
					open = append(open, id)
				}
			}
			// Newest first: not yet numbered, then by number, descending.
			slices.SortStableFunc(open, func(a, b string) int {
				na, oka := number[a]
				nb, okb := number[b]
				switch {
				case !oka || !okb:
					return boolOrder(oka, okb)
				default:
					return int(nb - na)
				}
			})
			n := int64(0)
			for len(open) > 0 {
				chunk := open[:min(100, len(open))]
				open = open[len(chunk):]
				for _, b := range buildsNow(t, cb, chunk) {
					number[aws.ToString(b.Id)] = aws.ToInt64(b.BuildNumber)
					if running(b) {
						n++
					}
					if b.BuildComplete {
						complete[aws.ToString(b.Id)] = true
					}
				}
			}
			s.samples.Add(1)
			if n > s.max.Load() {
				s.max.Store(n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return s
}

func (s *sampler) Stop() { close(s.stop); <-s.done }

// boolOrder sorts false before true.
func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	default:
		return 1
	}
}

// maxOverlap is the most builds whose [left the queue, ended) intervals
// overlap: how many ran at once, from the builds' own records.
func maxOverlap(builds []types.Build) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, b := range builds {
		if s := provisioningStart(b); !s.IsZero() && b.EndTime != nil {
			edges = append(edges, edge{s, 1}, edge{*b.EndTime, -1})
		}
	}
	// Ends before starts at the same instant: intervals are half-open.
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	most, cur := 0, 0
	for _, e := range edges {
		cur += e.delta
		most = max(most, cur)
	}
	return most
}

// provisioningStart is when a build left the queue.
func provisioningStart(b types.Build) time.Time {
	if p := phase(b, types.BuildPhaseTypeProvisioning); p != nil && p.StartTime != nil {
		return *p.StartTime
	}
	return time.Time{}
}

// checkStartOrder fails unless builds (in submission order) left the queue
// in that order.
func checkStartOrder(t *testing.T, builds []types.Build) {
	t.Helper()
	for i := 1; i < len(builds); i++ {
		a, b := provisioningStart(builds[i-1]), provisioningStart(builds[i])
		if a.IsZero() || b.IsZero() || b.Before(a) {
			t.Fatalf("build #%d started at %v, before #%d at %v", *builds[i].BuildNumber, b, *builds[i-1].BuildNumber, a)
		}
	}
}

// cgdir is a shell function printing the build's cgroup directory of a
// controller, on cgroup v1, v2 or the hybrid: read from inside the build.
const cgdir = `cgdir() {
  p=$(awk -F: -v k="$1" '{n=split($2,a,","); for(i=1;i<=n;i++) if(a[i]==k) print $3}' /proc/self/cgroup)
  if [ -n "$p" ]; then
    for d in /sys/fs/cgroup/$1 /sys/fs/cgroup/*$1*; do [ -d "$d$p" ] && { echo "$d$p"; return; }; done
  fi
  p=$(awk -F: '$1 == 0 {print $3}' /proc/self/cgroup)
  for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do [ -f "$d$p/cgroup.procs" ] && { echo "$d$p"; return; }; done
}`

// limitsSpec prints the build's CPU, memory and pids limits from its own
// cgroup files, then spins two loops for two seconds and prints the CPU
// time they got (bash's times: children user and system; run in the shell
// itself, as a subshell has no children of its own) and how often the CPU
// quota throttled the build.
const limitsSpec = `version: 0.2
phases:
  build:
    commands:
      - |
        ` + "CGDIR" + `
        c=$(cgdir cpu); m=$(cgdir memory); p=$(cgdir pids)
        if [ -f "$c/cpu.cfs_quota_us" ]; then echo "CPU=$(cat $c/cpu.cfs_quota_us) $(cat $c/cpu.cfs_period_us)"; else echo "CPU=$(cat $c/cpu.max)"; fi
        if [ -f "$m/memory.limit_in_bytes" ]; then echo "MEM=$(cat $m/memory.limit_in_bytes)"; else echo "MEM=$(cat $m/memory.max)"; fi
        echo "PIDS=$(cat $p/pids.max)"
        timeout 2 sh -c 'while :; do :; done' & timeout 2 sh -c 'while :; do :; done' & wait
        times > /tmp/times; echo "SPUN=$(tail -n 1 /tmp/times)"
        echo "THROTTLED=$(awk '$1 == "nr_throttled" {print $2}' $c/cpu.stat)"
`

func withCgdir(spec string) string {
	return strings.Replace(spec, "CGDIR", strings.ReplaceAll(cgdir, "\n", "\n        "), 1)
}

// logValue returns the value after "KEY=" in a build's log.
func logValue(lines []string, key string) string {
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return v
		}
	}
	return ""
}

// spun parses the children's CPU times of bash's times ("0m1.204s 0m0.010s").
func spun(t *testing.T, v string) float64 {
	t.Helper()
	var total float64
	for _, f := range strings.Fields(v) {
		var m int
		var s float64
		if _, err := fmt.Sscanf(f, "%dm%fs", &m, &s); err != nil {
			t.Fatalf("times output %q: %v", v, err)
		}
		total += float64(m)*60 + s
	}
	return total
}

// hostMemory is this host's MemTotal in bytes, as a memory limit reads
// back (rounded down to pages).
func hostMemory(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10 &^ int64(os.Getpagesize()-1)
		}
	}
	t.Fatal("no MemTotal in /proc/meminfo")
	return 0
}

// hostPidMax is the kernel's pid_max: no pids limit is above it.
func hostPidMax(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Each compute type's CPU, memory and pids limits are in the build's own
// cgroup (read from inside the build), capped at the host, and the CPU
// quota really throttles it. 2XLARGE (72 vCPU, 145 GB) is more than this
// host has: it gets the host's CPUs and memory.
func TestComputeLimits(t *testing.T) {
	r := StartRunner(t)
	cb := r.CodeBuild()
	hostQuota := min(2, runtime.NumCPU()) * 100000
	for _, c := range []struct {
		name      string
		env       *types.ProjectEnvironment
		cpu, mem  string
		pids      string
		throttled bool
	}{
		{"small", containerEnv(types.ComputeTypeBuildGeneral1Small), fmt.Sprint(hostQuota), fmt.Sprint(int64(3) << 30), "8192", runtime.NumCPU() <= 1},
		{"lambda", lambdaEnv(types.ComputeTypeBuildLambda1gb), "60000", fmt.Sprint(int64(1) << 30), "1024", true},
		{"2xlarge", containerEnv(types.ComputeTypeBuildGeneral12xlarge), fmt.Sprint(runtime.NumCPU() * 100000), fmt.Sprint(hostMemory(t)), fmt.Sprint(min(72*4096, hostPidMax(t))), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "2xlarge" && (runtime.NumCPU() >= 72 || hostMemory(t) >= 145<<30) {
				t.Skip("this host is not smaller than 2XLARGE: nothing to cap")
			}
			createProjectWith(t, cb, "limits-"+c.name, withCgdir(limitsSpec), c.env, nil)
			b := WaitBuild(t, cb, startBuild(t, cb, "limits-"+c.name), 60*time.Second)
			log := BuildLog(t, r, b)
			if b.BuildStatus != types.StatusTypeSucceeded {
				t.Fatalf("status %s\n%s", b.BuildStatus, strings.Join(log, "\n"))
			}
			cpu := logValue(log, "CPU")
			if !strings.HasPrefix(cpu, c.cpu+" 100000") {
				t.Errorf("CPU quota %q, want %s per 100000", cpu, c.cpu)
			}
			if got := logValue(log, "MEM"); got != c.mem {
				t.Errorf("memory limit %q, want %s", got, c.mem)
			}
			if got := logValue(log, "PIDS"); got != c.pids {
				t.Errorf("pids.max %q, want %s", got, c.pids)
			}
			// Two loops want two CPUs for two seconds; the quota lets them
			// have quota × 2 s at most. A loaded host may give them less
			// anyway, and then nothing needs throttling.
			quota, _ := strconv.ParseFloat(c.cpu, 64)
			allowed := quota / 100000 * 2
			used := spun(t, logValue(log, "SPUN"))
			throttled, _ := strconv.Atoi(logValue(log, "THROTTLED"))
			t.Logf("spinning got %.2f s of CPU (quota allows %.2f s), throttled %d times", used, allowed, throttled)
			if used > allowed*1.15+0.1 {
				t.Errorf("spinning got %.2f s of CPU, over the quota's %.2f s", used, allowed)
			}
			if c.throttled && throttled == 0 && used > allowed*0.8 {
				t.Errorf("spinning got %.2f s of CPU, near the quota, and was never throttled", used)
			}
		})
	}
}

// A build that allocates more than its compute type's memory is killed by
// the OOM killer, and ends FAILED with a context that says so: whether the
// memory hog is a command's process or the build's shell itself. A command
// that fails after an earlier OOM kill the build survived is not blamed on
// memory.
func TestOutOfMemory(t *testing.T) {
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("needs perl")
	}
	r := StartRunner(t)
	cb := r.CodeBuild()
	const hog = `perl -e '$x = "a" x (1536*1024*1024); print "allocated\n"'`
	for _, c := range []struct {
		name, spec string
		oom        bool
	}{
		{"process", "version: 0.2\nphases:\n  build:\n    commands:\n      - " + hog + "\n      - echo after-the-hog\n", true},
		// exec makes the build's shell itself the hog: the kernel kills the
		// shell, not a child of it (as when a shell variable outgrows the
		// memory, only faster).
		{"shell", "version: 0.2\nphases:\n  build:\n    commands:\n      - exec " + hog + "\n      - echo after-the-hog\n  post_build:\n    commands:\n      - echo post-build-ran\n", true},
		{"survived", "version: 0.2\nphases:\n  install:\n    commands:\n      - " + hog + " || echo survived\n  build:\n    commands:\n      - sh -c 'exit 3'\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			createProjectWith(t, cb, "hog-"+c.name, c.spec, lambdaEnv(types.ComputeTypeBuildLambda1gb), nil)
			b := WaitBuild(t, cb, startBuild(t, cb, "hog-"+c.name), 60*time.Second)
			log := BuildLog(t, r, b)
			if b.BuildStatus != types.StatusTypeFailed {
				t.Fatalf("status %s\n%s", b.BuildStatus, strings.Join(log, "\n"))
			}
			p := phase(b, types.BuildPhaseTypeBuild)
			if p == nil || p.PhaseStatus != types.StatusTypeFailed || len(p.Contexts) == 0 {
				t.Fatalf("BUILD phase %+v", p)
			}
			msg := aws.ToString(p.Contexts[0].Message)
			if said := strings.Contains(msg, "out of memory") && strings.Contains(msg, "BUILD_LAMBDA_1GB memory limit of 1024 MB"); said != c.oom {
				t.Errorf("BUILD phase context %q: says out of memory %v, want %v", msg, said, c.oom)
			}
			if hasLine(log, "allocated") || hasLine(log, "after-the-hog") {
				t.Errorf("the hog was not stopped:\n%s", strings.Join(log, "\n"))
			}
			if c.name == "shell" && !hasLine(log, "post-build-ran") {
				t.Errorf("POST_BUILD did not run in a new shell after the OOM kill:\n%s", strings.Join(log, "\n"))
			}
			if !c.oom && (!hasLine(log, "survived") || !strings.Contains(msg, "exit status 3")) {
				t.Errorf("BUILD context %q; log:\n%s", msg, strings.Join(log, "\n"))
			}
		})
	}
}

// A fork bomb stops at the build's pids limit: the build and the runner
// carry on (another build runs meanwhile), and nothing of it is left after.
// It runs on BUILD_LAMBDA_1GB: 1,024 pids, and its 0.6 vCPU quota keeps the
// bomb from taking the host's CPU from everything else.
func TestForkBomb(t *testing.T) {
	r := StartRunner(t)
	cb := r.CodeBuild()
	m := marker(t)
	createProjectWith(t, cb, "bomb", withCgdir(`version: 0.2
phases:
  build:
    commands:
      - |
        CGDIR
        p=$(cgdir pids)
        mkfifo /tmp/wait
        setsid bash -c "exec -a `+m+` bash -c 'b() { b & b & wait; }; b'" 2>/dev/null &
        bomb=$!
        # Builtins only from here: the bomb holds every pid the build has.
        for ((i = 0; i < 300; i++)); do read -r _ ev < "$p/pids.events"; [ "$ev" != 0 ] && break; read -t 0.1 <> /tmp/wait; done
        read -t 3 <> /tmp/wait
        read -r max < "$p/pids.max"; read -r cur < "$p/pids.current"; read -r _ ev < "$p/pids.events"
        echo "BOMB=max $max current $cur refused $ev"
        kill -KILL -- -$bomb
      - echo after-the-bomb
`), lambdaEnv(types.ComputeTypeBuildLambda1gb), nil)
	createProjectWith(t, cb, "bystander", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo still-fine\n", containerEnv(types.ComputeTypeBuildGeneral1Small), nil)
	id := startBuild(t, cb, "bomb")
	waitFor(t, 20*time.Second, "the bomb to spread", func() bool { return len(hostProcesses(m)) > 200 })
	// The runner is unharmed: API calls and another build go on.
	began := time.Now()
	other := WaitBuild(t, cb, startBuild(t, cb, "bystander"), 30*time.Second)
	if other.BuildStatus != types.StatusTypeSucceeded || !hasLine(BuildLog(t, r, other), "still-fine") {
		t.Errorf("a build during the bomb: %s", other.BuildStatus)
	}
	t.Logf("a build during the bomb took %v", time.Since(began))
	b := WaitBuild(t, cb, id, 60*time.Second)
	log := BuildLog(t, r, b)
	v := logValue(log, "BOMB")
	var max, cur, refused int
	if _, err := fmt.Sscanf(v, "max %d current %d refused %d", &max, &cur, &refused); err != nil || max != 1024 || cur > max || refused == 0 {
		t.Fatalf("bomb report %q (%v); status %s\n%s", v, err, b.BuildStatus, strings.Join(log, "\n"))
	}
	if b.BuildStatus != types.StatusTypeSucceeded || !hasLine(log, "after-the-bomb") {
		t.Errorf("status %s; the build did not go on after the bomb", b.BuildStatus)
	}
	waitFor(t, 10*time.Second, "the bomb to be gone", func() bool { return len(hostProcesses(m)) == 0 })
}

// On-demand builds start while their compute size fits the host times the
// over-commit factor; the rest wait in QUEUED and start in order.
// queuedTimeoutInMinutes (project and override) ends a waiting build
// TIMED_OUT in QUEUED; StopBuild ends one STOPPED there.
func TestOnDemandCapacity(t *testing.T) {
	// Factor 1: a MEDIUM build (4 vCPU, capped at the host) takes the whole
	// host, so MEDIUM builds run one at a time on any machine. A minute is
	// 100 ms: the smallest queued timeout (5) is half a second.
	r := StartRunner(t, "--overcommit", "1", "--minute", "100ms")
	cb := r.CodeBuild()
	createProjectWith(t, cb, "whole-host", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 0.7\n", containerEnv(types.ComputeTypeBuildGeneral1Medium), nil)
	var mu sync.Mutex
	var ids []string
	s := sampleRunning(t, cb, func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(ids) })
	for range 3 {
		id := startBuild(t, cb, "whole-host")
		mu.Lock()
		ids = append(ids, id)
		mu.Unlock()
	}
	if b := getBuild(t, cb, ids[2]); aws.ToString(b.CurrentPhase) != "QUEUED" {
		t.Errorf("third build in %s, want QUEUED", aws.ToString(b.CurrentPhase))
	}
	for _, id := range ids {
		if b := WaitBuild(t, cb, id, 30*time.Second); b.BuildStatus != types.StatusTypeSucceeded {
			t.Fatalf("build %s: %s", id, b.BuildStatus)
		}
	}
	s.Stop()
	if got := s.max.Load(); got != 1 {
		t.Errorf("%d whole-host builds ran at once over %d samples, want 1", got, s.samples.Load())
	}
	checkStartOrder(t, buildsNow(t, cb, ids))

	// Queued timeouts, from the project and from an override.
	createProjectWith(t, cb, "blocker", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 30\n", containerEnv(types.ComputeTypeBuildGeneral1Medium), nil)
	createProjectWith(t, cb, "impatient", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ran\n", containerEnv(types.ComputeTypeBuildGeneral1Medium),
		func(in *codebuild.CreateProjectInput) { in.QueuedTimeoutInMinutes = aws.Int32(5) })
	blocker := startBuild(t, cb, "blocker")
	waitBuildPhase(t, cb, blocker, "BUILD")
	fromProject := startBuild(t, cb, "impatient")
	out, err := cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("whole-host"), QueuedTimeoutInMinutesOverride: aws.Int32(6)})
	if err != nil {
		t.Fatal(err)
	}
	fromOverride := aws.ToString(out.Build.Id)
	if aws.ToInt32(out.Build.QueuedTimeoutInMinutes) != 6 {
		t.Errorf("queuedTimeoutInMinutes %d, want the override 6", aws.ToInt32(out.Build.QueuedTimeoutInMinutes))
	}
	stopped := startBuild(t, cb, "whole-host")
	for _, c := range []struct {
		id   string
		wait time.Duration
	}{{fromProject, 500 * time.Millisecond}, {fromOverride, 600 * time.Millisecond}} {
		b := WaitBuild(t, cb, c.id, 10*time.Second)
		q := phase(b, types.BuildPhaseTypeQueued)
		if b.BuildStatus != types.StatusTypeTimedOut || q == nil || q.PhaseStatus != types.StatusTypeTimedOut || phase(b, types.BuildPhaseTypeProvisioning) != nil {
			t.Errorf("queued timeout: status %s, phases %+v", b.BuildStatus, b.Phases)
		}
		if waited := b.EndTime.Sub(*b.StartTime); waited < c.wait-50*time.Millisecond || waited > c.wait+2*time.Second {
			t.Errorf("expired after %v, want about %v", waited, c.wait)
		}
	}
	// A build waiting for a fleet's machine expires the same way.
	f := createFleet(t, cb, "busy", 1, types.FleetOverflowBehaviorQueue)
	createProjectWith(t, cb, "fleet-holder", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 30\n", containerEnv(types.ComputeTypeBuildGeneral1Small),
		func(in *codebuild.CreateProjectInput) { in.Environment.Fleet = &types.ProjectFleet{FleetArn: f.Arn} })
	holder := startBuild(t, cb, "fleet-holder")
	waitBuildPhase(t, cb, holder, "BUILD")
	out, err = cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("fleet-holder"), QueuedTimeoutInMinutesOverride: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	fb := WaitBuild(t, cb, aws.ToString(out.Build.Id), 10*time.Second)
	if q := phase(fb, types.BuildPhaseTypeQueued); fb.BuildStatus != types.StatusTypeTimedOut || q == nil || q.PhaseStatus != types.StatusTypeTimedOut {
		t.Errorf("queued timeout on a fleet: %s %+v", fb.BuildStatus, fb.Phases)
	}
	if fl, _ := fleetNow(t, cb, aws.ToString(f.Arn)); aws.ToString(fl.Status.Message) != "running 1/1, queued 0" {
		t.Errorf("fleet after the queued timeout: %+v", fl.Status)
	}
	if _, err := cb.StopBuild(bg, &codebuild.StopBuildInput{Id: aws.String(holder)}); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	st, err := cb.StopBuild(bg, &codebuild.StopBuildInput{Id: aws.String(stopped)})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 2*time.Second || st.Build.BuildStatus != types.StatusTypeStopped {
		t.Errorf("stopping a queued build: %s after %v", st.Build.BuildStatus, took)
	}
	if q := phase(*st.Build, types.BuildPhaseTypeQueued); q == nil || q.PhaseStatus != types.StatusTypeStopped || phase(*st.Build, types.BuildPhaseTypeProvisioning) != nil {
		t.Errorf("stopped queued build phases %+v", st.Build.Phases)
	}
	if _, err := cb.StopBuild(bg, &codebuild.StopBuildInput{Id: aws.String(blocker)}); err != nil {
		t.Fatal(err)
	}
	// The queued timeout is the queue's: a build that left the queue runs
	// past it (here 1.5 s against 0.5 s).
	createProjectWith(t, cb, "runs-past-queue-timeout", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 1.5\n", containerEnv(types.ComputeTypeBuildGeneral1Medium),
		func(in *codebuild.CreateProjectInput) { in.QueuedTimeoutInMinutes = aws.Int32(5) })
	if b := WaitBuild(t, cb, startBuild(t, cb, "runs-past-queue-timeout"), 30*time.Second); b.BuildStatus != types.StatusTypeSucceeded {
		t.Errorf("a running build past its queued timeout: %s %+v", b.BuildStatus, b.Phases)
	}
}

// The over-commit factor is the server's: with --overcommit 2, builds may
// reserve twice the host, so two MEDIUM builds (4 vCPU, capped at the
// host's CPUs) run side by side and the third waits for one of them.
func TestOvercommitFactor(t *testing.T) {
	if runtime.NumCPU() >= 4 {
		t.Skip("MEDIUM is capped at the host only on hosts under 4 CPUs")
	}
	r := StartRunner(t, "--overcommit", "2")
	cb := r.CodeBuild()
	createProjectWith(t, cb, "twice", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 1.5\n", containerEnv(types.ComputeTypeBuildGeneral1Medium), nil)
	var ids []string
	for range 3 {
		ids = append(ids, startBuild(t, cb, "twice"))
	}
	s := sampleRunning(t, cb, func() []string { return ids })
	for _, id := range ids {
		if b := WaitBuild(t, cb, id, 30*time.Second); b.BuildStatus != types.StatusTypeSucceeded {
			t.Fatalf("build %s: %s", id, b.BuildStatus)
		}
	}
	s.Stop()
	builds := buildsNow(t, cb, ids)
	if got := maxOverlap(builds); got != 2 || s.max.Load() > 2 {
		t.Errorf("%d MEDIUM builds ran at once by their records (%d sampled), want 2 with --overcommit 2", got, s.max.Load())
	}
	checkStartOrder(t, builds)
}

// queuedTimeoutInMinutes counts from StartBuild, also across a runner
// restart: a queued build whose time ran out while the runner was down
// ends TIMED_OUT in QUEUED when it comes back, though there is room for it
// then; one with time left runs.
func TestQueuedTimeoutAcrossRestart(t *testing.T) {
	// A minute is 200 ms: the smallest queued timeout (5) is one second.
	r := StartRunner(t, "--overcommit", "1", "--minute", "200ms")
	cb := r.CodeBuild()
	createProjectWith(t, cb, "hold", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 30\n", containerEnv(types.ComputeTypeBuildGeneral1Medium), nil)
	createProjectWith(t, cb, "short-wait", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ran\n", containerEnv(types.ComputeTypeBuildGeneral1Medium),
		func(in *codebuild.CreateProjectInput) { in.QueuedTimeoutInMinutes = aws.Int32(5) })
	createProjectWith(t, cb, "long-wait", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ran\n", containerEnv(types.ComputeTypeBuildGeneral1Medium),
		func(in *codebuild.CreateProjectInput) { in.QueuedTimeoutInMinutes = aws.Int32(100) })
	hold := startBuild(t, cb, "hold")
	waitBuildPhase(t, cb, hold, "BUILD")
	short, long := startBuild(t, cb, "short-wait"), startBuild(t, cb, "long-wait")
	r.Kill9()
	time.Sleep(1500 * time.Millisecond)
	r.Start()
	cb = r.CodeBuild()
	sb := WaitBuild(t, cb, short, 10*time.Second)
	if q := phase(sb, types.BuildPhaseTypeQueued); sb.BuildStatus != types.StatusTypeTimedOut || q == nil || q.PhaseStatus != types.StatusTypeTimedOut ||
		phase(sb, types.BuildPhaseTypeProvisioning) != nil {
		t.Errorf("build past its queued timeout after the restart: %s %+v", sb.BuildStatus, sb.Phases)
	}
	if lb := WaitBuild(t, cb, long, 30*time.Second); lb.BuildStatus != types.StatusTypeSucceeded {
		t.Errorf("build with queue time left after the restart: %s %+v", lb.BuildStatus, lb.Phases)
	}
}

// createFleet makes a fleet of this host's container type.
func createFleet(t testing.TB, cb *codebuild.Client, name string, capacity int32, overflow types.FleetOverflowBehavior) types.Fleet {
	t.Helper()
	out, err := cb.CreateFleet(bg, &codebuild.CreateFleetInput{
		Name: aws.String(name), BaseCapacity: aws.Int32(capacity), EnvironmentType: hostEnvironmentType(),
		ComputeType: types.ComputeTypeBuildGeneral1Small, OverflowBehavior: overflow,
	})
	if err != nil {
		t.Fatalf("create fleet %s: %v", name, err)
	}
	return *out.Fleet
}

func fleetNow(t testing.TB, cb *codebuild.Client, arn string) (types.Fleet, bool) {
	t.Helper()
	out, err := cb.BatchGetFleets(bg, &codebuild.BatchGetFleetsInput{Names: []string{arn}})
	if err != nil {
		t.Fatalf("batch get fleets: %v", err)
	}
	if len(out.Fleets) == 0 {
		return types.Fleet{}, false
	}
	return out.Fleets[0], true
}

// fleetLoadBuilds is how many builds TestFleetLoad puts on a fleet of 4.
const fleetLoadBuilds = 200

// 200 builds started at once onto a fleet of base capacity 4: sampled all
// along, never more than 4 run; all succeed, in submission order.
func TestFleetLoad(t *testing.T) {
	r := StartRunner(t)
	cb := r.CodeBuild()
	f := createFleet(t, cb, "load", 4, types.FleetOverflowBehaviorQueue)
	createProjectWith(t, cb, "load", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo load\n", containerEnv(types.ComputeTypeBuildGeneral1Small),
		func(in *codebuild.CreateProjectInput) { in.Environment.Fleet = &types.ProjectFleet{FleetArn: f.Arn} })
	began := time.Now()
	var mu sync.Mutex
	var ids []string
	s := sampleRunning(t, cb, func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(ids) })
	var fleetMax atomic.Int64
	stopFleet := make(chan struct{})
	fleetDone := make(chan struct{})
	go func() {
		defer close(fleetDone)
		for {
			select {
			case <-stopFleet:
				return
			default:
			}
			if fl, ok := fleetNow(t, cb, aws.ToString(f.Arn)); ok {
				var run, machines, queued int
				if _, err := fmt.Sscanf(aws.ToString(fl.Status.Message), "running %d/%d, queued %d", &run, &machines, &queued); err == nil && int64(run) > fleetMax.Load() {
					fleetMax.Store(int64(run))
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	// Started at once: many clients, submission order by build number.
	var wg sync.WaitGroup
	var left atomic.Int64
	left.Store(fleetLoadBuilds)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				out, err := cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("load")})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids = append(ids, aws.ToString(out.Build.Id))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	submitted := time.Since(began)
	mu.Lock()
	all := slices.Clone(ids)
	mu.Unlock()
	for _, id := range all {
		WaitBuild(t, cb, id, 120*time.Second)
	}
	wall := time.Since(began)
	s.Stop()
	close(stopFleet)
	<-fleetDone
	builds := buildsNow(t, cb, all)
	slices.SortFunc(builds, func(a, b types.Build) int { return int(*a.BuildNumber - *b.BuildNumber) })
	for _, b := range builds {
		if b.BuildStatus != types.StatusTypeSucceeded {
			t.Fatalf("build #%d: %s", *b.BuildNumber, b.BuildStatus)
		}
		if aws.ToString(b.Environment.Fleet.FleetArn) != aws.ToString(f.Arn) {
			t.Fatalf("build #%d not on the fleet: %+v", *b.BuildNumber, b.Environment.Fleet)
		}
	}
	if got := s.max.Load(); got > 4 || got == 0 {
		t.Errorf("%d builds running at once (%d samples), want at most 4", got, s.samples.Load())
	}
	if got := fleetMax.Load(); got > 4 || got == 0 {
		t.Errorf("fleet reported %d running at once, want at most 4", got)
	}
	if got := maxOverlap(builds); got > 4 {
		t.Errorf("the builds' own times show %d running at once, want at most 4", got)
	}
	checkStartOrder(t, builds)
	if lines := BuildLog(t, r, builds[len(builds)-1]); !hasLine(lines, "load") || !containsLine(lines, "Running on Hangar fleet load") {
		t.Errorf("last build's log:\n%s", strings.Join(lines, "\n"))
	}
	t.Logf("%d builds on a fleet of 4: submitted in %v, all done in %v; most running at once %d (%d samples)",
		len(builds), submitted.Round(time.Millisecond), wall.Round(time.Millisecond), s.max.Load(), s.samples.Load())
}

// hangarFleets runs `hangar fleets` against the runner.
func hangarFleets(t *testing.T, r *Runner, args ...string) string {
	t.Helper()
	cmd := exec.Command(hangarBin, append([]string{"--target", "server", "--endpoint", r.Endpoint, "-C", t.TempDir(), "fleets"}, args...)...)
	cmd.Env = append(r.CLIEnv(), "AWS_PROFILE=default")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hangar fleets: %v\n%s", err, out)
	}
	return string(out)
}

// Fleets: a project's fleet runs its builds on the fleet's machines, one
// build per machine, the rest waiting (counts visible in BatchGetFleets and
// `hangar fleets`); UpdateFleet's new capacity takes effect at once;
// ON_DEMAND overflow runs on on-demand capacity; a build's fleetOverride
// must name a fleet; DeleteFleet of a fleet in use waits for its builds;
// a fleet this host cannot be fails to create.
func TestFleets(t *testing.T) {
	r := StartRunner(t)
	cb := r.CodeBuild()
	m := marker(t)
	f := createFleet(t, cb, "one", 1, types.FleetOverflowBehaviorQueue)
	arn := aws.ToString(f.Arn)
	if f.Status.StatusCode != types.FleetStatusCodeActive || aws.ToString(f.Status.Message) != "running 0/1, queued 0" {
		t.Errorf("new fleet status %+v", f.Status)
	}
	spec := fmt.Sprintf("version: 0.2\nphases:\n  build:\n    commands:\n      - bash -c 'exec -a %s sleep 30'\n", m)
	createProjectWith(t, cb, "on-fleet", spec, containerEnv(types.ComputeTypeBuildGeneral1Medium),
		func(in *codebuild.CreateProjectInput) { in.Environment.Fleet = &types.ProjectFleet{FleetArn: f.Arn} })
	first := startBuild(t, cb, "on-fleet")
	waitBuildPhase(t, cb, first, "BUILD")
	second := startBuild(t, cb, "on-fleet")
	time.Sleep(300 * time.Millisecond)
	if b := getBuild(t, cb, second); aws.ToString(b.CurrentPhase) != "QUEUED" {
		t.Fatalf("second build on a fleet of 1 in %s, want QUEUED", aws.ToString(b.CurrentPhase))
	}
	b := getBuild(t, cb, first)
	if b.Environment.ComputeType != types.ComputeTypeBuildGeneral1Small || aws.ToString(b.Environment.Fleet.FleetArn) != arn {
		t.Errorf("build environment %+v: want the fleet's SMALL compute", b.Environment)
	}
	if !containsLine(BuildLog(t, r, b), "Running on Hangar fleet one") {
		t.Errorf("first build's log does not name the fleet")
	}
	if fl, _ := fleetNow(t, cb, arn); aws.ToString(fl.Status.Message) != "running 1/1, queued 1" {
		t.Errorf("fleet status %+v", fl.Status)
	}
	if out := hangarFleets(t, r); !regexp.MustCompile(`(?m)^one\s+ACTIVE\s+1\s+1\s+1\s`).MatchString(out) {
		t.Errorf("hangar fleets:\n%s", out)
	}
	// Growing the fleet starts the waiting build now.
	if _, err := cb.UpdateFleet(bg, &codebuild.UpdateFleetInput{Arn: f.Arn, BaseCapacity: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	waitBuildPhase(t, cb, second, "BUILD")
	if fl, _ := fleetNow(t, cb, arn); aws.ToString(fl.Status.Message) != "running 2/2, queued 0" {
		t.Errorf("fleet status after growing %+v", fl.Status)
	}

	// Deleting it while in use: PENDING_DELETION until its builds are over.
	if _, err := cb.DeleteFleet(bg, &codebuild.DeleteFleetInput{Arn: f.Arn}); err != nil {
		t.Fatal(err)
	}
	if fl, ok := fleetNow(t, cb, arn); !ok || fl.Status.StatusCode != types.FleetStatusCodePendingDeletion {
		t.Fatalf("fleet in use after DeleteFleet: %+v", fl.Status)
	}
	for _, id := range []string{first, second} {
		if _, err := cb.StopBuild(bg, &codebuild.StopBuildInput{Id: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "the fleet to be gone", func() bool { _, ok := fleetNow(t, cb, arn); return !ok })
	_, err := cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("on-fleet")})
	WantAPIError(t, err, "ResourceNotFoundException", arn)
	waitFor(t, 5*time.Second, "the fleet's builds' processes to be gone", func() bool { return len(hostProcesses(m)) == 0 })

	// ON_DEMAND overflow: the second build runs at once, on demand.
	od := createFleet(t, cb, "spill", 1, types.FleetOverflowBehaviorOnDemand)
	createProjectWith(t, cb, "spiller", spec, containerEnv(types.ComputeTypeBuildGeneral1Small), nil)
	over := &types.ProjectFleet{FleetArn: od.Arn}
	var spilled []string
	for range 2 {
		out, err := cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("spiller"), FleetOverride: over})
		if err != nil {
			t.Fatal(err)
		}
		spilled = append(spilled, aws.ToString(out.Build.Id))
	}
	for _, id := range spilled {
		waitBuildPhase(t, cb, id, "BUILD")
	}
	if !containsLine(BuildLog(t, r, getBuild(t, cb, spilled[1])), "Running on Hangar On-demand") {
		t.Errorf("overflow build did not run on demand")
	}
	for _, id := range spilled {
		cb.StopBuild(bg, &codebuild.StopBuildInput{Id: aws.String(id)})
	}
	// fleetOverride of a fleet that does not exist.
	missing := strings.Replace(aws.ToString(od.Arn), "fleet/spill:", "fleet/nope:", 1)
	_, err = cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("spiller"), FleetOverride: &types.ProjectFleet{FleetArn: aws.String(missing)}})
	WantAPIError(t, err, "ResourceNotFoundException", "Fleet cannot be found: "+missing)

	// A fleet of machines this host cannot be: CREATE_FAILED, and its builds
	// fail at PROVISIONING saying why.
	out, err := cb.CreateFleet(bg, &codebuild.CreateFleetInput{Name: aws.String("foreign"), BaseCapacity: aws.Int32(1),
		EnvironmentType: foreignEnvironmentType(), ComputeType: types.ComputeTypeBuildGeneral1Small})
	if err != nil {
		t.Fatal(err)
	}
	if st := out.Fleet.Status; st.StatusCode != types.FleetStatusCodeCreateFailed || !strings.Contains(aws.ToString(st.Message), runtime.GOARCH) {
		t.Errorf("foreign fleet status %+v", st)
	}
	fo, err := cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("spiller"), FleetOverride: &types.ProjectFleet{FleetArn: out.Fleet.Arn}})
	if err != nil {
		t.Fatal(err)
	}
	fb := WaitBuild(t, cb, aws.ToString(fo.Build.Id), 10*time.Second)
	if p := phase(fb, types.BuildPhaseTypeProvisioning); fb.BuildStatus != types.StatusTypeFailed || p == nil || len(p.Contexts) == 0 || aws.ToString(p.Contexts[0].StatusCode) != "CLIENT_ERROR" {
		t.Errorf("build on the foreign fleet: %s %+v", fb.BuildStatus, p)
	}
	if out := hangarFleets(t, r, "-o", "json"); !strings.Contains(out, `"status": "CREATE_FAILED"`) || !strings.Contains(out, `"name": "spill"`) {
		t.Errorf("hangar fleets -o json:\n%s", out)
	}
}

// A project's concurrentBuildLimit: StartBuild beyond it fails with
// AccountLimitExceededException; once a build is over there is room again.
func TestConcurrentBuildLimit(t *testing.T) {
	r := StartRunner(t)
	cb := r.CodeBuild()
	createProjectWith(t, cb, "solo", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 30\n", containerEnv(types.ComputeTypeBuildGeneral1Small),
		func(in *codebuild.CreateProjectInput) { in.ConcurrentBuildLimit = aws.Int32(1) })
	first := startBuild(t, cb, "solo")
	_, err := cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("solo")})
	WantAPIError(t, err, "AccountLimitExceededException", "Cannot have more than 1 active builds for the project")
	var le *types.AccountLimitExceededException
	if !errors.As(err, &le) {
		t.Errorf("the SDK does not see an AccountLimitExceededException: %T", err)
	}
	if _, err := cb.StopBuild(bg, &codebuild.StopBuildInput{Id: aws.String(first)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("solo")}); err != nil {
		t.Errorf("StartBuild after the first build ended: %v", err)
	}
}

// sourceTarGz is a tar.gz of many empty files: unpacking it keeps a build
// in DOWNLOAD_SOURCE for a while, on any disk.
func sourceTarGz(t testing.TB, files int, spec string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	add := func(name, body string) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	add("buildspec.yml", spec)
	for i := range files {
		add(fmt.Sprintf("d%03d/f%06d", i/1000, i), "")
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// putSlowSource uploads a slow-to-unpack source and makes a project of it.
func putSlowSource(t testing.TB, r *Runner, cb *codebuild.Client, project string) {
	t.Helper()
	s3c := r.S3()
	if _, err := s3c.CreateBucket(bg, &s3.CreateBucketInput{Bucket: aws.String("slow-" + project)}); err != nil {
		t.Fatal(err)
	}
	body := sourceTarGz(t, 150000, "version: 0.2\nphases:\n  build:\n    commands:\n      - echo unpacked\n")
	if _, err := s3c.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("slow-" + project), Key: aws.String("src.tar.gz"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	_, err := cb.CreateProject(bg, &codebuild.CreateProjectInput{
		Name:        aws.String(project),
		Source:      &types.ProjectSource{Type: types.SourceTypeS3, Location: aws.String("slow-" + project + "/src.tar.gz")},
		Artifacts:   &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts},
		Environment: containerEnv(types.ComputeTypeBuildGeneral1Small),
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/hangar-test"),
	})
	if err != nil {
		t.Fatal(err)
	}
}

// phaseSpec is a buildspec whose phase `at` runs a marked process tree (a
// child trapping SIGTERM, a nohup daemon) until killed; the other phases
// are quick.
func phaseSpec(m, at string) string {
	var sb strings.Builder
	sb.WriteString("version: 0.2\nphases:\n")
	for _, p := range []string{"install", "pre_build", "build", "post_build"} {
		fmt.Fprintf(&sb, "  %s:\n    commands:\n", p)
		if p == at {
			fmt.Fprintf(&sb, "      - nohup bash -c 'exec -a %[1]s-daemon sleep 300' >/dev/null 2>&1 &\n", m)
			fmt.Fprintf(&sb, "      - bash -c 'trap \"\" TERM; exec -a %[1]s-stubborn sleep 300' &\n", m)
			fmt.Fprintf(&sb, "      - bash -c 'exec -a %[1]s-main sleep 300'\n", m)
		} else {
			fmt.Fprintf(&sb, "      - echo %s-ran\n", p)
		}
	}
	return sb.String()
}

var phaseOfSpec = map[string]types.BuildPhaseType{
	"install": types.BuildPhaseTypeInstall, "pre_build": types.BuildPhaseTypePreBuild,
	"build": types.BuildPhaseTypeBuild, "post_build": types.BuildPhaseTypePostBuild,
}

// checkEndedIn checks a build ended with status in phase p, FINALIZING
// recorded and nothing after p run.
func checkEndedIn(t *testing.T, b types.Build, status types.StatusType, p types.BuildPhaseType) {
	t.Helper()
	if b.BuildStatus != status || !b.BuildComplete {
		t.Fatalf("build %s complete %v, want %s", b.BuildStatus, b.BuildComplete, status)
	}
	last := phase(b, p)
	if last == nil || last.PhaseStatus != status {
		t.Fatalf("%s phase %+v, want %s; phases %+v", p, last, status, b.Phases)
	}
	var after []string
	seen := false
	for _, ph := range b.Phases {
		if seen && ph.PhaseType != types.BuildPhaseTypeFinalizing && ph.PhaseType != types.BuildPhaseTypeCompleted {
			after = append(after, string(ph.PhaseType))
		}
		seen = seen || ph.PhaseType == p
	}
	if len(after) > 0 || phase(b, types.BuildPhaseTypeFinalizing) == nil {
		t.Errorf("phases after %s: %v; FINALIZING %+v", p, after, phase(b, types.BuildPhaseTypeFinalizing))
	}
}

// timeoutInMinutes ends a build TIMED_OUT in whatever phase it is in: that
// phase TIMED_OUT, FINALIZING still recorded, its whole tree gone.
func TestTimeoutAtEveryPhase(t *testing.T) {
	// One minute is 200 ms: the smallest timeout (5) is one second.
	r := StartRunner(t, "--minute", "200ms", "--overcommit", "8")
	cb := r.CodeBuild()
	putSlowSource(t, r, cb, "slow-timeout")
	t.Run("download_source", func(t *testing.T) {
		t.Parallel()
		out, err := cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("slow-timeout"), TimeoutInMinutesOverride: aws.Int32(5)})
		if err != nil {
			t.Fatal(err)
		}
		b := WaitBuild(t, cb, aws.ToString(out.Build.Id), 60*time.Second)
		checkEndedIn(t, b, types.StatusTypeTimedOut, types.BuildPhaseTypeDownloadSource)
	})
	for _, at := range []string{"install", "pre_build", "build", "post_build"} {
		t.Run(at, func(t *testing.T) {
			t.Parallel()
			m := marker(t)
			createProjectWith(t, cb, "timeout-"+strings.ReplaceAll(at, "_", "-"), phaseSpec(m, at), containerEnv(types.ComputeTypeBuildGeneral1Small),
				func(in *codebuild.CreateProjectInput) { in.TimeoutInMinutes = aws.Int32(5) })
			id := startBuild(t, cb, "timeout-"+strings.ReplaceAll(at, "_", "-"))
			b := WaitBuild(t, cb, id, 30*time.Second)
			checkEndedIn(t, b, types.StatusTypeTimedOut, phaseOfSpec[at])
			if procs := hostProcesses(m); len(procs) != 0 {
				t.Errorf("processes left after the timeout: %v", procs)
			}
			if took := b.EndTime.Sub(*b.StartTime); took > 5*time.Second {
				t.Errorf("a 1 s timeout ended the build after %v", took)
			}
		})
	}
}

// StopBuild at any phase ends the build STOPPED within 2 seconds with its
// whole tree gone (the child trapping SIGTERM and the daemon too); stopping
// it again returns it unchanged.
func TestStopAtEveryPhase(t *testing.T) {
	r := StartRunner(t, "--overcommit", "8")
	cb := r.CodeBuild()
	putSlowSource(t, r, cb, "slow-stop")
	stop := func(t *testing.T, id string) types.Build {
		t.Helper()
		began := time.Now()
		out, err := cb.StopBuild(bg, &codebuild.StopBuildInput{Id: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(began); took > 2*time.Second {
			t.Errorf("StopBuild took %v", took)
		}
		again, err := cb.StopBuild(bg, &codebuild.StopBuildInput{Id: aws.String(id)})
		if err != nil || again.Build.BuildStatus != out.Build.BuildStatus || !again.Build.EndTime.Equal(*out.Build.EndTime) || len(again.Build.Phases) != len(out.Build.Phases) {
			t.Errorf("StopBuild of a stopped build changed it: %+v %v", again, err)
		}
		return *out.Build
	}
	t.Run("finished", func(t *testing.T) {
		t.Parallel()
		createProjectWith(t, cb, "stop-finished", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo done\n", containerEnv(types.ComputeTypeBuildGeneral1Small), nil)
		done := WaitBuild(t, cb, startBuild(t, cb, "stop-finished"), 30*time.Second)
		out, err := cb.StopBuild(bg, &codebuild.StopBuildInput{Id: done.Id})
		if err != nil {
			t.Fatal(err)
		}
		got := *out.Build
		if got.BuildStatus != types.StatusTypeSucceeded || !got.EndTime.Equal(*done.EndTime) || len(got.Phases) != len(done.Phases) ||
			aws.ToString(got.CurrentPhase) != "COMPLETED" {
			t.Errorf("StopBuild of a SUCCEEDED build changed it: %s %s %v, %d phases (was %d)", got.BuildStatus, aws.ToString(got.CurrentPhase), got.EndTime, len(got.Phases), len(done.Phases))
		}
	})
	t.Run("download_source", func(t *testing.T) {
		t.Parallel()
		id := startBuild(t, cb, "slow-stop")
		waitBuildPhase(t, cb, id, "DOWNLOAD_SOURCE")
		checkEndedIn(t, stop(t, id), types.StatusTypeStopped, types.BuildPhaseTypeDownloadSource)
	})
	for _, at := range []string{"install", "pre_build", "build", "post_build"} {
		t.Run(at, func(t *testing.T) {
			t.Parallel()
			m := marker(t)
			name := "stop-" + strings.ReplaceAll(at, "_", "-")
			createProjectWith(t, cb, name, phaseSpec(m, at), containerEnv(types.ComputeTypeBuildGeneral1Small), nil)
			id := startBuild(t, cb, name)
			waitFor(t, 20*time.Second, "the build's processes", func() bool { return len(hostProcesses(m)) == 3 })
			b := stop(t, id)
			checkEndedIn(t, b, types.StatusTypeStopped, phaseOfSpec[at])
			if procs := hostProcesses(m); len(procs) != 0 {
				t.Errorf("processes left after the stop: %v", procs)
			}
		})
	}
}

// Lambda compute: a non-root user, a read-only root but /tmp, the source
// under /tmp, at most 15 minutes, no on-failure, and the API refusals.
func TestLambdaCompute(t *testing.T) {
	r := StartRunner(t)
	cb := r.CodeBuild()
	s3c := r.S3()
	if _, err := s3c.CreateBucket(bg, &s3.CreateBucketInput{Bucket: aws.String("lambda-src")}); err != nil {
		t.Fatal(err)
	}
	src := zipOf(t, map[string]string{
		"buildspec.yml": `version: 0.2
phases:
  build:
    commands:
      - echo "UID=$(id -u)"
      - echo "SRC=$CODEBUILD_SRC_DIR"
      - echo "PWD=$(pwd)"
      - echo "HOME=$HOME"
      - echo "FILE=$(cat hello.txt)"
      - echo appended >> hello.txt && echo "APPEND=ok"
      - touch /tmp/x && echo "TMP=ok"
      - (touch /usr/hangar-test-root 2>/dev/null && echo "ROOT=writable") || echo "ROOT=read-only"
      - (touch "$HOME/.x" && echo "HOMEW=ok") || echo "HOMEW=no"
`,
		"hello.txt": "hello lambda",
	})
	if _, err := s3c.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("lambda-src"), Key: aws.String("src.zip"), Body: bytes.NewReader(src)}); err != nil {
		t.Fatal(err)
	}
	_, err := cb.CreateProject(bg, &codebuild.CreateProjectInput{
		Name:        aws.String("lambda"),
		Source:      &types.ProjectSource{Type: types.SourceTypeS3, Location: aws.String("lambda-src/src.zip")},
		Artifacts:   &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts},
		Environment: lambdaEnv(types.ComputeTypeBuildLambda2gb),
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/hangar-test"),
	})
	if err != nil {
		t.Fatal(err)
	}
	b := WaitBuild(t, cb, startBuild(t, cb, "lambda"), 30*time.Second)
	log := BuildLog(t, r, b)
	if b.BuildStatus != types.StatusTypeSucceeded {
		t.Fatalf("status %s\n%s", b.BuildStatus, strings.Join(log, "\n"))
	}
	srcDir := logValue(log, "SRC")
	for key, want := range map[string]string{"UID": "65534", "PWD": srcDir, "HOME": "/tmp", "FILE": "hello lambda", "APPEND": "ok", "TMP": "ok", "ROOT": "read-only", "HOMEW": "ok"} {
		if got := logValue(log, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if !regexp.MustCompile(`^/tmp/codebuild/output/src[0-9]+/src$`).MatchString(srcDir) {
		t.Errorf("CODEBUILD_SRC_DIR %q, want /tmp/codebuild/output/src…/src", srcDir)
	}
	if b.TimeoutInMinutes != nil || b.QueuedTimeoutInMinutes != nil {
		t.Errorf("Lambda build shows timeouts %v %v", b.TimeoutInMinutes, b.QueuedTimeoutInMinutes)
	}

	// 15 minutes at most, whatever runs: on a runner whose minute is 20 ms,
	// that is 300 ms.
	short := StartRunner(t, "--minute", "20ms")
	scb := short.CodeBuild()
	m := marker(t)
	createProjectWith(t, scb, "lambda-long", fmt.Sprintf("version: 0.2\nphases:\n  build:\n    commands:\n      - bash -c 'exec -a %s sleep 300'\n", m), lambdaEnv(types.ComputeTypeBuildLambda1gb), nil)
	long := WaitBuild(t, scb, startBuild(t, scb, "lambda-long"), 30*time.Second)
	checkEndedIn(t, long, types.StatusTypeTimedOut, types.BuildPhaseTypeBuild)
	if procs := hostProcesses(m); len(procs) != 0 {
		t.Errorf("processes left after the 15-minute limit: %v", procs)
	}

	// on-failure is refused when the buildspec is read.
	createProjectWith(t, cb, "lambda-onfailure", "version: 0.2\nphases:\n  build:\n    on-failure: CONTINUE\n    commands:\n      - echo never\n", lambdaEnv(types.ComputeTypeBuildLambda1gb), nil)
	of := WaitBuild(t, cb, startBuild(t, cb, "lambda-onfailure"), 30*time.Second)
	p := phase(of, types.BuildPhaseTypeDownloadSource)
	if of.BuildStatus != types.StatusTypeFailed || p == nil || len(p.Contexts) == 0 || aws.ToString(p.Contexts[0].StatusCode) != "YAML_FILE_ERROR" ||
		!strings.Contains(aws.ToString(p.Contexts[0].Message), "on-failure is not supported for Lambda compute") {
		t.Errorf("on-failure on Lambda: %s %+v", of.BuildStatus, p)
	}

	// The API refusals, as CodeBuild words them.
	for _, c := range []struct {
		mod  func(*codebuild.CreateProjectInput)
		want string
	}{
		{func(in *codebuild.CreateProjectInput) { in.TimeoutInMinutes = aws.Int32(10) }, "Cannot specify timeoutInMinutes for lambda compute"},
		{func(in *codebuild.CreateProjectInput) { in.QueuedTimeoutInMinutes = aws.Int32(10) }, "Cannot specify queuedTimeoutInMinutes for lambda compute"},
		{func(in *codebuild.CreateProjectInput) { in.Environment.PrivilegedMode = aws.Bool(true) }, "Cannot specify privilegedMode for lambda compute"},
		{func(in *codebuild.CreateProjectInput) {
			in.Environment.ComputeType = types.ComputeTypeBuildGeneral1Small
		}, "BUILD_GENERAL1_SMALL"},
	} {
		in := &codebuild.CreateProjectInput{
			Name: aws.String("lambda-bad"), Source: &types.ProjectSource{Type: types.SourceTypeNoSource, Buildspec: aws.String("version: 0.2")},
			Artifacts: &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts}, Environment: lambdaEnv(types.ComputeTypeBuildLambda1gb),
			ServiceRole: aws.String("arn:aws:iam::000000000000:role/hangar-test"),
		}
		c.mod(in)
		_, err := cb.CreateProject(bg, in)
		WantAPIError(t, err, "InvalidInputException", c.want)
	}
	// Compute and environment types are checked against each other, on
	// projects and on the overrides of a build.
	bad := containerEnv(types.ComputeTypeBuildLambda1gb)
	_, err = cb.CreateProject(bg, &codebuild.CreateProjectInput{
		Name: aws.String("container-on-lambda"), Source: &types.ProjectSource{Type: types.SourceTypeNoSource, Buildspec: aws.String("version: 0.2")},
		Artifacts: &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts}, Environment: bad,
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/hangar-test"),
	})
	WantAPIError(t, err, "InvalidInputException", "BUILD_LAMBDA_1GB")
	_, err = cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("lambda"), ComputeTypeOverride: types.ComputeTypeBuildGeneral1Small})
	WantAPIError(t, err, "InvalidInputException", "BUILD_GENERAL1_SMALL")
	createProjectWith(t, cb, "lambda-box", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ran\n", containerEnv(types.ComputeTypeBuildGeneral1Small), nil)
	_, err = cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("lambda-box"), ComputeTypeOverride: types.ComputeTypeBuildLambda1gb})
	WantAPIError(t, err, "InvalidInputException", "BUILD_LAMBDA_1GB")
	// Both overrides together move a container project's build onto Lambda:
	// it runs as the Lambda user.
	lo, err := cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("lambda-box"), BuildspecOverride: aws.String("version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"UID=$(id -u)\"\n"),
		EnvironmentTypeOverride: lambdaEnvironmentType(), ComputeTypeOverride: types.ComputeTypeBuildLambda1gb})
	if err != nil {
		t.Fatal(err)
	}
	if lb := WaitBuild(t, cb, aws.ToString(lo.Build.Id), 30*time.Second); lb.BuildStatus != types.StatusTypeSucceeded || logValue(BuildLog(t, r, lb), "UID") != "65534" {
		t.Errorf("container project's build overridden onto Lambda: %s, UID %q", lb.BuildStatus, logValue(BuildLog(t, r, lb), "UID"))
	}
	_, err = cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("lambda"), TimeoutInMinutesOverride: aws.Int32(10)})
	WantAPIError(t, err, "InvalidInputException", "Cannot specify timeoutInMinutesOverride for lambda compute")
	_, err = cb.StartBuild(bg, &codebuild.StartBuildInput{ProjectName: aws.String("lambda"), QueuedTimeoutInMinutesOverride: aws.Int32(10)})
	WantAPIError(t, err, "InvalidInputException", "Cannot specify queuedTimeoutInMinutesOverride for lambda compute")
}

// LINUX_CONTAINER / ARM_CONTAINER run in the host sandbox, and the log says
// once which image was asked for; the other architecture is refused at
// PROVISIONING with a clear CLIENT_ERROR.
func TestEnvironmentTypes(t *testing.T) {
	r := StartRunner(t)
	cb := r.CodeBuild()
	createProjectWith(t, cb, "native", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo native\n", containerEnv(types.ComputeTypeBuildGeneral1Small), nil)
	b := WaitBuild(t, cb, startBuild(t, cb, "native"), 30*time.Second)
	log := BuildLog(t, r, b)
	want := fmt.Sprintf("Image aws/codebuild/amazonlinux2-x86_64-standard:5.0 (%s, BUILD_GENERAL1_SMALL) runs in the host sandbox", hostEnvironmentType())
	n := 0
	for _, l := range log {
		if strings.Contains(l, "aws/codebuild/amazonlinux2-x86_64-standard:5.0") {
			n++
			if !strings.Contains(l, want) {
				t.Errorf("image line %q, want %q", l, want)
			}
		}
	}
	if b.BuildStatus != types.StatusTypeSucceeded || n != 1 {
		t.Errorf("status %s, image named %d times:\n%s", b.BuildStatus, n, strings.Join(log, "\n"))
	}
	foreign := &types.ProjectEnvironment{Type: foreignEnvironmentType(), Image: aws.String("img"), ComputeType: types.ComputeTypeBuildGeneral1Small}
	createProjectWith(t, cb, "foreign", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ran\n", foreign, nil)
	f := WaitBuild(t, cb, startBuild(t, cb, "foreign"), 30*time.Second)
	p := phase(f, types.BuildPhaseTypeProvisioning)
	if f.BuildStatus != types.StatusTypeFailed || p == nil || p.PhaseStatus != types.StatusTypeFailed || len(p.Contexts) == 0 ||
		aws.ToString(p.Contexts[0].StatusCode) != "CLIENT_ERROR" || !strings.Contains(aws.ToString(p.Contexts[0].Message), "this Hangar runner is "+runtime.GOARCH) {
		t.Fatalf("%s build: %s %+v", foreignEnvironmentType(), f.BuildStatus, p)
	}
	if l := BuildLog(t, r, f); hasLine(l, "ran") || !containsLine(l, "CLIENT_ERROR") {
		t.Errorf("foreign build log:\n%s", strings.Join(l, "\n"))
	}
}
