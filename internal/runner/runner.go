// Package runner runs one build from the moment it leaves the queue to
// COMPLETED: it provisions a sandbox, fetches the source, reads the
// buildspec, resolves variables, runs every phase's commands in one shell,
// writes the log and records each state change before anyone can see it.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/hangarci/hangar/internal/logstore"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/sandbox"
	"github.com/hangarci/hangar/internal/sourcecache"
)

// Shell is a build's persistent shell in its sandbox.
type Shell interface {
	Run(ctx context.Context, command string) (exitCode int, err error)
	Capture(ctx context.Context, script string) (stdout []byte, exitCode int, err error)
	Kill(grace time.Duration)
	Close(ctx context.Context) error
	// OOMKills counts the processes the memory limit has killed so far.
	OOMKills() int64
}

// Sandboxes starts shells.
type Sandboxes interface {
	// Prepare makes a sandbox's machine (cgroup with limits, started
	// init, the shell started as user) ahead of Start; Start uses it
	// through Spec.Machine.
	Prepare(ctx context.Context, id string, lim sandbox.Limits, user *sandbox.User) (*sandbox.Machine, error)
	Start(ctx context.Context, spec sandbox.Spec) (Shell, error)
	// Isolated reports whether sandboxes get their own mount namespace, so
	// the paths in Spec.Binds are where the build sees its directories.
	Isolated() bool
}

// Objects gives the runner S3 objects.
type Objects interface {
	// OpenObject opens the object's bytes, or returns an *ObjectError.
	OpenObject(ctx context.Context, bucket, key string) (*os.File, error)
	// BlobFile returns the path of a read-only file holding the object's
	// bytes, checking that their SHA-256 is sha256; files are copied from
	// it, never changed.
	BlobFile(ctx context.Context, bucket, key, sha256 string) (string, error)
}

// ObjectError is an S3 error fetching a source (NoSuchBucket, NoSuchKey).
type ObjectError struct{ Code, Message string }

func (e *ObjectError) Error() string { return e.Code + ": " + e.Message }

// Params resolves SSM parameters (decrypted).
type Params interface {
	Resolve(ctx context.Context, names []string) (values map[string]string, missing []string, err error)
}

// Secrets resolves Secrets Manager references
// (secret-id[:json-key[:version-stage[:version-id]]]).
type Secrets interface {
	Resolve(ctx context.Context, ref string) (string, error)
}

// Store saves builds.
type Store interface {
	SaveBuild(ctx context.Context, id string, body []byte, complete bool) error
}

// Config configures a Runner.
type Config struct {
	// StateDir is the runner's state directory; builds never see it.
	StateDir string
	// WorkDir holds each build's directories while it runs.
	WorkDir   string
	Names     model.Names
	Store     Store
	Sandboxes Sandboxes
	Logs      *logstore.Store
	Objects   Objects
	// Sources caches assembled source trees; nil assembles a copy per build.
	Sources *sourcecache.Cache
	Params  Params
	Secrets Secrets
	// Credentials gives each build short-lived credentials for its
	// project's service role (credentials.go); variables are resolved with
	// the role's rights. Nil: builds get none, and variables are resolved
	// without a role (the runner's own tests).
	Credentials Credentials
	// Minute is how long a "minute" of timeoutInMinutes lasts. It is one
	// minute except in tests, which shorten it.
	Minute time.Duration
	// KillGrace is how long a stopped build's processes get between SIGTERM
	// and SIGKILL.
	KillGrace time.Duration
	// LambdaUser is who Lambda compute builds run as; nobody (65534) when
	// nil: it exists in every base image and owns nothing on the host.
	LambdaUser *sandbox.User
	// HostArch is the architecture builds run on (GOARCH); runtime.GOARCH
	// when empty. Builds of an environment type for another architecture
	// fail at PROVISIONING.
	HostArch string
	// MaxWarm caps the machines kept prepared for all fleets together
	// (each idle one holds a sandbox init); DefaultMaxWarm when 0.
	MaxWarm int
	Log     *slog.Logger
	Now     func() time.Time
}

// DefaultMaxWarm is how many fleet machines are kept prepared at most.
const DefaultMaxWarm = 16

// Runner runs builds.
type Runner struct {
	cfg  Config
	warm *machinePool
}

// Placement says where the scheduler put a build.
type Placement struct {
	// Fleet is the ARN of the fleet whose machine runs the build; empty
	// for on-demand capacity (also a fleet's overflow).
	Fleet string
	// FleetName names it in the build log.
	FleetName string
	// Dequeued is when the build left the queue, which ends its QUEUED
	// phase. The scheduler takes it in queue order, so builds started
	// together still show their start order. Zero: when Run begins.
	Dequeued time.Time
}

// New returns a Runner.
func New(cfg Config) *Runner {
	if cfg.Minute == 0 {
		cfg.Minute = time.Minute
	}
	if cfg.KillGrace == 0 {
		cfg.KillGrace = 2 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LambdaUser == nil {
		cfg.LambdaUser = &sandbox.User{UID: 65534, GID: 65534}
	}
	if cfg.HostArch == "" {
		cfg.HostArch = runtime.GOARCH
	}
	if cfg.MaxWarm == 0 {
		cfg.MaxWarm = DefaultMaxWarm
	}
	return &Runner{cfg: cfg, warm: newMachinePool(cfg.Sandboxes, cfg.MaxWarm, cfg.WorkDir, cfg.Log)}
}

// Warm keeps n machines prepared for fleet (its base capacity), with the
// limits of env (the fleet's environment), so its builds find one ready;
// 0 releases them. A new size or environment takes effect at once.
func (r *Runner) Warm(fleet string, n int, env *model.ProjectEnvironment) {
	r.warm.set(fleet, n, limitsFor(env))
}

// Close releases the machines kept prepared.
func (r *Runner) Close() { r.warm.close() }

// Why a build was ended early.
var (
	// ErrStopped: StopBuild.
	ErrStopped = errors.New("build stopped")
	// ErrTimedOut: the build ran past its timeout.
	ErrTimedOut = errors.New("build timed out")
	// ErrShutdown: the runner is shutting down.
	ErrShutdown = errors.New("runner shut down")
)

// Run runs b, which has just left the queue, to completion, where on says.
// Cancel ctx with a cause (context.WithCancelCause) of ErrStopped or
// ErrShutdown to end it early. Run returns when the build is complete and
// saved.
func (r *Runner) Run(ctx context.Context, b *model.Build, on Placement) error {
	run := &buildRun{r: r, b: b, on: on, saveCtx: context.WithoutCancel(ctx), lambda: isLambda(b.Environment)}
	return run.run(ctx)
}

func isLambda(e *model.ProjectEnvironment) bool {
	return e != nil && model.IsLambdaEnvironment(e.Type)
}

// Prepared is what Run leaves on disk for a build.
func (r *Runner) buildDir(b *model.Build) string {
	_, id, _ := model.SplitBuildID(b.ID)
	return filepath.Join(r.cfg.WorkDir, id)
}

// Fault ends a build that cannot run any more (the runner restarted while
// it ran) as FAULT, with a context that says why, and saves it.
func (r *Runner) Fault(ctx context.Context, b *model.Build, code, message string) error {
	run := &buildRun{r: r, b: b, saveCtx: ctx}
	run.endPhase(model.StatusFault, code, message)
	run.status = model.StatusFault
	os.RemoveAll(r.buildDir(b))
	return run.complete()
}

// EndQueued ends a queued build that waited past its queued timeout, or was
// stopped before it left the queue.
func (r *Runner) EndQueued(ctx context.Context, b *model.Build, status, code, message string) error {
	run := &buildRun{r: r, b: b, saveCtx: ctx}
	run.endPhase(status, code, message)
	run.status = status
	return run.complete()
}

// buildRun is one build being run.
type buildRun struct {
	r       *Runner
	b       *model.Build
	on      Placement
	saveCtx context.Context
	// lambda: Lambda compute (non-root, source under /tmp, 15 minutes).
	lambda bool
	// machine is the build's prepared sandbox machine until Start takes it.
	machine *sandbox.Machine
	// limits are what the machine's cgroup enforces (capped at the host).
	limits sandbox.Limits
	// at, if set, is the time now() reports (when the build left the queue).
	at *model.Time

	mu      sync.Mutex // guards b while the log follower might read it
	log     *logstore.LineWriter
	secrets []string // resolved values masked in the log
	dirty   bool     // changed since the last save
	shell   Shell
	unkill  func() bool // cancels the kill-on-cancel hook
	// prelude is shell code run with the build's first command, in the
	// same round trip (awsEndpointShim).
	prelude string
	// tree is a cached source tree the build sees through an overlay, and
	// releaseTree gives it back to the cache.
	tree        string
	releaseTree func()
	dir         string
	status      string // final status when not SUCCEEDED

	// noExport holds the names env.exported-variables may not export: the
	// project's PARAMETER_STORE and SECRETS_MANAGER variables.
	noExport map[string]bool

	// creds are the build's role credentials (credentials.go).
	creds *buildCreds
}

// save writes the build as it is now.
func (run *buildRun) save() error {
	run.dirty = false
	body, err := json.Marshal(run.b)
	if err != nil {
		return fmt.Errorf("encode build %s: %w", run.b.ID, err)
	}
	if err := run.r.cfg.Store.SaveBuild(run.saveCtx, run.b.ID, body, run.b.BuildComplete); err != nil {
		return fmt.Errorf("save build %s: %w", run.b.ID, err)
	}
	return nil
}

func (run *buildRun) now() model.Time {
	if run.at != nil {
		return *run.at
	}
	return model.NewTime(run.r.cfg.Now())
}

// endPhase closes the phase in progress with a status and context.
func (run *buildRun) endPhase(status, code, message string) {
	if len(run.b.Phases) == 0 {
		return
	}
	p := &run.b.Phases[len(run.b.Phases)-1]
	if p.PhaseStatus != "" || p.PhaseType == model.PhaseCompleted {
		return
	}
	end := run.now()
	p.PhaseStatus = status
	p.EndTime = end.Ptr()
	d := int64(0)
	if p.StartTime != nil {
		d = int64(end.Sub(p.StartTime.Time) / time.Second)
	}
	p.DurationInSeconds = &d
	if p.PhaseType != model.PhaseSubmitted && p.PhaseType != model.PhaseQueued {
		p.Contexts = []model.PhaseContext{{StatusCode: code, Message: message}}
	} else if code != "" {
		p.Contexts = []model.PhaseContext{{StatusCode: code, Message: message}}
	}
}

// beginPhase starts phase t (after the previous one ended) and saves.
//
// Saving is what makes a state visible (the API reads the store), so a
// state must be saved before anything that takes time — a command, a
// source download, the end of the build — and that is where flush is
// called. Phases that begin and end with nothing slow in between (empty
// INSTALL and PRE_BUILD, say) are written in one save with what follows:
// nothing could have observed them in between. This keeps SQLite writes off
// the path from StartBuild to the first command.
func (run *buildRun) beginPhase(t string) error {
	run.b.Phases = append(run.b.Phases, model.BuildPhase{PhaseType: t, StartTime: run.now().Ptr()})
	run.b.CurrentPhase = t
	run.dirty = true
	return nil
}

// flush saves the build if it changed since the last save.
func (run *buildRun) flush() error {
	if !run.dirty {
		return nil
	}
	return run.save()
}

// complete ends the build: FINALIZING is the caller's; this adds COMPLETED
// and the final status and saves.
func (run *buildRun) complete() error {
	status := run.status
	if status == "" {
		status = model.StatusSucceeded
	}
	end := run.now()
	run.b.Phases = append(run.b.Phases, model.BuildPhase{PhaseType: model.PhaseCompleted, StartTime: end.Ptr()})
	run.b.CurrentPhase = model.PhaseCompleted
	run.b.BuildStatus = status
	run.b.BuildComplete = true
	run.b.EndTime = end.Ptr()
	return run.save()
}
