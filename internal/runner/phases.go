package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hangarci/hangar/internal/buildspec"
	"github.com/hangarci/hangar/internal/logstore"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/sandbox"
)

// outcome is how a phase ended.
type outcome struct{ status, code, message string }

var succeeded = outcome{status: model.StatusSucceeded}

func (o outcome) ok() bool { return o.status == model.StatusSucceeded }

// Phase context status codes.
const (
	codeCommand  = "COMMAND_EXECUTION_ERROR"
	codeYAML     = "YAML_FILE_ERROR"
	codeClient   = "CLIENT_ERROR"
	codeParams   = "Decrypted Variables Error"
	codeSecrets  = "Secrets Manager Error"
	codeTimedOut = "BUILD_TIMED_OUT"
	codeStopped  = "BUILD_STOPPED"
	codeFault    = "INTERNAL_ERROR"
	codeShutdown = "RUNNER_SHUTDOWN"
)

// interrupted returns the outcome of a phase cut short by ctx.
func interrupted(ctx context.Context) outcome {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, ErrTimedOut):
		return outcome{model.StatusTimedOut, codeTimedOut, "Build has timed out. "}
	case errors.Is(cause, ErrStopped):
		return outcome{model.StatusStopped, codeStopped, "Build was stopped."}
	default:
		return outcome{model.StatusFault, codeShutdown, "The runner shut down while the build was running."}
	}
}

// fault is a failure of the runner itself (not of the build's commands).
func fault(format string, a ...any) outcome {
	return outcome{model.StatusFault, codeFault, fmt.Sprintf(format, a...)}
}

func (run *buildRun) run(parent context.Context) error {
	cfg := run.r.cfg
	b := run.b
	timeout := 60 * cfg.Minute
	if b.TimeoutInMinutes != nil {
		timeout = time.Duration(*b.TimeoutInMinutes) * cfg.Minute
	}
	if run.lambda {
		// Lambda compute stops at 15 minutes whatever was asked (the API
		// refuses a timeout for it; this holds for builds stored before).
		timeout = min(timeout, model.LambdaMaxMinutes*cfg.Minute)
	}
	ctx, cancel := context.WithTimeoutCause(parent, timeout, ErrTimedOut)
	defer cancel()
	defer run.cleanup()

	// QUEUED → PROVISIONING: the log stream exists from here on.
	if t := run.on.Dequeued; !t.IsZero() {
		run.at = model.NewTime(t).Ptr()
	}
	run.endPhase(model.StatusSucceeded, "", "")
	run.setLogLocation()
	if err := run.beginPhase(model.PhaseProvisioning); err != nil {
		return err
	}
	run.at = nil
	st := run.provision(ctx)
	var spec *buildspec.Spec
	if run.finishPhase(ctx, st) {
		if err := run.beginPhase(model.PhaseDownloadSource); err != nil {
			return err
		}
		spec, st = run.downloadSource(ctx)
		if run.finishPhase(ctx, st) {
			if err := run.buildspecPhases(ctx, spec); err != nil {
				return err
			}
		}
	}
	return run.finalize(ctx)
}

// finishPhase ends the phase in progress with st, records a failure, and
// reports whether the build goes on to the next phase.
func (run *buildRun) finishPhase(ctx context.Context, st outcome) bool {
	if !st.ok() && ctx.Err() != nil {
		st = interrupted(ctx)
	}
	p := run.b.Phases[len(run.b.Phases)-1].PhaseType
	if p != model.PhaseProvisioning || !st.ok() {
		run.agent("Phase complete: %s State: %s", p, st.status)
		run.agent("Phase context status code: %s Message: %s", st.code, st.message)
	}
	run.endPhase(st.status, st.code, st.message)
	if !st.ok() {
		run.fail(st.status)
	}
	return st.ok()
}

// fail records that the build will not succeed.
func (run *buildRun) fail(status string) {
	// The first failure decides the build's status, except that stopping
	// or timing out afterwards wins: the build did not finish on its own.
	if run.status == "" || status == model.StatusStopped || status == model.StatusTimedOut || status == model.StatusFault {
		run.status = status
	}
	if run.shell != nil && status == model.StatusFailed {
		run.shell.Capture(context.WithoutCancel(run.saveCtx), "export CODEBUILD_BUILD_SUCCEEDING=0")
	}
}

// setLogLocation fills in the build's log group and stream.
func (run *buildRun) setLogLocation() {
	b := run.b
	_, id, _ := model.SplitBuildID(b.ID)
	group, stream := "/aws/codebuild/"+b.ProjectName, id
	if b.Logs != nil && b.Logs.CloudWatchLogs != nil {
		if g := b.Logs.CloudWatchLogs.GroupName; g != "" {
			group = g
		}
		if p := b.Logs.CloudWatchLogs.StreamName; p != "" {
			stream = p + "/" + id
		}
	}
	if b.Logs == nil {
		b.Logs = &model.LogsLocation{}
	}
	b.Logs.GroupName = group
	b.Logs.StreamName = stream
	b.Logs.CloudWatchLogsArn = run.r.cfg.Names.LogStreamArn(group, stream)
	b.Logs.DeepLink = fmt.Sprintf("https://console.aws.amazon.com/cloudwatch/home?region=%s#logEvent:group=%s;stream=%s", run.r.cfg.Names.Region, group, stream)
}

// provision opens the log stream, checks that this host can run the
// build's environment, makes the build's directories and gets its sandbox
// machine: a fleet's prepared one, else one made now.
func (run *buildRun) provision(ctx context.Context) outcome {
	cfg := run.r.cfg
	lw, err := logstore.NewLineWriter(ctx, cfg.Logs, run.b.Logs.GroupName, run.b.Logs.StreamName, nil, cfg.Now)
	if err != nil {
		return fault("open log stream: %v", err)
	}
	run.log = lw
	if run.on.Fleet != "" {
		run.agent("Running on Hangar fleet %s", run.on.FleetName)
	} else {
		run.agent("Running on Hangar On-demand")
	}
	e := run.b.Environment
	if e != nil && e.Image != "" {
		run.agent("Image %s (%s, %s) runs in the host sandbox", e.Image, e.Type, e.ComputeType)
	}
	if st := run.checkPlatform(); !st.ok() {
		return st
	}
	if st := run.assumeRole(ctx); !st.ok() {
		return st
	}
	if run.on.Fleet != "" {
		// A warm machine comes with the build's directories made.
		if w := run.r.warm.take(run.on.Fleet); w != nil {
			run.machine, run.dir = w.Machine, w.dir
		}
	}
	if run.dir == "" {
		run.dir = run.r.buildDir(run.b)
		if err := makeBuildDirs(run.dir); err != nil {
			return fault("%v", err)
		}
	}
	if run.machine == nil {
		var user *sandbox.User
		if run.lambda {
			user = cfg.LambdaUser // its shell starts as the build's user
		}
		m, err := cfg.Sandboxes.Prepare(ctx, buildUUID(run.b), limitsFor(e), user)
		if err != nil {
			if ctx.Err() != nil {
				return interrupted(ctx)
			}
			return fault("prepare the sandbox: %v", err)
		}
		run.machine = m
	}
	run.limits = run.machine.Limits()
	if ctx.Err() != nil {
		return interrupted(ctx)
	}
	run.agent("Waiting for agent ping")
	run.agent("Waiting for DOWNLOAD_SOURCE")
	return succeeded
}

// checkPlatform refuses environments this host cannot run: the host
// sandbox runs Linux builds of the host's own architecture. It is a
// CLIENT_ERROR at PROVISIONING, not an API error: the request is valid
// CodeBuild (AWS would run it), this runner just has no such machine, and
// the build record then says so where clients look (phase contexts, log).
func (run *buildRun) checkPlatform() outcome {
	e := run.b.Environment
	if e == nil {
		return succeeded
	}
	host := run.r.cfg.HostArch
	switch {
	case !model.IsLinuxEnvironment(e.Type):
		return run.clientError("Environment type %s cannot run on this Hangar runner: it runs Linux builds (LINUX_CONTAINER, ARM_CONTAINER, LINUX_LAMBDA_CONTAINER, ARM_LAMBDA_CONTAINER, LINUX_EC2, ARM_EC2) in its host sandbox", e.Type)
	case model.EnvironmentArch(e.Type) != host:
		return run.clientError("Environment type %s needs a %s machine; this Hangar runner is %s and runs builds in its host sandbox, so it cannot run %s images until image sandboxes land", e.Type, model.EnvironmentArch(e.Type), host, model.EnvironmentArch(e.Type))
	}
	return succeeded
}

func (run *buildRun) clientError(format string, a ...any) outcome {
	msg := fmt.Sprintf(format, a...)
	return outcome{model.StatusFailed, codeClient, msg}
}

// paths are a build's directories as the host and the build see them.
type paths struct{ hostSrc, src, tmp, home string }

func (run *buildRun) paths() paths {
	srcN := "src" + strconv.FormatUint(uint64(rand.Uint32()), 10)
	if run.lambda {
		// Lambda compute can write only /tmp, so the source lives there
		// (/tmp/codebuild/output/src…/src, as on CodeBuild Lambda), and so
		// does HOME.
		tmp := filepath.Join(run.dir, "tmp")
		rel := filepath.Join("codebuild", "output", srcN, "src")
		p := paths{hostSrc: filepath.Join(tmp, rel), src: filepath.Join(tmp, rel), tmp: tmp, home: tmp}
		if run.r.cfg.Sandboxes.Isolated() {
			p.src, p.tmp, p.home = filepath.Join("/tmp", rel), "/tmp", "/tmp"
		}
		return p
	}
	p := paths{
		hostSrc: filepath.Join(run.dir, "src"),
		src:     filepath.Join(run.dir, "src"),
		tmp:     filepath.Join(run.dir, "tmp"),
		home:    filepath.Join(run.dir, "home"),
	}
	if run.r.cfg.Sandboxes.Isolated() {
		// Inside its own mount namespace a build sees CodeBuild's layout.
		p.src = "/codebuild/output/" + srcN + "/src"
		p.tmp, p.home = "/tmp", "/root"
	}
	return p
}

// downloadSource fetches the source, reads the buildspec, resolves the
// variables and starts the build's shell.
func (run *buildRun) downloadSource(ctx context.Context) (*buildspec.Spec, outcome) {
	b := run.b
	run.agent("Phase is DOWNLOAD_SOURCE")
	p := run.paths()
	run.agent("CODEBUILD_SRC_DIR=%s", p.src)
	if err := run.flush(); err != nil {
		return nil, fault("%v", err)
	}
	if err := os.MkdirAll(p.hostSrc, 0o755); err != nil {
		return nil, fault("make source directory: %v", err)
	}
	if st := run.fetchSource(ctx, p.hostSrc); !st.ok() {
		return nil, st
	}
	binds := []sandbox.Bind{
		{Source: p.hostSrc, Target: p.src},
		{Source: filepath.Join(run.dir, "tmp"), Target: p.tmp},
		{Source: filepath.Join(run.dir, "home"), Target: p.home},
	}
	var user *sandbox.User
	if run.lambda {
		// /tmp holds the source and HOME; the build's user owns all of it.
		tmp := filepath.Join(run.dir, "tmp")
		binds = []sandbox.Bind{{Source: tmp, Target: p.tmp}}
		user = run.r.cfg.LambdaUser
		if err := chownTree(tmp, user); err != nil {
			return nil, fault("give the build's /tmp to its user: %v", err)
		}
	}
	var overlays []sandbox.Overlay
	if run.tree != "" {
		// A cached tree: the build sees it through an overlay whose upper
		// layer is its own, and the buildspec is read from the tree.
		o := sandbox.Overlay{Lower: run.tree}
		for _, d := range []struct {
			p    *string
			name string
		}{{&o.Upper, "upper"}, {&o.Work, "work"}, {&o.Merged, "merged"}} {
			*d.p = filepath.Join(run.dir, d.name)
			if err := os.Mkdir(*d.p, 0o755); err != nil {
				return nil, fault("make overlay dir: %v", err)
			}
		}
		overlays = []sandbox.Overlay{o}
		binds[0].Source = o.Merged
		p.hostSrc = run.tree
	}
	// loadBuildspec logs "YAML location is …" itself, as soon as it has the file.
	spec, _, st := run.loadBuildspec(ctx, p)
	if !st.ok() {
		return nil, st
	}
	if st := run.checkOnFailure(spec); !st.ok() {
		return nil, st
	}
	run.agent("Processing environment variables")
	env, st := run.environment(ctx, spec, p)
	if !st.ok() {
		return nil, st
	}
	if spec.Phases.Install != nil && len(spec.Phases.Install.RuntimeVersions) > 0 {
		run.agent("Skipping install of runtimes. Runtime version selection is not supported by this build image.")
	} else {
		run.agent("No runtime version selected in buildspec.")
	}
	run.agent("Moving to directory %s", p.src)
	machine := run.machine
	run.machine = nil // Start owns it now, whatever happens
	shell, err := run.r.cfg.Sandboxes.Start(ctx, sandbox.Spec{
		ID:           buildUUID(b),
		Shell:        spec.Env.Shell,
		Env:          env,
		Dir:          p.src,
		Limits:       limitsFor(b.Environment),
		Machine:      machine,
		User:         user,
		ReadOnlyRoot: true,
		Hide:         []string{run.r.cfg.StateDir},
		Binds:        binds,
		Overlays:     overlays,
		Output:       run.log,
		Logger:       run.r.cfg.Log,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, interrupted(ctx)
		}
		return nil, fault("start the sandbox: %v", err)
	}
	run.shell = shell
	// Stopping or timing out kills the shell's whole tree; the command
	// running then returns and the phase ends as interrupted.
	run.unkill = context.AfterFunc(ctx, func() { shell.Kill(run.r.cfg.KillGrace) })
	if len(run.credentialsEnv()) > 0 && bashShell(spec.Env.Shell) {
		run.prelude = awsEndpointShim
	}
	n := 0
	var counts []string
	for _, ph := range spec.Phases.List() {
		n++
		counts = append(counts, fmt.Sprintf("%s: %d commands", ph.Name, len(ph.Phase.Commands)))
	}
	run.agent("Registering with agent")
	run.agent("Phases found in YAML: %d", n)
	for _, c := range counts {
		run.agent(" %s", c)
	}
	return spec, succeeded
}

func buildUUID(b *model.Build) string {
	_, id, _ := model.SplitBuildID(b.ID)
	return id
}

// limitsFor returns the sandbox limits of a build's compute type (the
// sandbox caps them at what the host has).
func limitsFor(e *model.ProjectEnvironment) sandbox.Limits {
	size := model.SizeFor(e)
	return sandbox.Limits{CPU: size.VCPU, MemoryBytes: size.MemoryMB << 20, Pids: size.Pids}
}

// checkOnFailure refuses on-failure in a Lambda build's buildspec: Lambda
// compute does not support it (CodeBuild user guide, Lambda limitations).
// CodeBuild reads the buildspec in DOWNLOAD_SOURCE, so that is where the
// build fails, with a YAML_FILE_ERROR like other buildspec problems.
func (run *buildRun) checkOnFailure(spec *buildspec.Spec) outcome {
	if !run.lambda {
		return succeeded
	}
	for _, ph := range spec.Phases.List() {
		if ph.Phase.OnFailure.Value != "" {
			return outcome{model.StatusFailed, codeYAML, fmt.Sprintf("on-failure is not supported for Lambda compute: phases/%s/on-failure is %s", strings.ToLower(ph.Name), ph.Phase.OnFailure.Value)}
		}
	}
	return succeeded
}

// chownTree gives every file under dir (dir too) to u, without following
// links.
func chownTree(dir string, u *sandbox.User) error {
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(u.UID), int(u.GID))
	})
}

// buildspecPhases runs INSTALL … POST_BUILD and UPLOAD_ARTIFACTS with
// CodeBuild's transitions on failure.
func (run *buildRun) buildspecPhases(ctx context.Context, spec *buildspec.Spec) error {
	var exported bool
	phases := spec.Phases.List()
	byName := make(map[string]*buildspec.Phase, len(phases))
	for _, ph := range phases {
		byName[ph.Name] = ph.Phase
	}
	next := buildspec.PhaseNames()[0]
	for next != "" {
		name := next
		if err := run.beginPhase(name); err != nil {
			return err
		}
		st := succeeded
		if name == model.PhaseUploadArtifacts {
			st = run.uploadArtifacts(ctx, spec)
		} else {
			run.agent("Entering phase %s", name)
			st = run.runPhase(ctx, spec, byName[name])
		}
		if name == model.PhasePostBuild {
			run.exportVariables(spec)
			exported = true
		}
		if run.finishPhase(ctx, st) {
			next = buildspec.NextPhase(name)
			continue
		}
		if ctx.Err() != nil {
			break
		}
		var onFailure buildspec.OnFailure
		if ph := byName[name]; ph != nil {
			onFailure = ph.OnFailure
		}
		next = buildspec.NextPhaseAfterFailure(name, onFailure)
	}
	if !exported {
		run.exportVariables(spec)
	}
	return nil
}

// runPhase runs one phase's commands, then its finally commands.
func (run *buildRun) runPhase(ctx context.Context, spec *buildspec.Spec, ph *buildspec.Phase) outcome {
	if ph == nil {
		return succeeded
	}
	st := run.runCommands(ctx, spec, ph.Commands)
	if ctx.Err() != nil {
		return interrupted(ctx)
	}
	if len(ph.Finally) > 0 {
		if fst := run.runCommands(ctx, spec, ph.Finally); st.ok() {
			st = fst
		}
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
	}
	return st
}

// runCommands runs commands in order until one fails.
func (run *buildRun) runCommands(ctx context.Context, spec *buildspec.Spec, cmds []string) outcome {
	for _, cmd := range cmds {
		run.agent("Running command %s", cmd)
		script := cmd
		if spec.Version == "0.1" {
			// 0.1 runs each command in a shell of its own.
			script = "(\n" + cmd + "\n)"
		}
		if run.prelude != "" {
			script = run.prelude + "\n" + script
			run.prelude = ""
		}
		if err := run.flush(); err != nil {
			return fault("%v", err)
		}
		// Counted around each command: an earlier command's OOM kill (one a
		// build survived with `|| true`) is not this command's failure.
		ooms := run.shell.OOMKills()
		code, err := run.shell.Run(ctx, script)
		run.log.Flush()
		if err != nil {
			if ctx.Err() != nil {
				return interrupted(ctx)
			}
			return fault("run command %q: %v", cmd, err)
		}
		if code != 0 {
			run.agent("Command did not exit successfully %s exit status %d", cmd, code)
			msg := fmt.Sprintf("Error while executing command: %s. Reason: exit status %d", cmd, code)
			if run.shell.OOMKills() > ooms {
				msg += fmt.Sprintf(" (out of memory: the build used more than the %s memory limit of %s)", computeOf(run.b.Environment), run.memoryLimit())
			}
			return outcome{model.StatusFailed, codeCommand, msg}
		}
	}
	return succeeded
}

func computeOf(e *model.ProjectEnvironment) string {
	if e == nil || e.ComputeType == "" {
		return model.ComputeSmall // what SizeFor gives then
	}
	return e.ComputeType
}

// memoryLimit is the build's memory limit as its cgroup has it: its
// compute type's, capped at the host's memory.
func (run *buildRun) memoryLimit() string {
	mb := model.SizeFor(run.b.Environment).MemoryMB
	if l := run.limits.MemoryBytes; l > 0 {
		mb = min(mb, l>>20)
	}
	return fmt.Sprintf("%d MB", mb)
}

// uploadArtifacts handles UPLOAD_ARTIFACTS. Artifact upload lands with the
// artifacts feature; until then a build with S3 artifacts says so.
func (run *buildRun) uploadArtifacts(ctx context.Context, spec *buildspec.Spec) outcome {
	return succeeded
}

// exportVariables reads env.exported-variables from the shell into the
// build. CodeBuild does not export AWS_* names, nor the project's
// PARAMETER_STORE and SECRETS_MANAGER variables (they would show their
// values in BatchGetBuilds); such names are left out silently.
func (run *buildRun) exportVariables(spec *buildspec.Spec) {
	if run.shell == nil || len(spec.Env.ExportedVariables) == 0 {
		return
	}
	var names []string
	for _, n := range spec.Env.ExportedVariables {
		if sandbox.ShellName(n) && !strings.HasPrefix(n, "AWS_") && !run.noExport[n] {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return
	}
	var sb strings.Builder
	for _, n := range names {
		// printf with NUL separators survives any value but NUL itself.
		fmt.Fprintf(&sb, "printf '%%s\\0' \"${%s-}\"\n", n)
	}
	out, _, err := run.shell.Capture(context.WithoutCancel(run.saveCtx), sb.String())
	if err != nil {
		run.r.cfg.Log.Warn("read exported variables", "build", run.b.ID, "err", err)
		return
	}
	values := strings.Split(string(out), "\x00")
	for i, n := range names {
		v := ""
		if i < len(values) {
			v = values[i]
		}
		// A secret copied into an exported variable stays masked:
		// BatchGetBuilds never shows a resolved value.
		v = run.maskValue(v)
		run.b.ExportedEnvironmentVariables = append(run.b.ExportedEnvironmentVariables, model.ExportedEnvironmentVariable{Name: n, Value: v})
	}
}

// finalize runs FINALIZING and COMPLETED.
func (run *buildRun) finalize(ctx context.Context) error {
	if err := run.beginPhase(model.PhaseFinalizing); err != nil {
		return err
	}
	st := succeeded
	if run.shell != nil {
		// Closing can wait on background processes: show FINALIZING meanwhile.
		if err := run.flush(); err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := run.shell.Close(cctx)
		cancel()
		run.shell = nil
		if err != nil {
			run.r.cfg.Log.Warn("close sandbox", "build", run.b.ID, "err", err)
		}
	}
	if run.log != nil {
		run.log.Flush()
	}
	run.endPhase(st.status, st.code, st.message)
	if err := run.complete(); err != nil {
		return err
	}
	return nil
}

// cleanup releases what the build held, whatever happened.
func (run *buildRun) cleanup() {
	defer run.releaseCredentials() // they die with the build
	if run.unkill != nil {
		run.unkill()
	}
	if run.machine != nil {
		run.machine.Discard() // the build ended before its sandbox started
	}
	if run.on.Fleet != "" {
		defer run.r.warm.done(run.on.Fleet)
	}
	defer func() {
		// The tree goes back to the cache only once the sandbox that
		// mounted it is gone.
		if run.releaseTree != nil {
			run.releaseTree()
		}
	}()
	if run.shell != nil {
		run.shell.Kill(0)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		run.shell.Close(ctx)
		cancel()
	}
	if run.log != nil {
		run.log.Close()
	}
	if run.dir != "" {
		os.RemoveAll(run.dir)
	}
}

// agent writes a CodeBuild-style agent line to the build log.
func (run *buildRun) agent(format string, a ...any) {
	if run.log == nil {
		return
	}
	run.log.Flush()
	ts := run.r.cfg.Now().UTC().Format("2006/01/02 15:04:05.000000")
	fmt.Fprintf(run.log, "[Container] %s %s\n", ts, fmt.Sprintf(format, a...))
}
