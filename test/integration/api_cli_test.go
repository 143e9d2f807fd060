package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

// TestCLI drives every operation with the aws CLI (v1, on PATH), one call
// per operation or error. Builds are waited for with the SDK, which polls
// faster than the CLI starts. The CLI takes most of a second to start, so
// the services' groups run in parallel on one runner; each uses its own
// names.
func TestCLI(t *testing.T) {
	r := StartRunner(t)
	for _, g := range []struct {
		name string
		run  func(*testing.T, *Runner)
	}{
		{"Auth", cliAuth},
		{"CodeBuild", cliCodeBuild},
		{"Logs", cliLogs},
		{"SSM", cliSSM},
		{"SecretsManager", cliSecrets},
		{"S3", cliS3},
	} {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, r)
		})
	}
}

// cli runs the aws CLI, which must succeed, and decodes its JSON output
// into out (unless out is nil or the output empty).
func cli(t *testing.T, r *Runner, out any, args ...string) {
	t.Helper()
	stdout, stderr, code := r.AWS(args...)
	if code != 0 {
		t.Fatalf("aws %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	if out != nil && strings.TrimSpace(stdout) != "" {
		if err := json.Unmarshal([]byte(stdout), out); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stdout)
		}
	}
}

// cliFails runs the aws CLI, which must fail with the AWS error code whose
// message contains msg.
func cliFails(t *testing.T, r *Runner, code, msg string, args ...string) {
	t.Helper()
	_, stderr, rc := r.AWS(args...)
	want := "An error occurred (" + code + ")"
	if rc == 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, msg) {
		t.Errorf("aws %s: exit %d, stderr %q; want %q and %q", strings.Join(args, " "), rc, stderr, want, msg)
	}
}

// awsEnv runs the aws CLI against the runner with extra environment.
func awsEnv(r *Runner, env []string, args ...string) (string, string, int) {
	return runEnv(r, env, exec.Command(awsCommand(), append([]string{"--endpoint-url", r.Endpoint, "--output", "json"}, args...)...))
}

// runEnv runs cmd with the runner's client environment plus env, and
// returns its stdout, stderr and exit code (-1 when it did not run).
func runEnv(r *Runner, env []string, cmd *exec.Cmd) (string, string, int) {
	cmd.Env = append(r.CLIEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return out.String(), errb.String(), code
}

func cliAuth(t *testing.T, r *Runner) {
	// Exactly what the issue says works: the runner's own credentials file.
	cmd := exec.Command(awsCommand(), "--endpoint-url", r.Endpoint, "--region", "us-east-1", "codebuild", "list-projects")
	cmd.Env = []string{"AWS_SHARED_CREDENTIALS_FILE=" + r.CredentialsFile(), "AWS_CONFIG_FILE=/dev/null"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !regexp.MustCompile(`^\{\s*"projects":\s*\[`).Match(out) {
		t.Fatalf("codebuild list-projects with DIR/credentials: %v\n%s", err, out)
	}

	k := r.Key()
	creds := func(id, secret string) string {
		p := filepath.Join(t.TempDir(), "credentials")
		os.WriteFile(p, []byte("[default]\naws_access_key_id = "+id+"\naws_secret_access_key = "+secret+"\n"), 0o600)
		return "AWS_SHARED_CREDENTIALS_FILE=" + p
	}
	for _, c := range []struct {
		env, code string
		args      []string
	}{
		{creds(k.ID, altered(k.Secret)), "InvalidSignatureException", []string{"codebuild", "list-projects"}},
		{creds("AKIAUNKNOWNUNKNOWN00", k.Secret), "UnrecognizedClientException", []string{"ssm", "describe-parameters"}},
		{creds(k.ID, altered(k.Secret)), "SignatureDoesNotMatch", []string{"s3api", "list-buckets"}},
		{creds("AKIAUNKNOWNUNKNOWN00", k.Secret), "InvalidAccessKeyId", []string{"s3api", "list-buckets"}},
	} {
		_, stderr, rc := awsEnv(r, []string{c.env}, c.args...)
		if rc == 0 || !strings.Contains(stderr, "("+c.code+")") {
			t.Errorf("%v with a bad key: exit %d, %s; want %s", c.args, rc, stderr, c.code)
		}
	}
	// Unsigned: the CLI's --no-sign-request.
	_, stderr, rc := r.AWS("--no-sign-request", "codebuild", "list-projects")
	if rc == 0 || !strings.Contains(stderr, "(MissingAuthenticationTokenException)") {
		t.Errorf("unsigned list-projects: exit %d, %s", rc, stderr)
	}
}

type cliProject struct {
	Name, Arn, EncryptionKey, Description, ServiceRole string
	TimeoutInMinutes, QueuedTimeoutInMinutes           int
	Cache                                              struct{ Type string }
	LogsConfig                                         struct {
		CloudWatchLogs struct{ Status string }
		S3Logs         struct{ Status string }
	}
	Environment struct {
		Image, ComputeType, Type string
		EnvironmentVariables     []struct{ Name, Value, Type string }
	}
	Created, LastModified float64
}

type cliBuild struct {
	ID, Arn, BuildStatus, CurrentPhase, ProjectName string
	BuildNumber                                     int64
	BuildComplete                                   bool
	StartTime                                       float64
	TimeoutInMinutes                                int
	Environment                                     struct {
		Image, ComputeType, Type string
		EnvironmentVariables     []struct{ Name, Value, Type string }
	}
	Source struct{ Type, Buildspec string }
	Logs   struct{ GroupName, StreamName string }
}

func cliCodeBuild(t *testing.T, r *Runner) {
	cb := r.CodeBuild()
	input := `{"name":"cli-proj","source":{"type":"NO_SOURCE","buildspec":"version: 0.2\nphases:\n  build:\n    commands:\n      - echo cli $GREETING\n"},` +
		`"artifacts":{"type":"NO_ARTIFACTS"},"environment":{"type":"LINUX_CONTAINER","image":"` + testImage + `","computeType":"BUILD_GENERAL1_SMALL",` +
		`"environmentVariables":[{"name":"GREETING","value":"project"}]},"serviceRole":"` + testRole + `"}`
	var cp struct{ Project cliProject }
	cli(t, r, &cp, "codebuild", "create-project", "--cli-input-json", input)
	p := cp.Project
	if p.Arn != projectArn("cli-proj") || p.TimeoutInMinutes != 60 || p.QueuedTimeoutInMinutes != 480 || p.Cache.Type != "NO_CACHE" ||
		p.EncryptionKey != "arn:aws:kms:us-east-1:"+Account+":alias/aws/s3" || p.LogsConfig.CloudWatchLogs.Status != "ENABLED" ||
		p.LogsConfig.S3Logs.Status != "DISABLED" || p.Created < 1e9 || p.Environment.EnvironmentVariables[0].Type != "PLAINTEXT" {
		t.Errorf("create-project defaults: %+v", p)
	}
	cliFails(t, r, "ResourceAlreadyExistsException", "Project already exists: "+projectArn("cli-proj"), "codebuild", "create-project", "--cli-input-json", input)
	cliFails(t, r, "InvalidInputException", "Member must satisfy regular expression pattern", "codebuild", "create-project", "--cli-input-json", strings.Replace(input, `"cli-proj"`, `"cli proj"`, 1))

	var up struct{ Project cliProject }
	cli(t, r, &up, "codebuild", "update-project", "--name", "cli-proj", "--description", "from the cli", "--timeout-in-minutes", "20")
	if up.Project.Description != "from the cli" || up.Project.TimeoutInMinutes != 20 || up.Project.Environment.Image != testImage || up.Project.LastModified < up.Project.Created {
		t.Errorf("update-project: %+v", up.Project)
	}
	cliFails(t, r, "ResourceNotFoundException", "Project cannot be found", "codebuild", "update-project", "--name", "cli-none", "--description", "x")

	var bg struct {
		Projects         []cliProject
		ProjectsNotFound []string
	}
	cli(t, r, &bg, "codebuild", "batch-get-projects", "--names", projectArn("cli-proj"), "cli-none")
	if len(bg.Projects) != 1 || bg.Projects[0].Description != "from the cli" || !slices.Equal(bg.ProjectsNotFound, []string{"cli-none"}) {
		t.Errorf("batch-get-projects: %+v", bg)
	}
	CreateProject(t, cb, "cli-sleep", sleepSpec)
	var lp struct{ Projects []string }
	cli(t, r, &lp, "codebuild", "list-projects", "--sort-by", "NAME", "--sort-order", "DESCENDING")
	lp.Projects = slices.DeleteFunc(lp.Projects, func(p string) bool { return p != "cli-sleep" && p != "cli-proj" })
	if !slices.Equal(lp.Projects, []string{"cli-sleep", "cli-proj"}) {
		t.Errorf("list-projects NAME DESCENDING: %v", lp.Projects)
	}

	var sb struct{ Build cliBuild }
	startArgs := []string{"codebuild", "start-build", "--project-name", "cli-proj",
		"--buildspec-override", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo override $GREETING $EXTRA\n",
		"--environment-variables-override", "name=GREETING,value=hello,type=PLAINTEXT", "name=EXTRA,value=there",
		"--image-override", "cli/image:2", "--compute-type-override", "BUILD_GENERAL1_LARGE", "--environment-type-override", "LINUX_CONTAINER",
		"--timeout-in-minutes-override", "15", "--idempotency-token", "cli-token"}
	cli(t, r, &sb, startArgs...)
	b := sb.Build
	if !buildIDRE("cli-proj").MatchString(b.ID) || b.BuildNumber != 1 || b.BuildStatus != "IN_PROGRESS" || b.CurrentPhase != "QUEUED" ||
		b.Environment.Image != "cli/image:2" || b.Environment.ComputeType != "BUILD_GENERAL1_LARGE" || b.TimeoutInMinutes != 15 || b.StartTime < 1e9 {
		t.Errorf("start-build: %+v", b)
	}
	var again struct{ Build cliBuild }
	cli(t, r, &again, startArgs...)
	if again.Build.ID != b.ID {
		t.Errorf("start-build with the same idempotency token started %s, want %s", again.Build.ID, b.ID)
	}
	cliFails(t, r, "ResourceNotFoundException", "Project cannot be found: "+projectArn("cli-none"), "codebuild", "start-build", "--project-name", "cli-none")
	done := WaitBuild(t, cb, b.ID, 30*time.Second)
	if done.BuildStatus != types.StatusTypeSucceeded || !slices.Contains(BuildLog(t, r, done), "override hello there") {
		t.Errorf("overridden build %s, log:\n%s", done.BuildStatus, strings.Join(BuildLog(t, r, done), "\n"))
	}

	missing := "cli-proj:00000000-0000-4000-8000-000000000000"
	var gb struct {
		Builds         []cliBuild
		BuildsNotFound []string
	}
	cli(t, r, &gb, "codebuild", "batch-get-builds", "--ids", b.ID, missing)
	if len(gb.Builds) != 1 || gb.Builds[0].BuildStatus != "SUCCEEDED" || !gb.Builds[0].BuildComplete || gb.Builds[0].Logs.GroupName != "/aws/codebuild/cli-proj" ||
		!slices.Equal(gb.BuildsNotFound, []string{missing}) {
		t.Errorf("batch-get-builds: %+v", gb)
	}

	running := sdkStart(t, cb, startInput("cli-sleep"))
	waitBuildPhase(t, cb, aws.ToString(running.Id), "BUILD")
	var st struct{ Build cliBuild }
	cli(t, r, &st, "codebuild", "stop-build", "--id", aws.ToString(running.Id))
	// StopBuild waits a bounded time for the build to end, so on a loaded
	// machine the answer may still show it in progress.
	if st.Build.ID != aws.ToString(running.Id) || st.Build.BuildStatus != "STOPPED" && st.Build.BuildStatus != "IN_PROGRESS" {
		t.Errorf("stop-build: %s %s complete %v", st.Build.ID, st.Build.BuildStatus, st.Build.BuildComplete)
	}
	if s := WaitBuild(t, cb, st.Build.ID, 20*time.Second); s.BuildStatus != types.StatusTypeStopped {
		t.Errorf("stopped build ended %s", s.BuildStatus)
	}
	cliFails(t, r, "InvalidInputException", "Invalid build ID provided", "codebuild", "stop-build", "--id", "bad")
	cliFails(t, r, "ResourceNotFoundException", missing, "codebuild", "stop-build", "--id", missing)

	var rb struct{ Build cliBuild }
	cli(t, r, &rb, "codebuild", "retry-build", "--id", b.ID)
	if rb.Build.ID == b.ID || rb.Build.BuildNumber != 2 || rb.Build.Environment.Image != "cli/image:2" {
		t.Errorf("retry-build: %+v", rb.Build)
	}
	WaitBuild(t, cb, rb.Build.ID, 30*time.Second)

	var lb struct{ IDs []string }
	cli(t, r, &lb, "codebuild", "list-builds-for-project", "--project-name", "cli-proj", "--sort-order", "ASCENDING")
	if !slices.Equal(lb.IDs, []string{b.ID, rb.Build.ID}) {
		t.Errorf("list-builds-for-project ASCENDING: %v", lb.IDs)
	}
	cli(t, r, &lb, "codebuild", "list-builds")
	lb.IDs = slices.DeleteFunc(lb.IDs, func(id string) bool {
		return !strings.HasPrefix(id, "cli-proj:") && !strings.HasPrefix(id, "cli-sleep:")
	})
	if !slices.Equal(lb.IDs, []string{rb.Build.ID, aws.ToString(running.Id), b.ID}) {
		t.Errorf("list-builds: %v", lb.IDs)
	}
	var del struct {
		BuildsDeleted    []string
		BuildsNotDeleted []struct{ ID, StatusCode string }
	}
	cli(t, r, &del, "codebuild", "batch-delete-builds", "--ids", b.ID, missing)
	if !slices.Equal(del.BuildsDeleted, []string{b.ID}) || len(del.BuildsNotDeleted) != 1 || del.BuildsNotDeleted[0].ID != missing {
		t.Errorf("batch-delete-builds: %+v", del)
	}
	cli(t, r, nil, "codebuild", "delete-project", "--name", "cli-proj")
	cliFails(t, r, "ResourceNotFoundException", "cli-proj", "codebuild", "list-builds-for-project", "--project-name", "cli-proj")
}

func startInput(project string) *codebuild.StartBuildInput {
	return &codebuild.StartBuildInput{ProjectName: aws.String(project)}
}

func cliLogs(t *testing.T, r *Runner) {
	cb := r.CodeBuild()
	CreateProject(t, cb, "cli-logs", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo first-line\n      - echo second-line\n")
	b := WaitBuild(t, cb, aws.ToString(sdkStart(t, cb, startInput("cli-logs")).Id), 30*time.Second)
	group, stream := aws.ToString(b.Logs.GroupName), aws.ToString(b.Logs.StreamName)

	type event struct {
		Timestamp, IngestionTime        int64
		Message, EventID, LogStreamName string
	}
	var ge struct {
		Events                              []event
		NextForwardToken, NextBackwardToken string
	}
	cli(t, r, &ge, "logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--start-from-head")
	var msgs []string
	for _, e := range ge.Events {
		msgs = append(msgs, e.Message)
	}
	i := slices.Index(msgs, "first-line\n")
	if i < 0 || i+1 >= len(msgs) || ge.NextForwardToken == "" || ge.NextBackwardToken == "" || ge.Events[0].Timestamp < b.StartTime.UnixMilli()-1000 ||
		!strings.HasPrefix(msgs[0], "[Container] ") {
		t.Errorf("get-log-events: %+v", ge)
	}
	var fe struct{ Events []event }
	cli(t, r, &fe, "logs", "filter-log-events", "--log-group-name", group, "--log-stream-names", stream, "--filter-pattern", "second")
	var got []string
	for _, e := range fe.Events {
		got = append(got, e.Message)
	}
	// The agent's "Running command echo second-line" matches too.
	if len(fe.Events) != 2 || got[1] != "second-line\n" || !strings.Contains(got[0], "Running command echo second-line") {
		t.Errorf("filter-log-events: %q", got)
	}
	var dg struct {
		LogGroups []struct{ LogGroupName, Arn string }
	}
	cli(t, r, &dg, "logs", "describe-log-groups", "--log-group-name-prefix", "/aws/codebuild/cli-logs")
	if len(dg.LogGroups) != 1 || dg.LogGroups[0].LogGroupName != group {
		t.Errorf("describe-log-groups: %+v", dg)
	}
	var ds struct {
		LogStreams []struct{ LogStreamName string }
	}
	cli(t, r, &ds, "logs", "describe-log-streams", "--log-group-name", group)
	if len(ds.LogStreams) != 1 || ds.LogStreams[0].LogStreamName != stream {
		t.Errorf("describe-log-streams: %+v", ds)
	}
	cliFails(t, r, "ResourceNotFoundException", "The specified log stream does not exist.", "logs", "get-log-events", "--log-group-name", group, "--log-stream-name", "nope")
	cliFails(t, r, "ResourceNotFoundException", "The specified log group does not exist.", "logs", "filter-log-events", "--log-group-name", "/aws/codebuild/cli-none")
}

type cliParam struct {
	Name, Type, Value, ARN string
	Version                int64
}

func cliSSM(t *testing.T, r *Runner) {
	var put struct {
		Version int64
		Tier    string
	}
	cli(t, r, &put, "ssm", "put-parameter", "--name", "/cli/plain", "--value", "one", "--type", "String")
	if put.Version != 1 || put.Tier != "Standard" {
		t.Errorf("put-parameter: %+v", put)
	}
	cli(t, r, nil, "ssm", "put-parameter", "--name", "/cli/list", "--value", "a,b", "--type", "StringList")
	cli(t, r, nil, "ssm", "put-parameter", "--name", "/cli/deep/secret", "--value", "hush", "--type", "SecureString")
	cliFails(t, r, "ParameterAlreadyExists", "The parameter already exists.", "ssm", "put-parameter", "--name", "/cli/plain", "--value", "two", "--type", "String")
	cli(t, r, &put, "ssm", "put-parameter", "--name", "/cli/plain", "--value", "two", "--type", "String", "--overwrite")
	if put.Version != 2 {
		t.Errorf("overwrite: version %d, want 2", put.Version)
	}
	var gp struct{ Parameter cliParam }
	cli(t, r, &gp, "ssm", "get-parameter", "--name", "/cli/deep/secret", "--with-decryption")
	if gp.Parameter.Value != "hush" || gp.Parameter.Type != "SecureString" || gp.Parameter.ARN != "arn:aws:ssm:us-east-1:"+Account+":parameter/cli/deep/secret" {
		t.Errorf("get-parameter --with-decryption: %+v", gp.Parameter)
	}
	cliFails(t, r, "ParameterNotFound", "", "ssm", "get-parameter", "--name", "/cli/none")
	var gps struct {
		Parameters        []cliParam
		InvalidParameters []string
	}
	cli(t, r, &gps, "ssm", "get-parameters", "--names", "/cli/plain", "/cli/none", "/cli/list")
	if len(gps.Parameters) != 2 || !slices.Equal(gps.InvalidParameters, []string{"/cli/none"}) {
		t.Errorf("get-parameters: %+v", gps)
	}
	// --page-size 1 makes the CLI page through MaxResults 1 and nextToken.
	cli(t, r, &gps, "ssm", "get-parameters-by-path", "--path", "/cli", "--recursive", "--with-decryption", "--page-size", "1")
	var names []string
	for _, p := range gps.Parameters {
		names = append(names, p.Name+"="+p.Value)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"/cli/deep/secret=hush", "/cli/list=a,b", "/cli/plain=two"}) {
		t.Errorf("get-parameters-by-path --recursive: %v", names)
	}
	cli(t, r, nil, "ssm", "delete-parameter", "--name", "/cli/list")
	cliFails(t, r, "ParameterNotFound", "", "ssm", "delete-parameter", "--name", "/cli/list")
	var dp struct {
		Parameters []struct {
			Name, Type string
			Version    int64
		}
	}
	cli(t, r, &dp, "ssm", "describe-parameters")
	if len(dp.Parameters) != 2 || dp.Parameters[0].Name != "/cli/deep/secret" || dp.Parameters[1].Version != 2 {
		t.Errorf("describe-parameters: %+v", dp)
	}
}

func cliSecrets(t *testing.T, r *Runner) {
	var cr struct{ ARN, Name, VersionId string }
	cli(t, r, &cr, "secretsmanager", "create-secret", "--name", "cli/db", "--secret-string", `{"pw":"one"}`)
	if !regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:`+Account+`:secret:cli/db-[A-Za-z0-9]{6}$`).MatchString(cr.ARN) || cr.VersionId == "" {
		t.Errorf("create-secret: %+v", cr)
	}
	cliFails(t, r, "ResourceExistsException", "cli/db", "secretsmanager", "create-secret", "--name", "cli/db", "--secret-string", "x")
	var pv struct {
		VersionId     string
		VersionStages []string
	}
	cli(t, r, &pv, "secretsmanager", "put-secret-value", "--secret-id", "cli/db", "--secret-string", `{"pw":"two"}`)
	if pv.VersionId == cr.VersionId || !slices.Equal(pv.VersionStages, []string{"AWSCURRENT"}) {
		t.Errorf("put-secret-value: %+v", pv)
	}
	var gv struct {
		ARN, Name, VersionId, SecretString string
		VersionStages                      []string
	}
	cli(t, r, &gv, "secretsmanager", "get-secret-value", "--secret-id", "cli/db")
	if gv.SecretString != `{"pw":"two"}` || gv.VersionId != pv.VersionId || gv.ARN != cr.ARN {
		t.Errorf("get-secret-value by name: %+v", gv)
	}
	cli(t, r, &gv, "secretsmanager", "get-secret-value", "--secret-id", cr.ARN, "--version-stage", "AWSPREVIOUS")
	if gv.SecretString != `{"pw":"one"}` || gv.VersionId != cr.VersionId || !slices.Equal(gv.VersionStages, []string{"AWSPREVIOUS"}) {
		t.Errorf("get-secret-value by ARN, AWSPREVIOUS: %+v", gv)
	}
	var ds struct {
		Name               string
		VersionIdsToStages map[string][]string
		DeletedDate        float64
	}
	cli(t, r, &ds, "secretsmanager", "describe-secret", "--secret-id", "cli/db")
	if ds.Name != "cli/db" || len(ds.VersionIdsToStages) != 2 || ds.DeletedDate != 0 {
		t.Errorf("describe-secret: %+v", ds)
	}
	cli(t, r, nil, "secretsmanager", "create-secret", "--name", "cli/other", "--secret-string", "o")
	var ls struct{ SecretList []struct{ Name string } }
	cli(t, r, &ls, "secretsmanager", "list-secrets")
	if len(ls.SecretList) != 2 {
		t.Errorf("list-secrets: %+v", ls)
	}
	var del struct {
		Name         string
		DeletionDate float64
	}
	cli(t, r, &del, "secretsmanager", "delete-secret", "--secret-id", "cli/db", "--recovery-window-in-days", "7")
	if d := time.Unix(int64(del.DeletionDate), 0).Sub(time.Now()); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour+time.Minute {
		t.Errorf("delete-secret with a 7-day window: deletion in %v", d)
	}
	cliFails(t, r, "InvalidRequestException", "marked for deletion", "secretsmanager", "get-secret-value", "--secret-id", "cli/db")
	cli(t, r, nil, "secretsmanager", "delete-secret", "--secret-id", "cli/other", "--force-delete-without-recovery")
	cliFails(t, r, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.", "secretsmanager", "get-secret-value", "--secret-id", "cli/other")
}

func cliS3(t *testing.T, r *Runner) {
	dir := t.TempDir()
	src := filepath.Join(dir, "big.bin")
	data := make([]byte, 12<<20+12345) // over the CLI's 8 MiB multipart threshold
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cli(t, r, nil, "s3", "mb", "s3://cli-bucket")
	cli(t, r, nil, "s3", "cp", src, "s3://cli-bucket/dir/big.bin")
	stdout, stderr, rc := r.AWS("s3", "ls", "s3://cli-bucket/dir/")
	if rc != 0 || !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +12595257 big\.bin$`).MatchString(stdout) {
		t.Errorf("s3 ls: exit %d\n%s%s", rc, stdout, stderr)
	}
	var head struct {
		ContentLength int64
		ETag          string
	}
	cli(t, r, &head, "s3api", "head-object", "--bucket", "cli-bucket", "--key", "dir/big.bin")
	// A multipart upload's ETag is the MD5 of the parts' MD5s, "-" parts.
	if head.ContentLength != int64(len(data)) || !regexp.MustCompile(`^"[0-9a-f]{32}-2"$`).MatchString(head.ETag) {
		t.Errorf("head-object: %+v", head)
	}
	dst := filepath.Join(dir, "back.bin")
	cli(t, r, nil, "s3", "cp", "s3://cli-bucket/dir/big.bin", dst)
	if back, err := os.ReadFile(dst); err != nil || !bytes.Equal(back, data) {
		t.Errorf("s3 cp down: %v, %d bytes, equal %v", err, len(back), bytes.Equal(back, data))
	}

	stdout, stderr, rc = r.AWS("s3", "presign", "s3://cli-bucket/dir/big.bin", "--expires-in", "300")
	if rc != 0 {
		t.Fatalf("s3 presign: %s", stderr)
	}
	resp, err := http.Get(strings.TrimSpace(stdout))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Errorf("presigned GET: %d, %d bytes", resp.StatusCode, len(body))
	}
	stdout, _, _ = r.AWS("s3", "presign", "s3://cli-bucket/dir/big.bin", "--expires-in", "1")
	time.Sleep(1100 * time.Millisecond)
	resp, err = http.Get(strings.TrimSpace(stdout))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) || !bytes.Contains(body, []byte("Request has expired")) {
		t.Errorf("expired presigned GET: %d %s", resp.StatusCode, body)
	}

	cli(t, r, nil, "s3", "rm", "s3://cli-bucket/dir/big.bin")
	cliFails(t, r, "404", "", "s3api", "head-object", "--bucket", "cli-bucket", "--key", "dir/big.bin")
	cliFails(t, r, "NoSuchKey", "The specified key does not exist.", "s3api", "get-object", "--bucket", "cli-bucket", "--key", "dir/big.bin", filepath.Join(dir, "x"))
	cliFails(t, r, "NoSuchBucket", "The specified bucket does not exist", "s3", "ls", "s3://cli-nobucket")
	stdout, _, rc = r.AWS("s3", "ls")
	if rc != 0 || !strings.Contains(stdout, " cli-bucket\n") {
		t.Errorf("s3 ls (buckets): %q", stdout)
	}
}
