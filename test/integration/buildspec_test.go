package integration

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/klauspost/compress/zstd"
)

// Values the builds resolve from SSM and Secrets Manager. None of them may
// ever show in a build log or in BatchGetBuilds output; the buildspecs
// therefore never spell them out, they compare base64 digests instead.
const (
	bsParamPlain  = "plain-param-value-17"
	bsParamSecure = "s3cure-param-value-91"
	bsSecretWhole = "whole-secret-value-42"
	bsSecretUser  = "admin-user-77"
	bsSecretPass  = "p4ss-word-from-json-88"
)

var bsSecretValues = []string{bsParamPlain, bsParamSecure, bsSecretWhole, bsSecretUser, bsSecretPass}

func bsB64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// bsBucket holds the S3 sources of the table.
const bsBucket = "hangar-buildspec-src"

// bsCase is one build of the buildspec table.
type bsCase struct {
	name     string
	spec     string               // project buildspec: inline YAML or a path in the source
	source   *types.ProjectSource // nil: NO_SOURCE with spec
	env      []types.EnvironmentVariable
	override []types.EnvironmentVariable
	// prepare runs before StartBuild and may add override variables; the
	// returned func runs after the build completed.
	prepare func(t *testing.T, r *Runner) ([]types.EnvironmentVariable, func())

	status types.StatusType // "" means SUCCEEDED
	// phases lists every phase from DOWNLOAD_SOURCE up to (not including)
	// FINALIZING, as "TYPE" (SUCCEEDED) or "TYPE=STATUS"; nil means all of
	// them SUCCEEDED. SUBMITTED, QUEUED, PROVISIONING, FINALIZING and
	// COMPLETED are checked for every build.
	phases []string
	// failed gives the context {statusCode, message} of each phase that
	// did not succeed.
	failed map[string][2]string
	// exported is exportedEnvironmentVariables as "NAME=value", in order.
	exported []string
	// log lines that must appear in this order (others may come between).
	// Agent lines are written "[Container] Text" without the timestamp; a
	// line starting "re:" is a regular expression for a whole line.
	log []string
	// notLog are substrings no log line may contain.
	notLog []string
	check  func(t *testing.T, b types.Build, log []string)
}

var (
	bsAllPhases    = []string{"DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS"}
	bsSpecPhases   = []string{"INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD"}
	bsAgentStamp   = regexp.MustCompile(`^\[Container\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} `)
	bsInlineSpecAt = "[Container] YAML location is /codebuild/readonly/buildspec.yml"
)

// bsCmdError is the context of a phase whose command cmd exited with code.
func bsCmdError(cmd string, code int) [2]string {
	return [2]string{"COMMAND_EXECUTION_ERROR", fmt.Sprintf("Error while executing command: %s. Reason: exit status %d", cmd, code)}
}

func bsPlain(name, value string) types.EnvironmentVariable {
	return bsEnvVar(name, value, types.EnvironmentVariableTypePlaintext)
}

func bsParam(name, value string) types.EnvironmentVariable {
	return bsEnvVar(name, value, types.EnvironmentVariableTypeParameterStore)
}

func bsSecret(name, value string) types.EnvironmentVariable {
	return bsEnvVar(name, value, types.EnvironmentVariableTypeSecretsManager)
}

func bsEnvVar(name, value string, typ types.EnvironmentVariableType) types.EnvironmentVariable {
	return types.EnvironmentVariable{Name: aws.String(name), Value: aws.String(value), Type: typ}
}

// TestBuildspec runs real builds on one runner, one per case, and checks
// CodeBuild's buildspec semantics on each: build and phase statuses,
// contexts, exported variables and log lines.
func TestBuildspec(t *testing.T) {
	start := time.Now()
	r := bsStartRunner(t)
	cb := r.CodeBuild()
	ctx := context.Background()

	// Parameters and secrets the builds resolve.
	for name, p := range map[string]struct {
		value string
		typ   ssmtypes.ParameterType
	}{
		"/hangar/bs/plain":  {bsParamPlain, ssmtypes.ParameterTypeString},
		"/hangar/bs/secure": {bsParamSecure, ssmtypes.ParameterTypeSecureString},
	} {
		if _, err := r.SSM().PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(p.value), Type: p.typ}); err != nil {
			t.Fatalf("put parameter %s: %v", name, err)
		}
	}
	for name, v := range map[string]string{
		"hangar/bs/whole": bsSecretWhole,
		"hangar/bs/json":  fmt.Sprintf(`{"user":%q,"pass":%q}`, bsSecretUser, bsSecretPass),
	} {
		if _, err := r.Secrets().CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(v)}); err != nil {
			t.Fatalf("create secret %s: %v", name, err)
		}
	}

	// S3 sources.
	escape := bsEscapeDir(t)
	s3c := r.S3()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bsBucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	up := bsEscapeUp(escape) // "../../…/var/tmp/hangar-esc-…": from anywhere to the escape dir
	objects := map[string][]byte{
		"src.zip":         bsZip(t, bsSourceFiles),
		"src.tar":         bsTar(t, bsSourceFiles),
		"src.tar.gz":      bsGzip(t, bsTar(t, bsSourceFiles)),
		"src.tar.zst":     bsZstd(t, bsTar(t, bsSourceFiles)),
		"dotdot.tar":      bsTar(t, []bsFile{{name: "ok.txt", body: "ok\n"}, {name: up + "/dotdot", body: "escaped\n"}}),
		"absolute.tar":    bsTar(t, []bsFile{{name: "ok.txt", body: "ok\n"}, {name: escape + "/absolute", body: "escaped\n"}}),
		"symlink-out.tar": bsTar(t, []bsFile{{name: "evil", link: up}, {name: "evil/through-link", body: "escaped\n"}}),
	}
	for key, body := range objects {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bsBucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("put object %s: %v", key, err)
		}
	}

	cases := bsCases(r, escape)
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	t.Run("cases", func(t *testing.T) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				bsRun(t, r, cb, fmt.Sprintf("bs-%02d", i), tc)
			})
		}
	})

	// Nothing of the unsafe archives landed outside their build.
	if ents, err := os.ReadDir(escape); err != nil || len(ents) > 0 {
		t.Errorf("escape dir %s: %v, entries %v", escape, err, ents)
	}
	t.Logf("%d builds in %v", len(cases), time.Since(start).Round(time.Millisecond))
}

// bsStartRunner starts a runner whose state dir is not under /tmp:
// every build has a /tmp of its own, so a state dir there would be out of
// sight anyway and the "state dir is hidden" case would prove nothing.
func bsStartRunner(t *testing.T) *Runner {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "hangar-bs-state-")
	if err != nil {
		t.Fatalf("state dir outside /tmp: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r := &Runner{t: t, State: dir}
	r.Start()
	t.Cleanup(r.Stop) // before the RemoveAll above
	r.CreateBuildRole(TestRoleName, testRolePolicy)
	return r
}

// bsEscapeDir is an empty directory the unsafe archives aim at.
func bsEscapeDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "hangar-bs-escape-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// bsEscapeUp is a relative path that climbs to / from any depth and goes
// down to abs.
func bsEscapeUp(abs string) string { return strings.Repeat("../", 24) + strings.TrimPrefix(abs, "/") }

// bsRun makes the case's project, runs its build and checks it.
func bsRun(t *testing.T, r *Runner, cb *codebuild.Client, project string, tc bsCase) {
	ctx := context.Background()
	src := tc.source
	if src == nil {
		src = &types.ProjectSource{Type: types.SourceTypeNoSource}
	}
	src = &types.ProjectSource{Type: src.Type, Location: src.Location, Buildspec: src.Buildspec}
	if tc.spec != "" {
		src.Buildspec = aws.String(tc.spec)
	}
	_, err := cb.CreateProject(ctx, &codebuild.CreateProjectInput{
		Name:      aws.String(project),
		Source:    src,
		Artifacts: &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts},
		Environment: &types.ProjectEnvironment{
			Type:                 types.EnvironmentTypeLinuxContainer,
			Image:                aws.String("aws/codebuild/amazonlinux2-x86_64-standard:5.0"),
			ComputeType:          types.ComputeTypeBuildGeneral1Small,
			EnvironmentVariables: tc.env,
		},
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/hangar-test"),
	})
	if err != nil {
		t.Fatalf("create project: %v", err)
	}
	override := tc.override
	if tc.prepare != nil {
		extra, done := tc.prepare(t, r)
		defer done()
		override = append(slices.Clip(override), extra...)
	}
	out, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String(project), EnvironmentVariablesOverride: override})
	if err != nil {
		t.Fatalf("start build: %v", err)
	}
	b := WaitBuild(t, cb, aws.ToString(out.Build.Id), 30*time.Second)
	raw := BuildLog(t, r, b)
	log := make([]string, len(raw))
	for i, l := range raw {
		log[i] = bsAgentStamp.ReplaceAllString(l, "[Container] ")
		if strings.HasPrefix(l, "[Container]") && log[i] == l {
			t.Errorf("agent line without a CodeBuild timestamp: %q", l)
		}
	}
	defer func() {
		if t.Failed() {
			t.Logf("log:\n%s", strings.Join(log, "\n"))
		}
	}()

	want := tc.status
	if want == "" {
		want = types.StatusTypeSucceeded
	}
	if b.BuildStatus != want {
		t.Errorf("build status %s, want %s", b.BuildStatus, want)
	}
	bsCheckPhases(t, b, tc)
	bsCheckPhaseLog(t, log, tc)
	if len(tc.log) > 0 {
		if missing := bsMissingInOrder(log, tc.log); missing != "" {
			t.Errorf("log lacks (in order) %q", missing)
		}
	}
	for _, s := range tc.notLog {
		for _, l := range log {
			if strings.Contains(l, s) {
				t.Errorf("log has %q: %q", s, l)
			}
		}
	}

	var got []string
	for _, v := range b.ExportedEnvironmentVariables {
		got = append(got, aws.ToString(v.Name)+"="+aws.ToString(v.Value))
	}
	if !slices.Equal(got, tc.exported) {
		t.Errorf("exportedEnvironmentVariables %q, want %q", got, tc.exported)
	}

	// Resolved values never leave the build: not in the log, not in the API.
	body, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range bsSecretValues {
		if bytes.Contains(body, []byte(s)) {
			t.Errorf("BatchGetBuilds output has the value %q", s)
		}
		for _, l := range raw {
			if strings.Contains(l, s) {
				t.Errorf("log line has the value %q: %q", s, l)
			}
		}
	}
	if tc.check != nil {
		tc.check(t, b, log)
	}
}

// bsCheckPhases compares phases[] with the case: order, presence, statuses
// and contexts.
func bsCheckPhases(t *testing.T, b types.Build, tc bsCase) {
	t.Helper()
	want := []string{"SUBMITTED", "QUEUED", "PROVISIONING"}
	listed := tc.phases
	if listed == nil {
		listed = bsAllPhases
	}
	want = append(append(want, listed...), "FINALIZING", "COMPLETED")
	var got []string
	for _, p := range b.Phases {
		s := string(p.PhaseType)
		if p.PhaseStatus != "" && p.PhaseStatus != types.StatusTypeSucceeded {
			s += "=" + string(p.PhaseStatus)
		}
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("phases %q, want %q", got, want)
	}
	for _, p := range b.Phases {
		typ := string(p.PhaseType)
		switch typ {
		case "SUBMITTED", "QUEUED":
			if p.PhaseStatus != types.StatusTypeSucceeded || len(p.Contexts) != 0 {
				t.Errorf("%s: status %s contexts %v", typ, p.PhaseStatus, p.Contexts)
			}
			continue
		case "COMPLETED":
			if p.PhaseStatus != "" || p.EndTime != nil {
				t.Errorf("COMPLETED has status %q / end time", p.PhaseStatus)
			}
			continue
		}
		if p.PhaseStatus == "" || p.EndTime == nil || p.DurationInSeconds == nil {
			t.Errorf("%s not ended: %+v", typ, p)
		}
		wantCtx, failed := tc.failed[typ]
		if p.PhaseStatus == types.StatusTypeSucceeded {
			if failed {
				t.Errorf("%s succeeded; the case expects context %q", typ, wantCtx)
			}
			wantCtx = [2]string{"", ""}
		} else if !failed {
			t.Errorf("%s is %s but the case gives no context for it", typ, p.PhaseStatus)
		}
		if len(p.Contexts) != 1 {
			t.Errorf("%s: %d contexts, want 1", typ, len(p.Contexts))
			continue
		}
		if c := p.Contexts[0]; aws.ToString(c.StatusCode) != wantCtx[0] || !bsMatches(wantCtx[1], aws.ToString(c.Message)) {
			t.Errorf("%s context = %q / %q, want %q / %q", typ, aws.ToString(c.StatusCode), aws.ToString(c.Message), wantCtx[0], wantCtx[1])
		}
	}
	if b.CurrentPhase == nil || *b.CurrentPhase != "COMPLETED" || !b.BuildComplete || b.EndTime == nil {
		t.Errorf("build not complete: phase %v complete %v", aws.ToString(b.CurrentPhase), b.BuildComplete)
	}
}

// bsCheckPhaseLog checks the agent lines every phase writes: "Entering
// phase X" for the buildspec phases that ran (and for no other), then
// "Phase complete" and "Phase context status code" with the phase's
// outcome, all in order.
func bsCheckPhaseLog(t *testing.T, log []string, tc bsCase) {
	t.Helper()
	listed := tc.phases
	if listed == nil {
		listed = bsAllPhases
	}
	var want []string
	ran := map[string]bool{}
	for _, p := range listed {
		typ, status, _ := strings.Cut(p, "=")
		if status == "" {
			status = "SUCCEEDED"
		}
		ran[typ] = true
		if slices.Contains(bsSpecPhases, typ) {
			want = append(want, "[Container] Entering phase "+typ)
		}
		ctx := tc.failed[typ]
		ctxLine := bsFirstLine(fmt.Sprintf("[Container] Phase context status code: %s Message: %s", ctx[0], ctx[1]))
		if p, ok := strings.CutPrefix(ctx[1], "re:"); ok {
			ctxLine = "re:" + regexp.QuoteMeta(fmt.Sprintf("[Container] Phase context status code: %s Message: ", ctx[0])) + p
		}
		// A multi-line message continues on the next lines.
		want = append(want, fmt.Sprintf("[Container] Phase complete: %s State: %s", typ, status), ctxLine)
	}
	if missing := bsMissingInOrder(log, want); missing != "" {
		t.Errorf("log lacks phase line (in order) %q", missing)
	}
	for _, p := range bsSpecPhases {
		if !ran[p] && slices.Contains(log, "[Container] Entering phase "+p) {
			t.Errorf("log enters %s, which must not run", p)
		}
	}
}

func bsFirstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// bsMatches reports whether s is want, or matches the regular expression
// after "re:" in want.
func bsMatches(want, s string) bool {
	if p, ok := strings.CutPrefix(want, "re:"); ok {
		return regexp.MustCompile("^(?:" + p + ")$").MatchString(s)
	}
	return s == want
}

// bsMissingInOrder returns the first wanted line not found after the ones
// before it, or "".
func bsMissingInOrder(log, want []string) string {
	i := 0
	for _, w := range want {
		for ; i < len(log); i++ {
			if bsMatches(w, log[i]) {
				break
			}
		}
		if i == len(log) {
			return w
		}
		i++
	}
	return ""
}

// bsLogValue returns the value of the first output line "NAME=value".
func bsLogValue(t *testing.T, log []string, name string) string {
	t.Helper()
	for _, l := range log {
		if v, ok := strings.CutPrefix(l, name+"="); ok {
			return v
		}
	}
	t.Errorf("log has no line %s=…", name)
	return ""
}

// bsCases is the table. It needs the runner for its state dir, and
// the directory the unsafe archives aim at.
func bsCases(r *Runner, escape string) []bsCase {
	s3src := func(key, spec string) *types.ProjectSource {
		src := &types.ProjectSource{Type: types.SourceTypeS3, Location: aws.String(bsBucket + "/" + key)}
		if spec != "" {
			src.Buildspec = aws.String(spec)
		}
		return src
	}
	downloadFailed := []string{"DOWNLOAD_SOURCE=FAILED"}
	// The archives carry buildspec.yml, which checks their contents.
	archiveLog := []string{
		`re:\[Container\] YAML location is /codebuild/output/src\d+/src/buildspec.yml`,
		"[Container] Running command ./bin/run.sh",
		"run.sh ran from the archive",
		"exec-bits-ok",
		"link.txt -> data.txt",
		"data from the archive",
	}
	return []bsCase{
		{
			name: "phase order with NO_SOURCE and an inline buildspec",
			spec: `version: 0.2
phases:
  post_build:
    commands:
      - echo in post_build
  build:
    commands:
      - echo in build
    finally:
      - echo build finally
  pre_build:
    commands:
      - echo in pre_build
  install:
    commands:
      - echo in install
`,
			log: []string{
				bsInlineSpecAt,
				"[Container] Entering phase INSTALL", "[Container] Running command echo in install", "in install",
				"[Container] Entering phase PRE_BUILD", "in pre_build",
				"[Container] Entering phase BUILD", "in build", "[Container] Running command echo build finally", "build finally",
				"[Container] Entering phase POST_BUILD", "in post_build",
			},
			check: func(t *testing.T, b types.Build, log []string) {
				if b.Source.Type != types.SourceTypeNoSource {
					t.Errorf("source type %s", b.Source.Type)
				}
			},
		},
		{
			name: "INSTALL failure goes to FINALIZING",
			spec: `version: 0.2
phases:
  install:
    commands:
      - echo installing
      - exit 5
      - echo not reached
  pre_build:
    commands: [echo pre_build ran]
  build:
    commands: [echo build ran]
  post_build:
    commands: [echo post_build ran]
`,
			status: types.StatusTypeFailed,
			phases: []string{"DOWNLOAD_SOURCE", "INSTALL=FAILED"},
			failed: map[string][2]string{"INSTALL": bsCmdError("exit 5", 5)},
			log: []string{
				"installing",
				"[Container] Running command exit 5",
				"[Container] Command did not exit successfully exit 5 exit status 5",
				"[Container] Phase complete: INSTALL State: FAILED",
				"[Container] Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: exit 5. Reason: exit status 5",
			},
			notLog: []string{"not reached", "pre_build ran", "build ran", "Phase complete: UPLOAD_ARTIFACTS"},
		},
		{
			name: "PRE_BUILD failure goes to FINALIZING",
			spec: `version: 0.2
phases:
  pre_build:
    commands:
      - "false"
  build:
    commands: [echo build ran]
  post_build:
    commands: [echo post_build ran]
`,
			status: types.StatusTypeFailed,
			phases: []string{"DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD=FAILED"},
			failed: map[string][2]string{"PRE_BUILD": bsCmdError("false", 1)},
			log:    []string{"[Container] Running command false", "[Container] Command did not exit successfully false exit status 1"},
			notLog: []string{"build ran"},
		},
		{
			name: "BUILD failure still runs POST_BUILD and UPLOAD_ARTIFACTS",
			spec: `version: 0.2
phases:
  build:
    commands:
      - echo building
      - exit 3
      - echo not reached
  post_build:
    commands:
      - echo post_build ran
`,
			status: types.StatusTypeFailed,
			phases: []string{"DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD=FAILED", "POST_BUILD", "UPLOAD_ARTIFACTS"},
			failed: map[string][2]string{"BUILD": bsCmdError("exit 3", 3)},
			log: []string{
				"building",
				"[Container] Running command exit 3",
				"[Container] Command did not exit successfully exit 3 exit status 3",
				"[Container] Phase complete: BUILD State: FAILED",
				"[Container] Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: exit 3. Reason: exit status 3",
				"[Container] Entering phase POST_BUILD",
				"post_build ran",
				"[Container] Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED",
			},
			notLog: []string{"not reached"},
		},
		{
			name: "POST_BUILD failure still runs UPLOAD_ARTIFACTS",
			spec: `version: 0.2
phases:
  build:
    commands: [echo built]
  post_build:
    commands:
      - exit 7
`,
			status: types.StatusTypeFailed,
			phases: []string{"DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD=FAILED", "UPLOAD_ARTIFACTS"},
			failed: map[string][2]string{"POST_BUILD": bsCmdError("exit 7", 7)},
		},
		{
			name: "finally runs after a failed command and the rest is skipped",
			spec: `version: 0.2
phases:
  build:
    commands:
      - echo first
      - exit 2
      - echo skipped command
    finally:
      - echo finally one
      - echo finally two
  post_build:
    commands:
      - echo post_build ran
`,
			status: types.StatusTypeFailed,
			phases: []string{"DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD=FAILED", "POST_BUILD", "UPLOAD_ARTIFACTS"},
			failed: map[string][2]string{"BUILD": bsCmdError("exit 2", 2)},
			log:    []string{"first", "[Container] Command did not exit successfully exit 2 exit status 2", "finally one", "finally two", "[Container] Phase complete: BUILD State: FAILED", "post_build ran"},
			notLog: []string{"skipped command"},
		},
		{
			name: "a failing finally command fails its phase",
			spec: `version: 0.2
phases:
  pre_build:
    commands:
      - echo commands ok
    finally:
      - exit 4
      - echo after failed finally
  build:
    commands: [echo build ran]
`,
			status: types.StatusTypeFailed,
			phases: []string{"DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD=FAILED"},
			failed: map[string][2]string{"PRE_BUILD": bsCmdError("exit 4", 4)},
			log:    []string{"commands ok", "[Container] Running command exit 4"},
			notLog: []string{"after failed finally", "build ran"},
		},
		{
			name: "on-failure ABORT ends the build after the phase",
			spec: `version: 0.2
phases:
  build:
    on-failure: ABORT
    commands:
      - exit 9
  post_build:
    commands: [echo post_build ran]
`,
			status: types.StatusTypeFailed,
			phases: []string{"DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD=FAILED"},
			failed: map[string][2]string{"BUILD": bsCmdError("exit 9", 9)},
			notLog: []string{"post_build ran", "UPLOAD_ARTIFACTS"},
		},
		{
			name: "on-failure CONTINUE goes on to the next phase",
			spec: `version: 0.2
phases:
  pre_build:
    on-failure: CONTINUE
    commands:
      - exit 6
  build:
    commands:
      - echo build ran succeeding=$CODEBUILD_BUILD_SUCCEEDING
  post_build:
    commands: [echo post_build ran]
`,
			status: types.StatusTypeFailed,
			phases: []string{"DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD=FAILED", "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS"},
			failed: map[string][2]string{"PRE_BUILD": bsCmdError("exit 6", 6)},
			log:    []string{"build ran succeeding=0", "post_build ran"},
		},
		{
			name: "cd carries across commands and phases",
			spec: `version: 0.2
phases:
  install:
    commands:
      - mkdir -p a/b/c && cd a
      - cd b
  build:
    commands:
      - pwd | sed "s|^$CODEBUILD_SRC_DIR|SRC|"
      - cd c
  post_build:
    commands:
      - pwd | sed "s|^$CODEBUILD_SRC_DIR|SRC|"
`,
			log: []string{"SRC/a/b", "SRC/a/b/c"},
		},
		{
			name: "exported and plain variables and functions carry across commands and phases",
			spec: `version: 0.2
phases:
  install:
    commands:
      - export X=1
      - Y=2
      - 'greet() { echo "hello from $1"; }'
  pre_build:
    commands:
      - echo "X=$X Y=$Y"
      - Y=$((Y+1))
  build:
    commands:
      - greet build
      - echo "Y=$Y"
      - sh -c 'echo "child X=$X Y=${Y:-unset}"'
`,
			log: []string{"X=1 Y=2", "hello from build", "Y=3", "child X=1 Y=unset"},
		},
		{
			name: "exit in a command fails it but keeps variables and cwd for later phases",
			spec: `version: 0.2
env:
  exported-variables: [KEPT]
phases:
  build:
    commands:
      - KEPT=before-exit; export ALSO=exported; mkdir -p sub; cd sub
      - exit 3
  post_build:
    commands:
      - echo "KEPT=$KEPT ALSO=$ALSO in $(basename "$PWD")"
`,
			status:   types.StatusTypeFailed,
			phases:   []string{"DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD=FAILED", "POST_BUILD", "UPLOAD_ARTIFACTS"},
			failed:   map[string][2]string{"BUILD": bsCmdError("exit 3", 3)},
			exported: []string{"KEPT=before-exit"},
			log:      []string{"KEPT=before-exit ALSO=exported in sub"},
		},
		{
			name: "a multi-line command whose last line fails fails",
			spec: `version: 0.2
phases:
  build:
    commands:
      - |
        echo line one
        sh -c 'exit 4'
      - echo not reached
`,
			status: types.StatusTypeFailed,
			phases: []string{"DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD=FAILED", "POST_BUILD", "UPLOAD_ARTIFACTS"},
			failed: map[string][2]string{"BUILD": bsCmdError("echo line one\nsh -c 'exit 4'\n", 4)},
			log:    []string{"[Container] Running command echo line one", "sh -c 'exit 4'", "line one"},
			notLog: []string{"not reached"},
		},
		{
			name: "a multi-line command whose middle line fails succeeds (no set -e)",
			spec: `version: 0.2
phases:
  build:
    commands:
      - |
        echo before
        false
        echo after false
`,
			log: []string{"before", "after false"},
		},
		{
			name: "CODEBUILD_BUILD_SUCCEEDING is 1 until a phase fails",
			spec: `version: 0.2
phases:
  install:
    commands: ['echo "install=$CODEBUILD_BUILD_SUCCEEDING"']
  pre_build:
    commands: ['echo "pre_build=$CODEBUILD_BUILD_SUCCEEDING"']
  build:
    commands:
      - echo "build=$CODEBUILD_BUILD_SUCCEEDING"
      - exit 1
  post_build:
    commands: ['echo "post_build=$CODEBUILD_BUILD_SUCCEEDING"']
`,
			status: types.StatusTypeFailed,
			phases: []string{"DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD=FAILED", "POST_BUILD", "UPLOAD_ARTIFACTS"},
			failed: map[string][2]string{"BUILD": bsCmdError("exit 1", 1)},
			log:    []string{"install=1", "pre_build=1", "build=1", "post_build=0"},
		},
		{
			name: "env.variables are literal strings",
			spec: `version: 0.2
env:
  variables:
    PATH_X: "$HOME/x"
    NUM: 5
    FLOAT: 1.50
    FLAG: yes
    SUBST: $(echo no)
  exported-variables: [PATH_X, NUM, FLOAT, FLAG, SUBST]
phases:
  build:
    commands:
      - echo "PATH_X=$PATH_X"
`,
			exported: []string{"PATH_X=$HOME/x", "NUM=5", "FLOAT=1.50", "FLAG=yes", "SUBST=$(echo no)"},
			log:      []string{"PATH_X=$HOME/x"},
		},
		{
			name: "env.shell sh runs /bin/sh, still one shell",
			spec: `version: 0.2
env:
  shell: sh
phases:
  install:
    commands:
      - cd /tmp; V=in-sh
  build:
    commands:
      - echo "exe=$(readlink /proc/$$/exe) V=$V pwd=$(pwd)"
`,
			check: func(t *testing.T, b types.Build, log []string) {
				sh, err := filepath.EvalSymlinks("/bin/sh")
				if err != nil {
					t.Fatal(err)
				}
				if got := bsLogValue(t, log, "exe"); got != sh+" V=in-sh pwd=/tmp" {
					t.Errorf("sh build: exe=%s, want %s V=in-sh pwd=/tmp", got, sh)
				}
			},
		},
		{
			name: "the default shell is bash",
			spec: `version: 0.2
phases:
  build:
    commands:
      - 'arr=(a b c); [[ ${#arr[@]} == 3 ]] && echo "bash=${BASH_VERSION:+yes} exe=$(readlink /proc/$$/exe)"'
`,
			log: []string{"re:bash=yes exe=/(usr/)?bin/bash"},
		},
		{
			name: "env.parameter-store resolves String and SecureString parameters",
			spec: `version: 0.2
env:
  parameter-store:
    PLAIN_P: /hangar/bs/plain
    SECURE_P: /hangar/bs/secure
phases:
  build:
    commands:
      - echo "b64=$(printf %s "$PLAIN_P" | base64) $(printf %s "$SECURE_P" | base64)"
      - echo "secure=$SECURE_P plain=$PLAIN_P"
`,
			log: []string{"[Container] Decrypting parameter store environment variables", "b64=" + bsB64(bsParamPlain) + " " + bsB64(bsParamSecure), "secure=*** plain=***"},
		},
		{
			name: "env.secrets-manager resolves whole secrets and json keys, masked in the log",
			spec: `version: 0.2
env:
  secrets-manager:
    WHOLE: hangar/bs/whole
    PASS: hangar/bs/json:pass
phases:
  build:
    commands:
      - echo "b64=$(printf %s "$WHOLE" | base64) $(printf %s "$PASS" | base64)"
      - echo "whole=$WHOLE"
      - printf 'pass=%s\n' "$PASS"
      - printf %s "${WHOLE:0:3}"; printf '%s\n' "${WHOLE:3}"
      - 'printf "%s" "${PASS:0:4}"; sleep 0.05; printf "%s and more\n" "${PASS:4}"'
      - printf %s "$WHOLE"
      - echo next
`,
			log: []string{
				"b64=" + bsB64(bsSecretWhole) + " " + bsB64(bsSecretPass), "whole=***", "pass=***", "***", "*** and more",
				// Output without a final newline is flushed as a line of
				// its own before the next agent line, masked too.
				`[Container] Running command printf %s "$WHOLE"`, "***", "[Container] Running command echo next",
			},
		},
		{
			name: "a secret written by two commands is never whole in one log line",
			spec: `version: 0.2
env:
  secrets-manager:
    WHOLE: hangar/bs/whole
phases:
  build:
    commands:
      - printf %s "${WHOLE:0:6}"
      - printf '%s\n' "${WHOLE:6}"
`,
			// The global checks find no line with the whole value.
			log: []string{"[Container] Running command printf '%s\\n' \"${WHOLE:6}\""},
		},
		{
			name: "project PARAMETER_STORE and SECRETS_MANAGER variables are resolved and not exported",
			spec: `version: 0.2
env:
  exported-variables: [PROJ_P, PROJ_S, PROJ_PLAIN]
phases:
  build:
    commands:
      - echo "b64=$(printf %s "$PROJ_P" | base64) $(printf %s "$PROJ_S" | base64)"
      - echo "P=$PROJ_P S=$PROJ_S"
`,
			env: []types.EnvironmentVariable{
				bsParam("PROJ_P", "/hangar/bs/secure"),
				bsSecret("PROJ_S", "hangar/bs/json:user"),
				bsPlain("PROJ_PLAIN", "visible"),
			},
			exported: []string{"PROJ_PLAIN=visible"},
			log:      []string{"b64=" + bsB64(bsParamSecure) + " " + bsB64(bsSecretUser), "P=*** S=***"},
		},
		{
			name: "StartBuild PARAMETER_STORE and SECRETS_MANAGER overrides are resolved",
			spec: `version: 0.2
phases:
  build:
    commands:
      - echo "b64=$(printf %s "$OV_P" | base64) $(printf %s "$OV_S" | base64)"
      - echo "P=$OV_P S=$OV_S"
`,
			override: []types.EnvironmentVariable{
				bsParam("OV_P", "/hangar/bs/plain"),
				bsSecret("OV_S", "hangar/bs/whole"),
			},
			log: []string{"b64=" + bsB64(bsParamPlain) + " " + bsB64(bsSecretWhole), "P=*** S=***"},
		},
		{
			name: "precedence: StartBuild override over project",
			spec: `version: 0.2
env:
  exported-variables: [V]
phases:
  build:
    commands: [echo "V=$V"]
`,
			env:      []types.EnvironmentVariable{bsPlain("V", "project")},
			override: []types.EnvironmentVariable{bsPlain("V", "override")},
			exported: []string{"V=override"},
			log:      []string{"V=override"},
		},
		{
			name: "precedence: project over buildspec",
			spec: `version: 0.2
env:
  variables:
    V: buildspec
  exported-variables: [V]
phases:
  build:
    commands: [echo "V=$V"]
`,
			env:      []types.EnvironmentVariable{bsPlain("V", "project")},
			exported: []string{"V=project"},
			log:      []string{"V=project"},
		},
		{
			name: "precedence: StartBuild override over buildspec",
			spec: `version: 0.2
env:
  variables:
    V: buildspec
  exported-variables: [V]
phases:
  build:
    commands: [echo "V=$V"]
`,
			override: []types.EnvironmentVariable{bsPlain("V", "override")},
			exported: []string{"V=override"},
			log:      []string{"V=override"},
		},
		{
			name: "precedence: typed override over typed project over buildspec",
			spec: `version: 0.2
env:
  variables:
    V: buildspec
phases:
  build:
    commands: ['echo "b64=$(printf %s "$V" | base64)"']
`,
			env:      []types.EnvironmentVariable{bsParam("V", "/hangar/bs/plain")},
			override: []types.EnvironmentVariable{bsSecret("V", "hangar/bs/json:pass")},
			log:      []string{"b64=" + bsB64(bsSecretPass)},
		},
		{
			name: "a missing parameter fails DOWNLOAD_SOURCE",
			spec: `version: 0.2
env:
  parameter-store:
    GONE: /hangar/bs/does-not-exist
phases:
  build:
    commands: [echo build ran]
`,
			status: types.StatusTypeFailed,
			phases: downloadFailed,
			failed: map[string][2]string{"DOWNLOAD_SOURCE": {"Decrypted Variables Error", "parameter does not exist: /hangar/bs/does-not-exist"}},
			log:    []string{"[Container] Processing environment variables", "[Container] Decrypting parameter store environment variables"},
			notLog: []string{"build ran"},
		},
		{
			name: "a missing secret fails DOWNLOAD_SOURCE",
			spec: `version: 0.2
env:
  secrets-manager:
    GONE: hangar/bs/no-such-secret
phases:
  build:
    commands: [echo build ran]
`,
			status: types.StatusTypeFailed,
			phases: downloadFailed,
			// Hangar's wording; CodeBuild's is "<exception>: <message>".
			failed: map[string][2]string{"DOWNLOAD_SOURCE": {"Secrets Manager Error", `re:ResourceNotFoundException: Secrets Manager can't find the specified secret\. \(secret-id hangar/bs/no-such-secret\)`}},
			notLog: []string{"build ran"},
		},
		{
			name: "exported-variables",
			spec: `version: 0.2
env:
  variables:
    FROM_SPEC: spec-value
  exported-variables:
    - BUILT
    - PLAIN_SET
    - AWS_THING
    - NEVER_SET
    - LATE
    - FROM_SPEC
phases:
  build:
    commands:
      - export BUILT=from-build
      - PLAIN_SET=plain-assignment
      - export AWS_THING=aws
  post_build:
    commands:
      - export LATE="late-$BUILT"
`,
			exported: []string{"BUILT=from-build", "PLAIN_SET=plain-assignment", "NEVER_SET=", "LATE=late-from-build", "FROM_SPEC=spec-value"},
		},
		{
			name: "built-in variables",
			spec: `version: 0.2
phases:
  install:
    commands:
      - echo "PWD=$(pwd)"
  build:
    commands:
      - |
        for v in CODEBUILD_BUILD_ID CODEBUILD_BUILD_ARN CODEBUILD_BUILD_NUMBER CODEBUILD_SRC_DIR \
          CODEBUILD_START_TIME CODEBUILD_INITIATOR CODEBUILD_LOG_PATH CODEBUILD_BUILD_IMAGE \
          CODEBUILD_BUILD_SUCCEEDING AWS_REGION AWS_DEFAULT_REGION HOME; do
          eval "echo $v=\${$v-UNSET}"
        done
`,
			check: func(t *testing.T, b types.Build, log []string) {
				want := map[string]string{
					"CODEBUILD_BUILD_ID":         aws.ToString(b.Id),
					"CODEBUILD_BUILD_ARN":        aws.ToString(b.Arn),
					"CODEBUILD_BUILD_NUMBER":     strconv.FormatInt(aws.ToInt64(b.BuildNumber), 10),
					"CODEBUILD_INITIATOR":        aws.ToString(b.Initiator),
					"CODEBUILD_LOG_PATH":         aws.ToString(b.Logs.StreamName),
					"CODEBUILD_BUILD_IMAGE":      "aws/codebuild/amazonlinux2-x86_64-standard:5.0",
					"CODEBUILD_BUILD_SUCCEEDING": "1",
					"AWS_REGION":                 "us-east-1",
					"AWS_DEFAULT_REGION":         "us-east-1",
					"HOME":                       "/root",
				}
				for k, v := range want {
					if got := bsLogValue(t, log, k); got != v || v == "" {
						t.Errorf("%s=%q, want %q", k, got, v)
					}
				}
				if aws.ToInt64(b.BuildNumber) != 1 {
					t.Errorf("buildNumber %d", aws.ToInt64(b.BuildNumber))
				}
				src := bsLogValue(t, log, "CODEBUILD_SRC_DIR")
				if !regexp.MustCompile(`^/codebuild/output/src\d+/src$`).MatchString(src) {
					t.Errorf("CODEBUILD_SRC_DIR=%q", src)
				}
				if pwd := bsLogValue(t, log, "PWD"); pwd != src {
					t.Errorf("the shell starts in %q, not CODEBUILD_SRC_DIR %q", pwd, src)
				}
				if !slices.Contains(log, "[Container] CODEBUILD_SRC_DIR="+src) {
					t.Errorf("no agent line CODEBUILD_SRC_DIR=%s", src)
				}
				ms, err := strconv.ParseInt(bsLogValue(t, log, "CODEBUILD_START_TIME"), 10, 64)
				if d := ms - b.StartTime.UnixMilli(); err != nil || d < -1 || d > 1 {
					t.Errorf("CODEBUILD_START_TIME=%d (%v), build startTime %d ms", ms, err, b.StartTime.UnixMilli())
				}
			},
		},
		{
			name:   "YAML syntax error fails DOWNLOAD_SOURCE",
			spec:   "version: 0.2\nphases:\n\tbuild:\n    commands: [echo hi]\n",
			status: types.StatusTypeFailed, phases: downloadFailed,
			failed: map[string][2]string{"DOWNLOAD_SOURCE": {"YAML_FILE_ERROR", "found character that cannot start any token at line 3"}},
			log:    []string{bsInlineSpecAt},
		},
		{
			name:   "a buildspec without phases fails DOWNLOAD_SOURCE",
			spec:   "version: 0.2\nenv:\n  variables:\n    A: b\n",
			status: types.StatusTypeFailed, phases: downloadFailed,
			failed: map[string][2]string{"DOWNLOAD_SOURCE": {"YAML_FILE_ERROR", "phases is required, see documentation"}},
			log:    []string{bsInlineSpecAt},
		},
		{
			name:   "commands that are not a list fail DOWNLOAD_SOURCE",
			spec:   "version: 0.2\nphases:\n  build:\n    commands: echo hi\n",
			status: types.StatusTypeFailed, phases: downloadFailed,
			failed: map[string][2]string{"DOWNLOAD_SOURCE": {"YAML_FILE_ERROR", "Expected Commands to be of list type: found string instead at line 4"}},
		},
		{
			name: "version 0.1 runs each command in its own shell",
			spec: `version: 0.1
phases:
  build:
    commands:
      - mkdir -p sub && cd sub && echo "in=$(basename "$PWD")"
      - echo "after=$(basename "$PWD")"
      - export ONE=1
      - echo "ONE=${ONE:-unset}"
`,
			log: []string{"in=sub", "after=src", "ONE=unset"},
		},
		{name: "S3 zip source", source: s3src("src.zip", ""), log: archiveLog},
		{name: "S3 tar source", source: s3src("src.tar", ""), log: archiveLog},
		{name: "S3 tar.gz source", source: s3src("src.tar.gz", ""), log: archiveLog},
		{name: "S3 tar.zst source", source: s3src("src.tar.zst", ""), log: archiveLog},
		{
			name: "buildspec path inside the source", source: s3src("src.tar.gz", "ci/spec.yml"),
			log: []string{`re:\[Container\] YAML location is /codebuild/output/src\d+/src/ci/spec.yml`, "ci spec ran in src"},
		},
		{
			name: "a buildspec path missing from the source fails DOWNLOAD_SOURCE", source: s3src("src.zip", "ci/missing.yml"),
			status: types.StatusTypeFailed, phases: downloadFailed, notLog: []string{"YAML location"},
			failed: map[string][2]string{"DOWNLOAD_SOURCE": {"YAML_FILE_ERROR", `re:stat /codebuild/output/src\d+/src/ci/missing\.yml: no such file or directory`}},
		},
		bsUnsafeSource("dotdot.tar", bsEscapeUp(escape)+"/dotdot", `path has a ".." component`),
		bsUnsafeSource("absolute.tar", escape+"/absolute", "absolute path"),
		bsUnsafeSource("symlink-out.tar", "evil", fmt.Sprintf("symbolic link target %q resolves outside the destination", bsEscapeUp(escape))),
		{
			name: "a missing S3 key fails DOWNLOAD_SOURCE", source: s3src("no-such-key.zip", ""),
			status: types.StatusTypeFailed, phases: downloadFailed,
			failed: map[string][2]string{"DOWNLOAD_SOURCE": {"CLIENT_ERROR", "NoSuchKey: The specified key does not exist. for primary source and source version " + bsBucket + "/no-such-key.zip"}},
		},
		{
			name: "ps shows only the build's processes",
			spec: `version: 0.2
phases:
  build:
    commands:
      - "ps ax -o pid=,args= | sed 's/^ */ps: /'"
`,
			check: func(t *testing.T, b types.Build, log []string) {
				var procs []string
				for _, l := range log {
					if p, ok := strings.CutPrefix(l, "ps: "); ok {
						procs = append(procs, p)
					}
				}
				if len(procs) == 0 || procs[0] != "1 hangar-sandbox-init" || len(procs) > 5 {
					t.Errorf("processes seen in the build: %q", procs)
				}
				for _, p := range procs {
					if strings.Contains(p, "server") || strings.Contains(p, r.State) || strings.Contains(p, ".test") {
						t.Errorf("a host process is visible: %q", p)
					}
				}
			},
		},
		{
			name: "the runner's state dir is not visible",
			spec: `version: 0.2
phases:
  build:
    commands:
      - if cat "$STATE/credentials" >/dev/null 2>&1; then echo STATE-READABLE; else echo state-hidden; fi
      - echo "entries=$(ls -A "$STATE" 2>/dev/null | wc -l)"
`,
			override: []types.EnvironmentVariable{bsPlain("STATE", r.State)},
			log:      []string{"state-hidden", "entries=0"},
			check: func(t *testing.T, b types.Build, log []string) {
				// The check means something only if the file is there.
				if _, err := os.Stat(filepath.Join(r.State, "credentials")); err != nil {
					t.Errorf("state dir: %v", err)
				}
			},
		},
		{
			name: "another running build's source dir is not visible",
			spec: `version: 0.2
phases:
  build:
    commands:
      - if ls -A "$OTHER_SRC" 2>/dev/null; then echo SEEN-SANDBOX-PATH; else echo other-src-hidden; fi
      - if ls -A "$OTHER_HOST" 2>/dev/null; then echo SEEN-HOST-PATH; else echo other-host-hidden; fi
`,
			prepare: bsStartOtherBuild,
			log:     []string{"other-src-hidden", "other-host-hidden"},
		},
	}
}

// bsUnsafeSource is a case whose S3 archive has an entry that would land
// outside the source dir: DOWNLOAD_SOURCE fails naming it, no phase runs.
// (TestBuildspec checks afterwards that nothing reached the escape dir.)
func bsUnsafeSource(key, entry, why string) bsCase {
	return bsCase{
		name:   "S3 source " + key + " is refused",
		source: &types.ProjectSource{Type: types.SourceTypeS3, Location: aws.String(bsBucket + "/" + key)},
		status: types.StatusTypeFailed,
		phases: []string{"DOWNLOAD_SOURCE=FAILED"},
		failed: map[string][2]string{"DOWNLOAD_SOURCE": {"CLIENT_ERROR", fmt.Sprintf("unpack source %s/%s: archive entry %q: unsafe: %s", bsBucket, key, entry, why)}},
		notLog: []string{"YAML location"},
	}
}

// bsStartOtherBuild starts a build that keeps running, waits until it has
// written a file into its source dir, and returns that dir (as the build
// and as the host see it) for the case's build to look for. The returned
// func stops it.
func bsStartOtherBuild(t *testing.T, r *Runner) ([]types.EnvironmentVariable, func()) {
	ctx := context.Background()
	cb := r.CodeBuild()
	CreateProject(t, cb, "bs-other", `version: 0.2
phases:
  build:
    commands:
      - echo mine > mine.txt
      - echo "OTHER_SRC=$CODEBUILD_SRC_DIR"
      - sleep 60
`)
	out, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("bs-other")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Build.Id)
	var src string
	for deadline := time.Now().Add(20 * time.Second); src == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b := bsBuildNow(t, cb, id)
		if b.Logs == nil || aws.ToString(b.Logs.StreamName) == "" {
			continue
		}
		for _, l := range BuildLog(t, r, b) {
			if v, ok := strings.CutPrefix(l, "OTHER_SRC="); ok {
				src = v
			}
		}
	}
	if src == "" {
		t.Fatal("the other build never printed its source dir")
	}
	_, uuid, _ := strings.Cut(id, ":")
	host := filepath.Join(r.State, "builds", uuid, "src")
	if _, err := os.Stat(filepath.Join(host, "mine.txt")); err != nil {
		t.Fatalf("the other build's source dir on the host: %v", err)
	}
	return []types.EnvironmentVariable{bsPlain("OTHER_SRC", src), bsPlain("OTHER_HOST", host)}, func() {
		if _, err := cb.StopBuild(ctx, &codebuild.StopBuildInput{Id: aws.String(id)}); err != nil {
			t.Errorf("stop the other build: %v", err)
			return
		}
		if b := WaitBuild(t, cb, id, 30*time.Second); b.BuildStatus != types.StatusTypeStopped {
			t.Errorf("the other build ended %s, want STOPPED", b.BuildStatus)
		}
	}
}

// bsBuildNow returns the build as it is now.
func bsBuildNow(t testing.TB, cb *codebuild.Client, id string) types.Build {
	t.Helper()
	out, err := cb.BatchGetBuilds(context.Background(), &codebuild.BatchGetBuildsInput{Ids: []string{id}})
	if err != nil || len(out.Builds) != 1 {
		t.Fatalf("batch get builds %s: %v", id, err)
	}
	return out.Builds[0]
}

// bsFile is one entry of a test archive: a file (mode 0 means 0644),
// a directory (name ends in /) or a symbolic link.
type bsFile struct {
	name, body, link string
	mode             os.FileMode
}

// bsSourceFiles is the source the S3 cases unpack. Its buildspec checks the
// exec bits and the symbolic link.
var bsSourceFiles = []bsFile{
	{name: "buildspec.yml", body: `version: 0.2
phases:
  build:
    commands:
      - ./bin/run.sh
      - test -x bin/run.sh && test ! -x data.txt && echo exec-bits-ok
      - test -L link.txt && echo "link.txt -> $(readlink link.txt)"
      - cat link.txt
`},
	{name: "bin/", mode: 0o755},
	{name: "bin/run.sh", body: "#!/bin/sh\necho run.sh ran from the archive\n", mode: 0o755},
	{name: "data.txt", body: "data from the archive\n"},
	{name: "link.txt", link: "data.txt"},
	{name: "ci/spec.yml", body: `version: 0.2
phases:
  build:
    commands:
      - echo "ci spec ran in $(basename "$PWD")"
`},
}

func bsZip(t *testing.T, files []bsFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		body := f.body
		switch {
		case f.link != "":
			h.SetMode(os.ModeSymlink | 0o777)
			body = f.link
		case strings.HasSuffix(f.name, "/"):
			h.SetMode(os.ModeDir | 0o755)
		default:
			h.SetMode(bsMode(f.mode))
		}
		fw, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(body))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func bsTar(t *testing.T, files []bsFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: int64(bsMode(f.mode)), Size: int64(len(f.body)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}
		switch {
		case f.link != "":
			h.Typeflag, h.Linkname, h.Size, h.Mode = tar.TypeSymlink, f.link, 0, 0o777
		case strings.HasSuffix(f.name, "/"):
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			w.Write([]byte(f.body))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func bsMode(m os.FileMode) os.FileMode {
	if m == 0 {
		return 0o644
	}
	return m
}

func bsGzip(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func bsZstd(t *testing.T, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}
