//go:build linux

package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hangarci/hangar/internal/logstore"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/sandbox"
)

func TestMain(m *testing.M) {
	// The sandbox re-executes this binary as its init.
	if sandbox.IsInit() {
		sandbox.InitMain()
	}
	os.Exit(m.Run())
}

// memStore keeps the last saved body of each build.
type memStore struct {
	mu     sync.Mutex
	builds map[string][]byte
}

func (s *memStore) SaveBuild(_ context.Context, id string, body []byte, _ bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.builds[id] = body
	return nil
}

func (s *memStore) build(t *testing.T, id string) *model.Build {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := new(model.Build)
	if err := json.Unmarshal(s.builds[id], b); err != nil {
		t.Fatal(err)
	}
	return b
}

// hostSandboxes adapts the real sandbox host.
type hostSandboxes struct{ h *sandbox.Host }

func (s hostSandboxes) Prepare(ctx context.Context, id string, lim sandbox.Limits, user *sandbox.User) (*sandbox.Machine, error) {
	return s.h.Prepare(ctx, id, lim, user)
}

func (s hostSandboxes) Start(ctx context.Context, spec sandbox.Spec) (Shell, error) {
	sb, err := s.h.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	return sb, nil
}

func (s hostSandboxes) Isolated() bool { return s.h.Isolated() }

type testRunner struct {
	*Runner
	store      *memStore
	logs       *logstore.Store
	sandboxDir string // the sandbox host's work dir (control dirs)
}

// newTestRunner is a runner on a real sandbox host and log store.
func newTestRunner(t *testing.T, minute time.Duration) *testRunner {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for the sandbox")
	}
	dir := t.TempDir()
	sandboxDir := filepath.Join(dir, "sandbox")
	host, err := sandbox.NewHost(sandbox.HostOptions{WorkDir: sandboxDir, CgroupParent: "hangar-runner-test"})
	if err != nil {
		t.Fatal(err)
	}
	logs, err := logstore.Open(filepath.Join(dir, "logs"), logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{builds: map[string][]byte{}}
	r := New(Config{
		StateDir:  dir,
		WorkDir:   filepath.Join(dir, "builds"),
		Names:     model.Names{Region: "us-east-1", Account: model.Account},
		Store:     st,
		Sandboxes: hostSandboxes{host},
		Logs:      logs,
		Minute:    minute,
		KillGrace: 200 * time.Millisecond,
	})
	t.Cleanup(func() {
		r.Close()
		host.Close()
		logs.Close()
	})
	return &testRunner{Runner: r, store: st, logs: logs, sandboxDir: sandboxDir}
}

func newBuild(spec string, env *model.ProjectEnvironment) *model.Build {
	id := "p:" + uuid.NewString()
	now := model.Now()
	return &model.Build{
		ID: id, ProjectName: "p", StartTime: now.Ptr(), CurrentPhase: model.PhaseQueued, BuildStatus: model.StatusInProgress,
		Source:      &model.ProjectSource{Type: model.SourceNoSource, Buildspec: spec},
		Environment: env,
		Phases: []model.BuildPhase{
			{PhaseType: model.PhaseSubmitted, PhaseStatus: model.StatusSucceeded, StartTime: now.Ptr(), EndTime: now.Ptr()},
			{PhaseType: model.PhaseQueued, StartTime: now.Ptr()},
		},
	}
}

func smallEnv() *model.ProjectEnvironment {
	return &model.ProjectEnvironment{Type: model.EnvLinuxContainer, Image: "img", ComputeType: model.ComputeSmall}
}

func (tr *testRunner) log(t *testing.T, b *model.Build) string {
	t.Helper()
	res, err := tr.logs.GetEvents(context.Background(), b.Logs.GroupName, b.Logs.StreamName, logstore.GetRequest{StartFromHead: true})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, e := range res.Events {
		sb.WriteString(e.Message)
	}
	return sb.String()
}

func phaseOf(b *model.Build, t string) *model.BuildPhase { return b.Phase(t) }

// A build stopped (or timing out) while it provisions ends there: the
// PROVISIONING phase carries the status, FINALIZING is still recorded, and
// the machine made for it is gone.
func TestInterruptedWhileProvisioning(t *testing.T) {
	for _, c := range []struct {
		name   string
		minute time.Duration
		cancel error
		want   string
	}{
		{"stop", time.Minute, ErrStopped, model.StatusStopped},
		// 5 "minutes" of 1 ns: the timeout is over before provisioning ends.
		{"timeout", time.Nanosecond, nil, model.StatusTimedOut},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := newTestRunner(t, c.minute)
			b := newBuild("version: 0.2\nphases:\n  build:\n    commands:\n      - echo never\n", smallEnv())
			b.TimeoutInMinutes = new(int)
			*b.TimeoutInMinutes = 5
			ctx, cancel := context.WithCancelCause(context.Background())
			if c.cancel != nil {
				cancel(c.cancel)
			}
			defer cancel(nil)
			if err := tr.Run(ctx, b, Placement{}); err != nil {
				t.Fatal(err)
			}
			got := tr.store.build(t, b.ID)
			p := phaseOf(got, model.PhaseProvisioning)
			if got.BuildStatus != c.want || p == nil || p.PhaseStatus != c.want {
				t.Fatalf("build %s, PROVISIONING %+v; want %s there", got.BuildStatus, p, c.want)
			}
			if phaseOf(got, model.PhaseDownloadSource) != nil || phaseOf(got, model.PhaseFinalizing) == nil || got.CurrentPhase != model.PhaseCompleted {
				t.Errorf("phases %+v: want PROVISIONING, FINALIZING, COMPLETED", got.Phases)
			}
			_, id, _ := model.SplitBuildID(b.ID)
			for _, root := range []string{"/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
				if _, err := os.Stat(filepath.Join(root, "hangar-runner-test", id)); err == nil {
					t.Errorf("the build's cgroup is still in %s", root)
				}
			}
		})
	}
}

// warmDirs lists the machines' build directories (fleet-…) in the runner's
// work dir that have src, tmp and home made, and the sandbox control dirs
// (fleet-…) with the shell's script written.
func warmDirs(t *testing.T, tr *testRunner) (build, ctl []string) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(tr.cfg.WorkDir, "fleet-*"))
	for _, d := range dirs {
		ok := true
		for _, sub := range []string{"src", "tmp", "home"} {
			if fi, err := os.Stat(filepath.Join(d, sub)); err != nil || !fi.IsDir() {
				ok = false
			}
		}
		if ok {
			build = append(build, filepath.Base(d))
		}
	}
	scripts, _ := filepath.Glob(filepath.Join(tr.sandboxDir, "fleet-*", "*"))
	for _, s := range scripts {
		ctl = append(ctl, filepath.Base(filepath.Dir(s)))
	}
	return build, ctl
}

// A fleet's machines are prepared before its builds arrive (cgroup, init,
// control dir, build dirs); a build on the fleet runs on one (its cgroup is
// the machine's, not named after the build) and the machine is replaced
// once the build is over.
func TestWarmFleetMachines(t *testing.T) {
	tr := newTestRunner(t, time.Minute)
	const fleet = "arn:aws:codebuild:us-east-1:000000000000:fleet/f:1"
	tr.Warm(fleet, 2, smallEnv())
	waitReady := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for tr.warm.readyCount(fleet) != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d machines ready, want %d", tr.warm.readyCount(fleet), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitReady(2)
	build, ctl := warmDirs(t, tr)
	if len(build) != 2 || len(ctl) != 2 {
		t.Fatalf("before any build: build dirs of %v, control dirs of %v; want 2 machines' each", build, ctl)
	}
	b := newBuild("version: 0.2\nphases:\n  build:\n    commands:\n      - cat /proc/self/cgroup\n", smallEnv())
	if err := tr.Run(context.Background(), b, Placement{Fleet: fleet, FleetName: "f"}); err != nil {
		t.Fatal(err)
	}
	got := tr.store.build(t, b.ID)
	log := tr.log(t, got)
	if got.BuildStatus != model.StatusSucceeded {
		t.Fatalf("status %s\n%s", got.BuildStatus, log)
	}
	if !strings.Contains(log, "Running on Hangar fleet f\n") || !strings.Contains(log, "/hangar-runner-test/fleet-") {
		t.Errorf("the build did not run on a warm machine of fleet f:\n%s", log)
	}
	waitReady(2)
	// The used machine's dirs went with its build; its replacement has its own.
	after, _ := warmDirs(t, tr)
	if len(after) != 2 || !slices.Contains(after, build[0]) && !slices.Contains(after, build[1]) {
		t.Errorf("machines' build dirs before %v, after the build %v: want one kept, one replaced", build, after)
	} else if slices.Contains(after, build[0]) && slices.Contains(after, build[1]) {
		t.Errorf("machines' build dirs before %v, after the build %v: the used machine's are still there", build, after)
	}
	// Shrinking the fleet drops machines; 0 drops them all.
	tr.Warm(fleet, 0, smallEnv())
	waitReady(0)
	if build, ctl := warmDirs(t, tr); len(build) != 0 || len(ctl) != 0 {
		t.Errorf("dirs of dropped machines left: %v %v", build, ctl)
	}
	// An on-demand build makes its machine while it provisions: its cgroup
	// is named after it.
	b = newBuild("version: 0.2\nphases:\n  build:\n    commands:\n      - cat /proc/self/cgroup\n", smallEnv())
	if err := tr.Run(context.Background(), b, Placement{}); err != nil {
		t.Fatal(err)
	}
	got = tr.store.build(t, b.ID)
	_, id, _ := model.SplitBuildID(b.ID)
	if log := tr.log(t, got); !strings.Contains(log, "Running on Hangar On-demand") || !strings.Contains(log, "/hangar-runner-test/"+id) {
		t.Errorf("on-demand build log:\n%s", log)
	}
}

// A build of an environment this host cannot run fails at PROVISIONING
// with a CLIENT_ERROR that says why; nothing starts.
func TestForeignEnvironmentRefused(t *testing.T) {
	tr := newTestRunner(t, time.Minute)
	other := model.EnvArmContainer
	if tr.cfg.HostArch == "arm64" {
		other = model.EnvLinuxContainer
	}
	for _, env := range []string{other, "WINDOWS_SERVER_2022_CONTAINER"} {
		b := newBuild("version: 0.2\nphases:\n  build:\n    commands:\n      - echo ran\n", &model.ProjectEnvironment{Type: env, Image: "img", ComputeType: model.ComputeSmall})
		if err := tr.Run(context.Background(), b, Placement{}); err != nil {
			t.Fatal(err)
		}
		got := tr.store.build(t, b.ID)
		p := phaseOf(got, model.PhaseProvisioning)
		if got.BuildStatus != model.StatusFailed || p == nil || p.PhaseStatus != model.StatusFailed || len(p.Contexts) != 1 ||
			p.Contexts[0].StatusCode != "CLIENT_ERROR" || !strings.Contains(p.Contexts[0].Message, env) {
			t.Fatalf("%s build: status %s, PROVISIONING %+v", env, got.BuildStatus, p)
		}
		if log := tr.log(t, got); strings.Contains(log, "\nran\n") {
			t.Errorf("%s build ran its commands", env)
		}
	}
}

// slowProvisioning is the real sandbox host whose Prepare takes until the
// build is stopped, as an image pull would: the machine (init and the
// shell it started ahead) is made, then the build waits.
type slowProvisioning struct {
	hostSandboxes
	prepared chan string // the machine's id, once made
}

func (s slowProvisioning) Prepare(ctx context.Context, id string, lim sandbox.Limits, user *sandbox.User) (*sandbox.Machine, error) {
	m, err := s.hostSandboxes.Prepare(ctx, id, lim, user)
	if err != nil {
		return nil, err
	}
	s.prepared <- id
	<-ctx.Done()
	return m, nil
}

// alive reports whether pid runs (zombies are dead).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// StopBuild while a build provisions, its machine made: the build ends
// STOPPED in PROVISIONING within 2 seconds, FINALIZING recorded, and the
// machine's processes (the init and the shell it started) and cgroup are
// gone.
func TestStopWhileProvisioningKillsTheMachine(t *testing.T) {
	tr := newTestRunner(t, time.Minute)
	slow := slowProvisioning{hostSandboxes: tr.cfg.Sandboxes.(hostSandboxes), prepared: make(chan string, 1)}
	tr.cfg.Sandboxes = slow
	b := newBuild("version: 0.2\nphases:\n  build:\n    commands:\n      - echo never\n", smallEnv())
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx, b, Placement{}) }()
	id := <-slow.prepared
	// The machine's cgroup: v1 pids (also the hybrid), else v2.
	var procsFile string
	for _, root := range []string{"/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		if f := filepath.Join(root, "hangar-runner-test", id, "cgroup.procs"); procsFile == "" {
			if _, err := os.Stat(f); err == nil {
				procsFile = f
			}
		}
	}
	if procsFile == "" {
		t.Skip("no cgroup for the machine")
	}
	var pids []int
	deadline := time.Now().Add(10 * time.Second)
	for len(pids) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the machine's processes: %v, want the init and its shell", pids)
		}
		time.Sleep(10 * time.Millisecond)
		raw, _ := os.ReadFile(procsFile)
		pids = pids[:0]
		for _, f := range strings.Fields(string(raw)) {
			n, _ := strconv.Atoi(f)
			pids = append(pids, n)
		}
	}
	began := time.Now()
	cancel(ErrStopped)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the build was not over 2 s after it was stopped")
	}
	t.Logf("stopped in PROVISIONING after %v", time.Since(began))
	got := tr.store.build(t, b.ID)
	p := phaseOf(got, model.PhaseProvisioning)
	if got.BuildStatus != model.StatusStopped || p == nil || p.PhaseStatus != model.StatusStopped || phaseOf(got, model.PhaseFinalizing) == nil {
		t.Fatalf("build %s, PROVISIONING %+v, phases %+v", got.BuildStatus, p, got.Phases)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("the machine's process %d survived the stop", pid)
		}
	}
	if _, err := os.Stat(filepath.Dir(procsFile)); err == nil {
		t.Errorf("the machine's cgroup %s is still there", filepath.Dir(procsFile))
	}
}
