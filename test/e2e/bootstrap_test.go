package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hangarci/hangar/internal/bootstrap"
	hconfig "github.com/hangarci/hangar/internal/config"
	"github.com/hangarci/hangar/internal/target"
)

// The bootstrap tests run `hangar bootstrap` against a `hangar server`
// of their own and look at the result with the AWS SDK, as any other
// client of the runner would.

// sdk is an SDK configuration for a server, with its own key.
func (s *Server) sdk(t *testing.T) aws.Config {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(),
		awsconfig.WithRegion("us-east-1"),
		awsconfig.WithSharedCredentialsFiles([]string{filepath.Join(s.State, "credentials")}),
		awsconfig.WithSharedConfigProfile("default"),
		awsconfig.WithSharedConfigFiles([]string{}),
		awsconfig.WithBaseEndpoint(s.Endpoint),
	)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func getProject(t *testing.T, cb *codebuild.Client, name string) *cbtypes.Project {
	t.Helper()
	out, err := cb.BatchGetProjects(context.Background(), &codebuild.BatchGetProjectsInput{Names: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Projects) == 0 {
		return nil
	}
	return &out.Projects[0]
}

func getFleet(t *testing.T, cb *codebuild.Client, name string) *cbtypes.Fleet {
	t.Helper()
	out, err := cb.BatchGetFleets(context.Background(), &codebuild.BatchGetFleetsInput{Names: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Fleets) == 0 {
		return nil
	}
	return &out.Fleets[0]
}

func roleState(t *testing.T, c *iam.Client, name string) (exists bool, inline, managed []string) {
	t.Helper()
	ctx := context.Background()
	_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return false, nil, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	lp, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	ap, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ap.AttachedPolicies {
		managed = append(managed, aws.ToString(p.PolicyArn))
	}
	slices.Sort(lp.PolicyNames)
	slices.Sort(managed)
	return true, lp.PolicyNames, managed
}

func wantLines(t *testing.T, r Result, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(r.Stdout, l) {
			t.Errorf("output lacks %q:\n%s", l, r)
		}
	}
}

func envVar(p *cbtypes.Project, name string) *cbtypes.EnvironmentVariable {
	for i, v := range p.Environment.EnvironmentVariables {
		if aws.ToString(v.Name) == name {
			return &p.Environment.EnvironmentVariables[i]
		}
	}
	return nil
}

func TestBootstrapLifecycle(t *testing.T) {
	srv := StartServer(t)
	tg := srv.Target()
	cfg := srv.sdk(t)
	cb, ic, s3c := codebuild.NewFromConfig(cfg), iam.NewFromConfig(cfg), s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	tr := NewTree(t, nil, "")
	ns := tr.Name + "-dev"
	remote, lambda, fleet, role := ns+"-remote", ns+"-remote-lambda", ns+"-fleet", ns+"-codebuild-role"
	bucket := ns + "-000000000000-us-east-1"
	setConfig := func(yml string) { tr.Write(config(tr.Name, yml), "hangar.yml") }

	// --dry-run on nothing: the whole plan, and nothing made.
	r := Hangar(t, tg, tr.Dir, nil, "bootstrap", "--dry-run")
	WantCode(t, r, 0)
	wantLines(t, r, "+ create bucket "+bucket, "+ create role "+role, "+ create project "+remote,
		"    + inline policy DefaultPolicy: Allow apigateway:*", "Dry run: nothing was changed.")
	if getProject(t, cb, remote) != nil {
		t.Fatal("--dry-run made the project")
	}
	if ok, _, _ := roleState(t, ic, role); ok {
		t.Fatal("--dry-run made the role")
	}

	// The first run makes everything.
	r = Hangar(t, tg, tr.Dir, nil, "bootstrap")
	WantCode(t, r, 0)
	wantLines(t, r, "+ create bucket "+bucket, "+ create role "+role, "+ create project "+remote, "Done: bucket "+bucket)
	if _, err := s3c.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Errorf("bucket: %v", err)
	}
	ok, inline, managed := roleState(t, ic, role)
	if !ok || !slices.Equal(inline, []string{"DefaultPolicy", "VpcPolicy"}) ||
		!slices.Equal(managed, []string{"arn:aws:iam::aws:policy/AWSCertificateManagerReadOnly", "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"}) {
		t.Errorf("role %v inline %v managed %v", ok, inline, managed)
	}
	p := getProject(t, cb, remote)
	if p == nil {
		t.Fatal("no project")
	}
	if p.Source.Type != cbtypes.SourceTypeNoSource || p.Artifacts.Type != cbtypes.ArtifactsTypeNoArtifacts ||
		p.Cache.Type != cbtypes.CacheTypeLocal || len(p.Cache.Modes) != 2 || !aws.ToBool(p.Environment.PrivilegedMode) ||
		aws.ToInt32(p.TimeoutInMinutes) != 60 || p.LogsConfig.CloudWatchLogs.Status != cbtypes.LogsConfigStatusTypeEnabled ||
		aws.ToString(p.ServiceRole) != "arn:aws:iam::000000000000:role/"+role {
		t.Errorf("project %+v", p)
	}
	modified := aws.ToTime(p.LastModified)

	// The second run changes nothing, and says so.
	r = Hangar(t, tg, tr.Dir, nil, "bootstrap")
	WantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "No changes") || strings.Contains(r.Stdout, "+ ") || strings.Contains(r.Stdout, "~ ") {
		t.Errorf("second run:\n%s", r)
	}
	if p := getProject(t, cb, remote); !aws.ToTime(p.LastModified).Equal(modified) {
		t.Errorf("second run modified the project")
	}

	// A configuration change is an update, with a diff.
	setConfig("codebuild:\n  timeout: 90\n  project:\n    environment:\n      ComputeType: BUILD_GENERAL1_MEDIUM\n")
	r = Hangar(t, tg, tr.Dir, nil, "bootstrap")
	WantCode(t, r, 0)
	wantLines(t, r, "~ update project "+remote, "    environment.computeType: BUILD_GENERAL1_SMALL → BUILD_GENERAL1_MEDIUM", "    timeoutInMinutes: 60 → 90")
	if strings.Contains(r.Stdout, "create") {
		t.Errorf("update run creates:\n%s", r)
	}
	p = getProject(t, cb, remote)
	if p.Environment.ComputeType != cbtypes.ComputeTypeBuildGeneral1Medium || aws.ToInt32(p.TimeoutInMinutes) != 90 {
		t.Errorf("project after the update: %s %d", p.Environment.ComputeType, aws.ToInt32(p.TimeoutInMinutes))
	}

	// Lambda and the fleet: --dry-run shows them and makes nothing.
	withBoth := "codebuild:\n  timeout: 90\n  lambda:\n    enable: true\n  fleet:\n    enable: true\n    base_capacity: 2\n  project:\n    environment:\n      ComputeType: BUILD_GENERAL1_MEDIUM\n"
	setConfig(withBoth)
	r = Hangar(t, tg, tr.Dir, nil, "bootstrap", "--dry-run")
	WantCode(t, r, 0)
	wantLines(t, r, "+ create fleet "+fleet, "+ create project "+lambda, "~ update project "+remote,
		"    + environment.fleet.fleetArn: (ARN of the new fleet "+fleet+")", "Dry run: nothing was changed.")
	if getProject(t, cb, lambda) != nil || getFleet(t, cb, fleet) != nil {
		t.Fatal("--dry-run made the Lambda project or the fleet")
	}

	r = Hangar(t, tg, tr.Dir, nil, "bootstrap")
	WantCode(t, r, 0)
	wantLines(t, r, "+ create fleet "+fleet, "+ create project "+lambda, "~ update project "+remote)
	f := getFleet(t, cb, fleet)
	if f == nil || aws.ToInt32(f.BaseCapacity) != 2 || f.ComputeType != cbtypes.ComputeTypeBuildGeneral1Medium ||
		f.EnvironmentType != cbtypes.EnvironmentTypeLinuxContainer || f.OverflowBehavior != cbtypes.FleetOverflowBehaviorQueue {
		t.Fatalf("fleet %+v", f)
	}
	p = getProject(t, cb, remote)
	if p.Environment.Fleet == nil || aws.ToString(p.Environment.Fleet.FleetArn) != aws.ToString(f.Arn) {
		t.Errorf("remote project fleet %+v, want %s", p.Environment.Fleet, aws.ToString(f.Arn))
	}
	lp := getProject(t, cb, lambda)
	if lp == nil || lp.Environment.Fleet != nil || aws.ToBool(lp.Environment.PrivilegedMode) || lp.Cache.Type != cbtypes.CacheTypeNoCache ||
		!strings.HasPrefix(string(lp.Environment.ComputeType), "BUILD_LAMBDA_") {
		t.Errorf("lambda project %+v", lp)
	}
	r = Hangar(t, tg, tr.Dir, nil, "bootstrap")
	WantCode(t, r, 0)
	wantLines(t, r, "No changes")

	// Turning them off removes them, and an emptied policy list its policy.
	setConfig("codebuild:\n  timeout: 90\n  iam:\n    default_vpc_policy: []\n  project:\n    environment:\n      ComputeType: BUILD_GENERAL1_MEDIUM\n")
	r = Hangar(t, tg, tr.Dir, nil, "bootstrap")
	WantCode(t, r, 0)
	wantLines(t, r, "- delete project "+lambda, "- delete fleet "+fleet, "~ update role "+role, "    - inline policy VpcPolicy")
	if getProject(t, cb, lambda) != nil || getFleet(t, cb, fleet) != nil {
		t.Error("the Lambda project or the fleet is still there")
	}
	if p := getProject(t, cb, remote); p.Environment.Fleet != nil {
		t.Errorf("remote project still on fleet %+v", p.Environment.Fleet)
	}
	if _, inline, _ := roleState(t, ic, role); !slices.Equal(inline, []string{"DefaultPolicy"}) {
		t.Errorf("inline policies %v", inline)
	}
	r = Hangar(t, tg, tr.Dir, nil, "bootstrap")
	WantCode(t, r, 0)
	wantLines(t, r, "No changes")
}

func TestBootstrapLeavesForeignProjectAlone(t *testing.T) {
	srv := StartServer(t)
	cb := codebuild.NewFromConfig(srv.sdk(t))
	tr := NewTree(t, nil, "")
	name := tr.Name + "-dev-remote"
	_, err := cb.CreateProject(context.Background(), &codebuild.CreateProjectInput{
		Name:        aws.String(name),
		Source:      &cbtypes.ProjectSource{Type: cbtypes.SourceTypeNoSource, Buildspec: aws.String("version: 0.2\n")},
		Artifacts:   &cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeNoArtifacts},
		Environment: &cbtypes.ProjectEnvironment{Type: cbtypes.EnvironmentTypeLinuxContainer, Image: aws.String("x"), ComputeType: cbtypes.ComputeTypeBuildGeneral1Small},
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/someone-elses"),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := Hangar(t, srv.Target(), tr.Dir, nil, "bootstrap")
	if r.Code != 1 || !strings.Contains(r.Stderr, "not made by hangar") {
		t.Fatalf("bootstrap over a foreign project: %s", r)
	}
	if p := getProject(t, cb, name); aws.ToString(p.ServiceRole) != "arn:aws:iam::000000000000:role/someone-elses" {
		t.Errorf("the foreign project was changed: %+v", p)
	}
}

func TestBootstrapEmbeddedIdempotent(t *testing.T) {
	tr := NewTree(t, nil, "codebuild:\n  lambda:\n    enable: true\n")
	r := Hangar(t, Embedded(), tr.Dir, nil, "bootstrap")
	WantCode(t, r, 0)
	wantLines(t, r, "+ create project "+tr.Name+"-dev-remote", "+ create project "+tr.Name+"-dev-remote-lambda")
	r = Hangar(t, Embedded(), tr.Dir, nil, "bootstrap")
	WantCode(t, r, 0)
	wantLines(t, r, "No changes")
}

func TestBootstrapTemplate(t *testing.T) {
	tr := NewTree(t, nil, "codebuild:\n  lambda:\n    enable: true\n  fleet:\n    enable: true\n  iam:\n    policy: [s3]\n")
	// No runner is needed: an unreachable server must not matter.
	r := Hangar(t, Target{Flags: []string{"--target", "server", "--endpoint", "http://127.0.0.1:1"}}, tr.Dir, nil, "bootstrap", "--template")
	WantCode(t, r, 0)
	var tmpl struct {
		AWSTemplateFormatVersion string
		Resources                map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &tmpl); err != nil {
		t.Fatalf("template does not parse: %v\n%s", err, r)
	}
	var types []string
	for _, res := range tmpl.Resources {
		types = append(types, res.Type)
	}
	slices.Sort(types)
	want := []string{"AWS::CodeBuild::Fleet", "AWS::CodeBuild::Project", "AWS::CodeBuild::Project", "AWS::IAM::Role", "AWS::S3::Bucket"}
	if !slices.Equal(types, want) {
		t.Errorf("resource types %v, want %v", types, want)
	}
	role := tmpl.Resources["CodebuildRole"].Properties
	if role["RoleName"] != tr.Name+"-dev-codebuild-role" || len(role["Policies"].([]any)) != 3 || len(role["ManagedPolicyArns"].([]any)) != 2 {
		t.Errorf("role %v", role)
	}
}

func TestConfigCommand(t *testing.T) {
	tr := NewTree(t, nil, "codebuild:\n  timeout: 30\n  project:\n    env:\n      vars:\n        DOCKER_PASS: \"SSM:/${ssm_env}/DOCKER_PASS\"\n")
	r := Hangar(t, Embedded(), tr.Dir, []string{"HANGAR_EXTRA=blue"}, "config", "--region", "eu-west-1")
	WantCode(t, r, 0)
	for _, re := range []string{
		`(?m)^project\s+= "` + tr.Name + `"\s+# hangar\.yml:1$`,
		`(?m)^codebuild\.project\.timeout_in_minutes\s+= 30\s+# hangar\.yml:3`,
		`(?m)^codebuild\.project\.env\.vars\.DOCKER_PASS\s+= "SSM:/dev/DOCKER_PASS"\s+# hangar\.yml:7$`,
		`(?m)^extra\s+= "blue"\s+# env HANGAR_EXTRA$`,
		`(?m)^region\s+= "eu-west-1"\s+# flag --region$`,
		`(?m)^env\s+= "dev"\s+# default`,
		`(?m)^namespace\s+= "` + tr.Name + `-dev-blue"\s+# derived`,
	} {
		if !regexpMatch(re, r.Stdout) {
			t.Errorf("config output lacks %s:\n%s", re, r.Stdout)
		}
	}

	bad := NewTree(t, nil, "codebuild:\n  projcet:\n    timeout: 5\n")
	r = Hangar(t, Embedded(), bad.Dir, nil, "config")
	WantCode(t, r, 2)
	if !strings.Contains(r.Stderr, "hangar.yml:3: codebuild.projcet: unknown key (did you mean codebuild.project?)") {
		t.Errorf("bad config:\n%s", r)
	}
}

func TestParamSecureAndSSMReference(t *testing.T) {
	srv := StartServer(t)
	tg := srv.Target()
	tr := NewTree(t, nil, "codebuild:\n  project:\n    env:\n      vars:\n        DOCKER_PASS: \"SSM:/${ssm_env}/DOCKER_PASS\"\n")

	r := Hangar(t, tg, tr.Dir, nil, "param", "put", "/dev/DOCKER_PASS", "s3cr3t", "--secure")
	WantCode(t, r, 0)
	if strings.Contains(r.Stdout+r.Stderr, "s3cr3t") {
		t.Errorf("put echoed the value:\n%s", r)
	}
	r = Hangar(t, tg, tr.Dir, nil, "param", "get", "/dev/DOCKER_PASS")
	WantCode(t, r, 0)
	if strings.Contains(r.Stdout, "s3cr3t") {
		t.Errorf("get without --decrypt printed the plaintext")
	}
	r = Hangar(t, tg, tr.Dir, nil, "param", "get", "/dev/DOCKER_PASS", "--decrypt")
	WantCode(t, r, 0)
	if r.Stdout != "s3cr3t\n" {
		t.Errorf("get --decrypt: %q", r.Stdout)
	}
	r = Hangar(t, tg, tr.Dir, nil, "param", "put", "/dev/DOCKER_PASS", "other", "--secure")
	WantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "--overwrite") {
		t.Errorf("put over an existing parameter:\n%s", r)
	}
	r = Hangar(t, tg, tr.Dir, nil, "param", "put", "/dev/DOCKER_USER", "bot")
	WantCode(t, r, 0)
	r = Hangar(t, tg, tr.Dir, nil, "param", "ls", "/dev")
	WantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "/dev/DOCKER_PASS") || !strings.Contains(r.Stdout, "SecureString") || !strings.Contains(r.Stdout, "/dev/DOCKER_USER") || strings.Contains(r.Stdout, "s3cr3t") {
		t.Errorf("ls:\n%s", r)
	}

	// The env var names the parameter, typed for the runner to resolve;
	// any env but prod reads the dev parameters (${ssm_env}).
	r = Hangar(t, tg, tr.Dir, []string{"HANGAR_ENV=staging"}, "bootstrap")
	WantCode(t, r, 0)
	wantLines(t, r, "environment.environmentVariables.DOCKER_PASS: PARAMETER_STORE /dev/DOCKER_PASS")
	p := getProject(t, codebuild.NewFromConfig(srv.sdk(t)), tr.Name+"-staging-remote")
	if p == nil {
		t.Fatal("no project")
	}
	v := envVar(p, "DOCKER_PASS")
	if v == nil || v.Type != cbtypes.EnvironmentVariableTypeParameterStore || aws.ToString(v.Value) != "/dev/DOCKER_PASS" {
		t.Errorf("DOCKER_PASS %+v", v)
	}

	r = Hangar(t, tg, tr.Dir, nil, "param", "put", "/dev/DOCKER_PASS", "n3w", "--secure", "--overwrite")
	WantCode(t, r, 0)
	r = Hangar(t, tg, tr.Dir, nil, "param", "rm", "/dev/DOCKER_USER")
	WantCode(t, r, 0)
	r = Hangar(t, tg, tr.Dir, nil, "param", "get", "/dev/DOCKER_USER")
	WantCode(t, r, 1)
}

func TestSecretRoundTrip(t *testing.T) {
	srv := StartServer(t)
	tg := srv.Target()
	tr := NewTree(t, nil, "codebuild:\n  project:\n    env:\n      vars:\n        TOKEN: \"SECRET:ci/token\"\n")

	// From stdin, so the value is not in argv.
	cmd := Command(context.Background(), tg, tr.Dir, nil, "secret", "put", "ci/token", "-")
	cmd.Stdin = strings.NewReader("t0ken-1\n")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "t0ken") {
		t.Fatalf("secret put -: %v\n%s", err, out)
	}
	r := Hangar(t, tg, tr.Dir, nil, "secret", "get", "ci/token")
	WantCode(t, r, 0)
	if r.Stdout != "t0ken-1\n" {
		t.Errorf("get %q", r.Stdout)
	}
	r = Hangar(t, tg, tr.Dir, nil, "secret", "put", "ci/token", "t0ken-2")
	WantCode(t, r, 0)
	if strings.Contains(r.Stdout, "t0ken") {
		t.Errorf("put echoed the value: %s", r)
	}
	r = Hangar(t, tg, tr.Dir, nil, "secret", "get", "ci/token")
	if r.Stdout != "t0ken-2\n" {
		t.Errorf("get after put %q", r.Stdout)
	}
	r = Hangar(t, tg, tr.Dir, nil, "secret", "ls")
	WantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "ci/token") || strings.Contains(r.Stdout, "t0ken") {
		t.Errorf("ls:\n%s", r)
	}

	// A SECRET: variable lets the build role read secrets.
	r = Hangar(t, tg, tr.Dir, nil, "bootstrap")
	WantCode(t, r, 0)
	wantLines(t, r, "+ inline policy SecretsPolicy: Allow secretsmanager:GetSecretValue, kms:Decrypt on *",
		"environment.environmentVariables.TOKEN: SECRETS_MANAGER ci/token")

	r = Hangar(t, tg, tr.Dir, nil, "secret", "rm", "ci/token", "--force")
	WantCode(t, r, 0)
	r = Hangar(t, tg, tr.Dir, nil, "secret", "get", "ci/token")
	WantCode(t, r, 1)
}

func TestEndpointWorksWithAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("no aws CLI")
	}
	tr := NewTree(t, nil, "")
	r := Hangar(t, Embedded(), tr.Dir, nil, "param", "put", "/e2e/"+tr.Name, "via-hangar")
	WantCode(t, r, 0)
	r = Hangar(t, Embedded(), tr.Dir, nil, "endpoint")
	WantCode(t, r, 0)
	for _, k := range []string{"export AWS_ENDPOINT_URL=http://127.0.0.1:", "export AWS_SHARED_CREDENTIALS_FILE=", "export AWS_REGION=us-east-1"} {
		if !strings.Contains(r.Stdout, k) {
			t.Errorf("endpoint output lacks %q:\n%s", k, r.Stdout)
		}
	}

	// What a user does: eval the output in a shell, then use the aws CLI.
	script := `eval "$(` + shellWord(hangarBin) + ` endpoint)" && aws ssm get-parameter --name /e2e/` + tr.Name + ` --query Parameter.Value --output text && aws codebuild list-projects --output json`
	sh := exec.Command("sh", "-c", script)
	sh.Dir = tr.Dir
	sh.Env = append(baseEnv(), "AWS_ACCESS_KEY_ID=wrong", "AWS_SECRET_ACCESS_KEY=wrong")
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("aws CLI with hangar endpoint: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "via-hangar\n") || !strings.Contains(string(out), `"projects"`) {
		t.Errorf("aws CLI output:\n%s", out)
	}

	r = Hangar(t, Embedded(), tr.Dir, nil, "endpoint", "--json")
	WantCode(t, r, 0)
	var info struct {
		Target, Endpoint, CredentialsFile, Region string
		Env                                       map[string]string
	}
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
		t.Fatalf("--json: %v\n%s", err, r)
	}
	if info.Target != "embedded" || info.Env["AWS_ENDPOINT_URL"] != info.Endpoint || info.CredentialsFile == "" {
		t.Errorf("--json %+v", info)
	}
	if _, err := os.Stat(info.CredentialsFile); err != nil {
		t.Errorf("credentials file: %v", err)
	}
}

func shellWord(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// countingClient counts the requests an SDK configuration sends.
type countingClient struct {
	c aws.HTTPClient
	n atomic.Int32
}

func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.c.Do(r)
}

// Ensure, as `hangar run` calls it: a full reconcile the first time and
// after a change, one request when nothing changed.
func TestEnsureAgainstServer(t *testing.T) {
	srv := StartServer(t)
	tr := NewTree(t, nil, "codebuild:\n  lambda:\n    enable: true\n")
	load := func() *hconfig.Config {
		t.Helper()
		cfg, err := hconfig.Load(hconfig.Options{Dir: tr.Dir, Environ: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cc := &countingClient{c: awshttp.NewBuildableClient()}
	awsCfg := srv.sdk(t)
	awsCfg.HTTPClient = cc
	tg := &target.Target{Kind: target.Server, Endpoint: srv.Endpoint, Config: awsCfg}
	ctx := context.Background()
	ns := tr.Name + "-dev"

	var out strings.Builder
	res, err := bootstrap.Ensure(ctx, tg, load(), &out)
	if err != nil {
		t.Fatal(err)
	}
	want := bootstrap.Resources{Bucket: ns + "-000000000000-us-east-1", Project: ns + "-remote", LambdaProject: ns + "-remote-lambda"}
	if *res != want {
		t.Errorf("resources %+v, want %+v", *res, want)
	}
	for _, l := range []string{"bootstrap: + create role " + ns + "-codebuild-role\n", "bootstrap: + create project " + ns + "-remote\n"} {
		if !strings.Contains(out.String(), l) {
			t.Errorf("output lacks %q:\n%s", l, out.String())
		}
	}

	for range 2 {
		out.Reset()
		cc.n.Store(0)
		res, err = bootstrap.Ensure(ctx, tg, load(), &out)
		if err != nil {
			t.Fatal(err)
		}
		if *res != want || out.Len() != 0 || cc.n.Load() != 1 {
			t.Errorf("unchanged: resources %+v, output %q, %d requests (want 1)", *res, out.String(), cc.n.Load())
		}
	}

	tr.Write(config(tr.Name, "codebuild:\n  timeout: 45\n"), "hangar.yml")
	out.Reset()
	res, err = bootstrap.Ensure(ctx, tg, load(), &out)
	if err != nil {
		t.Fatal(err)
	}
	if res.LambdaProject != "" || !strings.Contains(out.String(), "bootstrap: - delete project "+ns+"-remote-lambda\n") ||
		!strings.Contains(out.String(), "bootstrap: ~ update project "+ns+"-remote\n") {
		t.Errorf("after a change: %+v\n%s", *res, out.String())
	}
	cc.n.Store(0)
	if _, err := bootstrap.Ensure(ctx, tg, load(), io.Discard); err != nil || cc.n.Load() != 1 {
		t.Errorf("after the change was applied: %v, %d requests", err, cc.n.Load())
	}
}
