package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hangarci/hangar/internal/envrules"
	"github.com/hangarci/hangar/internal/model"
)

// tree writes files under a new directory named name and returns it.
func tree(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	for p, body := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mustLoad(t *testing.T, opts Options) *Config {
	t.Helper()
	if opts.Arch == "" {
		opts.Arch = "amd64"
	}
	c, err := Load(opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// loadErr loads and returns the problems, one line each.
func loadErr(t *testing.T, opts Options) []string {
	t.Helper()
	if opts.Arch == "" {
		opts.Arch = "amd64"
	}
	c, err := Load(opts)
	if err == nil {
		t.Fatalf("Load succeeded: %+v", c)
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, not Errors: %v", err, err)
	}
	return strings.Split(err.Error(), "\n")
}

func src(t *testing.T, c *Config, key string) string {
	t.Helper()
	s, ok := c.Source(key)
	if !ok {
		t.Fatalf("no source for %s", key)
	}
	return s.String()
}

func TestNoFileDefaults(t *testing.T) {
	dir := tree(t, "my app.v2", nil)
	c := mustLoad(t, Options{Dir: dir})
	want := &Config{
		Root:     dir,
		Project:  "my-app-v2",
		Env:      "dev",
		Target:   TargetEmbedded,
		Region:   "us-east-1",
		Code:     Code{Copy{AlwaysKeep: []string{}, AlwaysRemove: []string{"tmp"}}},
		Warnings: nil,
		CodeBuild: CodeBuild{
			Project: BuildProject{
				ComputeType: ComputeType{"BUILD_GENERAL1_SMALL", "aws/codebuild/amazonlinux2-x86_64-standard:5.0", "LINUX_CONTAINER"},
				Environment: map[string]any{},
				Env: Env{Vars: map[string]string{}, DefaultPass: []string{"HANGAR_ENV", "HANGAR_EXTRA", "HANGAR_PROJECT"},
					Pass: []string{}, Block: []string{}},
				TimeoutInMinutes: 60,
			},
			Fleet: Fleet{BaseCapacity: 1},
			IAM: IAM{
				DefaultPolicy:        actions(defaultPolicy()...),
				Policy:               []PolicyEntry{},
				DefaultVpcPolicy:     actions("ec2"),
				DefaultManagedPolicy: []string{"AmazonSSMReadOnlyAccess", "AWSCertificateManagerReadOnly"},
				ManagedPolicy:        []string{},
			},
			Lambda: Lambda{Project: LambdaProject{ComputeType{"BUILD_LAMBDA_1GB", "aws/codebuild/amazonlinux-x86_64-lambda-standard:go1.24", "LINUX_LAMBDA_CONTAINER"}}},
		},
	}
	want.entries = c.entries
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if c.Namespace() != "my-app-v2-dev" || c.ProjectName() != "my-app-v2-dev-remote" || c.LambdaProjectName() != "my-app-v2-dev-remote-lambda" ||
		c.FleetName() != "my-app-v2-dev-fleet" || c.RoleName() != "my-app-v2-dev-codebuild-role" || c.SSMEnv() != "dev" {
		t.Fatalf("derived names: %s %s %s %s %s %s", c.Namespace(), c.ProjectName(), c.LambdaProjectName(), c.FleetName(), c.RoleName(), c.SSMEnv())
	}
	if got := src(t, c, "project"); got != "default (folder name)" {
		t.Errorf("project source = %s", got)
	}
	if len(c.Files) != 0 {
		t.Errorf("Files = %v", c.Files)
	}
	// Every default is listed as a default.
	for _, e := range c.Entries() {
		if e.Source.Kind != FromDefault && e.Source.Kind != FromDerived {
			t.Errorf("%s comes from %s", e.Key, e.Source)
		}
	}
}

func actions(s ...string) []PolicyEntry {
	out := []PolicyEntry{}
	for _, a := range s {
		out = append(out, PolicyEntry{Action: a})
	}
	return out
}

func TestDefaultComputeByTargetAndArch(t *testing.T) {
	armEC2 := ComputeType{"BUILD_GENERAL1_SMALL", "aws/codebuild/amazonlinux2-aarch64-standard:3.0", "ARM_CONTAINER"}
	armLambda := ComputeType{"BUILD_LAMBDA_1GB", "aws/codebuild/amazonlinux-aarch64-lambda-standard:go1.24", "ARM_LAMBDA_CONTAINER"}
	x86EC2 := ComputeType{"BUILD_GENERAL1_SMALL", "aws/codebuild/amazonlinux2-x86_64-standard:5.0", "LINUX_CONTAINER"}
	x86Lambda := ComputeType{"BUILD_LAMBDA_1GB", "aws/codebuild/amazonlinux-x86_64-lambda-standard:go1.24", "LINUX_LAMBDA_CONTAINER"}
	tests := []struct {
		target, arch string
		ec2, lambda  ComputeType
		note         string
	}{
		{"embedded", "amd64", x86EC2, x86Lambda, "default (runner arch amd64)"},
		{"embedded", "arm64", armEC2, armLambda, "default (runner arch arm64)"},
		{"server", "amd64", x86EC2, x86Lambda, "default (runner arch amd64)"},
		{"aws", "amd64", armEC2, armLambda, "default (target aws)"}, // Jets' default, whatever the client
		{"aws", "arm64", armEC2, armLambda, "default (target aws)"},
	}
	for _, tt := range tests {
		dir := tree(t, "p", map[string]string{"hangar.yml": "target: " + tt.target + "\nendpoint: http://build:9000\n"})
		c := mustLoad(t, Options{Dir: dir, Arch: tt.arch})
		if c.CodeBuild.Project.ComputeType != tt.ec2 || c.CodeBuild.Lambda.Project.ComputeType != tt.lambda {
			t.Errorf("%s/%s: compute %+v lambda %+v", tt.target, tt.arch, c.CodeBuild.Project.ComputeType, c.CodeBuild.Lambda.Project.ComputeType)
		}
		if got := src(t, c, "codebuild.project.compute_type.image"); got != tt.note {
			t.Errorf("%s/%s: source %s", tt.target, tt.arch, got)
		}
	}
}

// fullFile sets every key of DESIGN §2.
const fullFile = `project: shop_app          # 1
env: staging
extra: blue
target: server
endpoint: https://build.example.com:9443
region: eu-west-1
code:
  copy:
    always_keep: [config/env, ".env.${env}"]
    always_remove: [tmp, log]
codebuild:
  project:
    compute_type:
      ComputeType: BUILD_GENERAL1_MEDIUM
      Image: aws/codebuild/amazonlinux2-x86_64-standard:5.0
      Type: LINUX_CONTAINER
    environment:
      PrivilegedMode: false
      imagePullCredentialsType: SERVICE_ROLE
      RegistryCredential:
        Credential: arn:aws:secretsmanager:eu-west-1:1:secret:reg
        CredentialProvider: SECRETS_MANAGER
    env:
      vars:
        DOCKER_PASS: "SSM:/${ssm_env}/DOCKER_PASS"
        STACK: ${namespace}
        PORT: 8080
      default_pass: [HANGAR_ENV]
      pass: [DOCKER_USER, /^BUNDLE_/]
      block: [/SECRET/]
    timeout_in_minutes: 90
  fleet:
    enable: true
    base_capacity: 3
  fleet_override: arn:aws:codebuild:eu-west-1:1:fleet/big:abc
  iam:
    default_policy: [s3, logs]
    policy:
      - sts:GetCallerIdentity
      - Action: [lambda:InvokeFunction]
        Resource: arn:aws:lambda:*:*:function:${namespace}-*
    default_vpc_policy: []
    default_managed_policy: [AmazonSSMReadOnlyAccess]
    managed_policy: [arn:aws:iam::1:policy/Mine, ReadOnlyAccess]
  lambda:
    enable: true
    project:
      compute_type:
        computeType: BUILD_LAMBDA_2GB
        image: aws/codebuild/amazonlinux-x86_64-lambda-standard:go1.24
        type: LINUX_LAMBDA_CONTAINER
`

func TestEveryKey(t *testing.T) {
	dir := tree(t, "p", map[string]string{"hangar.yml": fullFile})
	c := mustLoad(t, Options{Dir: dir})
	cb := c.CodeBuild
	checks := []struct {
		name      string
		got, want any
	}{
		{"project", c.Project, "shop_app"},
		{"env", c.Env, "staging"},
		{"extra", c.Extra, "blue"},
		{"target", c.Target, TargetServer},
		{"endpoint", c.Endpoint, "https://build.example.com:9443"},
		{"region", c.Region, "eu-west-1"},
		{"always_keep", c.Code.Copy.AlwaysKeep, []string{"config/env", ".env.staging"}},
		{"always_remove", c.Code.Copy.AlwaysRemove, []string{"tmp", "log"}},
		{"compute_type", cb.Project.ComputeType, ComputeType{"BUILD_GENERAL1_MEDIUM", "aws/codebuild/amazonlinux2-x86_64-standard:5.0", "LINUX_CONTAINER"}},
		{"environment", cb.Project.Environment, map[string]any{
			"privilegedMode":           false,
			"imagePullCredentialsType": "SERVICE_ROLE",
			"registryCredential":       map[string]any{"credential": "arn:aws:secretsmanager:eu-west-1:1:secret:reg", "credentialProvider": "SECRETS_MANAGER"},
		}},
		{"vars", cb.Project.Env.Vars, map[string]string{"DOCKER_PASS": "SSM:/dev/DOCKER_PASS", "STACK": "shop-app-staging-blue", "PORT": "8080"}},
		{"default_pass", cb.Project.Env.DefaultPass, []string{"HANGAR_ENV"}},
		{"pass", cb.Project.Env.Pass, []string{"DOCKER_USER", "/^BUNDLE_/"}},
		{"block", cb.Project.Env.Block, []string{"/SECRET/"}},
		{"timeout", cb.Project.TimeoutInMinutes, 90},
		{"fleet", cb.Fleet, Fleet{Enable: true, BaseCapacity: 3}},
		{"fleet_override", cb.FleetOverride, "arn:aws:codebuild:eu-west-1:1:fleet/big:abc"},
		{"default_policy", cb.IAM.DefaultPolicy, actions("s3", "logs")},
		{"policy", cb.IAM.Policy, []PolicyEntry{{Action: "sts:GetCallerIdentity"}, {Map: map[string]any{
			"Action": []any{"lambda:InvokeFunction"}, "Resource": "arn:aws:lambda:*:*:function:shop-app-staging-blue-*"}}}},
		{"default_vpc_policy", cb.IAM.DefaultVpcPolicy, []PolicyEntry{}},
		{"default_managed_policy", cb.IAM.DefaultManagedPolicy, []string{"AmazonSSMReadOnlyAccess"}},
		{"managed_policy", cb.IAM.ManagedPolicy, []string{"arn:aws:iam::1:policy/Mine", "ReadOnlyAccess"}},
		{"lambda", cb.Lambda, Lambda{Enable: true, Project: LambdaProject{ComputeType{"BUILD_LAMBDA_2GB", "aws/codebuild/amazonlinux-x86_64-lambda-standard:go1.24", "LINUX_LAMBDA_CONTAINER"}}}},
		{"namespace", c.Namespace(), "shop-app-staging-blue"},
		{"ssm_env", c.SSMEnv(), "dev"},
		{"role", c.RoleName(), "shop-app-staging-blue-codebuild-role"},
		{"fleet name", c.FleetName(), "shop-app-staging-blue-fleet"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
	for key, want := range map[string]string{
		"project":                         "hangar.yml:1",
		"codebuild.project.env.vars.PORT": "hangar.yml:27",
		"codebuild.project.environment.registryCredential.credentialProvider": "hangar.yml:22",
		"codebuild.fleet.base_capacity":                                       "hangar.yml:34",
		"codebuild.project.fleet_override":                                    "hangar.yml:35 (as codebuild.fleet_override)",
		"codebuild.lambda.project.compute_type.computeType":                   "hangar.yml:49",
	} {
		if got := src(t, c, key); got != want {
			t.Errorf("source of %s = %s, want %s", key, got, want)
		}
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", c.Warnings)
	}
	// The environment merges over compute_type in API spelling.
	env := c.Environment()
	if env["computeType"] != "BUILD_GENERAL1_MEDIUM" || env["privilegedMode"] != false || env["type"] != "LINUX_CONTAINER" {
		t.Errorf("Environment() = %v", env)
	}
	if _, ok := cb.Project.Environment["computeType"]; ok {
		t.Errorf("Environment() changed the config: %v", cb.Project.Environment)
	}
	// The env spec is accepted by envrules as loaded.
	rules, err := envrules.New(c.EnvSpec())
	if err != nil {
		t.Fatal(err)
	}
	got := rules.ProjectVars()
	want := []model.EnvironmentVariable{
		{Name: "DOCKER_PASS", Value: "/dev/DOCKER_PASS", Type: model.EnvParameterStore},
		{Name: "PORT", Value: "8080", Type: model.EnvPlaintext},
		{Name: "STACK", Value: "shop-app-staging-blue", Type: model.EnvPlaintext},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ProjectVars = %+v", got)
	}
}

func TestFindWalksUp(t *testing.T) {
	dir := tree(t, "repo", map[string]string{
		"hangar.yml":      "project: demo\nenv: prod\n",
		"hangar.prod.yml": "region: eu-central-1\n",
		"a/b/c/keep.txt":  "",
	})
	c := mustLoad(t, Options{Dir: filepath.Join(dir, "a", "b")})
	if c.Root != dir {
		t.Fatalf("Root = %s, want %s", c.Root, dir)
	}
	wantFiles := []string{filepath.Join("..", "..", "hangar.yml"), filepath.Join("..", "..", "hangar.prod.yml")}
	if !reflect.DeepEqual(c.Files, wantFiles) {
		t.Fatalf("Files = %v", c.Files)
	}
	if c.Region != "eu-central-1" || src(t, c, "region") != filepath.Join("..", "..", "hangar.prod.yml")+":1" {
		t.Fatalf("region %s from %s", c.Region, src(t, c, "region"))
	}
	p, err := Find(filepath.Join(dir, "a", "b", "c"))
	if err != nil || p != filepath.Join(dir, "hangar.yml") {
		t.Fatalf("Find = %q, %v", p, err)
	}
	// No file anywhere up: none.
	if p, err := Find(t.TempDir()); err != nil || p != "" {
		t.Fatalf("Find in empty tree = %q, %v", p, err)
	}
	// hangar.yaml is named, not skipped.
	yamlDir := tree(t, "y", map[string]string{"hangar.yaml": "project: x\n"})
	if _, err := Load(Options{Dir: yamlDir}); err == nil || !strings.Contains(err.Error(), "Hangar reads hangar.yml") {
		t.Fatalf("hangar.yaml: %v", err)
	}
}

func TestOverlayAndPrecedence(t *testing.T) {
	dir := tree(t, "p", map[string]string{
		"hangar.yml": `project: demo
target: server
endpoint: http://base:1
region: us-west-2
code:
  copy:
    always_keep: [a, b]
codebuild:
  project:
    environment:
      PrivilegedMode: true
      certificate: base-cert
    env:
      vars:
        KEEP: base
        DROP: base
        OVER: base
  fleet:
    base_capacity: 2
`,
		"hangar.dev.yml": `endpoint: http://overlay:2
code:
  copy:
    always_keep: [c]
codebuild:
  project:
    environment:
      privilegedMode: false
    env:
      vars:
        DROP: null
        OVER: overlay
        NEW: ${env}
  fleet:
    enable: true
`,
		"hangar.prod.yml": "region: eu-north-1\n",
	})
	c := mustLoad(t, Options{Dir: dir})
	if c.Endpoint != "http://overlay:2" || src(t, c, "endpoint") != "hangar.dev.yml:1" {
		t.Errorf("endpoint %s from %s", c.Endpoint, src(t, c, "endpoint"))
	}
	if c.Region != "us-west-2" {
		t.Errorf("region = %s: hangar.prod.yml must not apply to env dev", c.Region)
	}
	if !reflect.DeepEqual(c.Code.Copy.AlwaysKeep, []string{"c"}) {
		t.Errorf("lists are replaced, not appended: %v", c.Code.Copy.AlwaysKeep)
	}
	if want := (map[string]any{"privilegedMode": false, "certificate": "base-cert"}); !reflect.DeepEqual(c.CodeBuild.Project.Environment, want) {
		t.Errorf("environment deep merge = %v", c.CodeBuild.Project.Environment)
	}
	if want := (map[string]string{"KEEP": "base", "OVER": "overlay", "NEW": "dev"}); !reflect.DeepEqual(c.CodeBuild.Project.Env.Vars, want) {
		t.Errorf("vars merge = %v", c.CodeBuild.Project.Env.Vars)
	}
	if c.CodeBuild.Fleet != (Fleet{Enable: true, BaseCapacity: 2}) {
		t.Errorf("fleet = %+v", c.CodeBuild.Fleet)
	}
	if got := src(t, c, "codebuild.project.environment.privilegedMode"); got != "hangar.dev.yml:8" {
		t.Errorf("privilegedMode source %s", got)
	}

	// HANGAR_ENV picks the other overlay; HANGAR_* beats both files; flags beat all.
	environ := []string{"HANGAR_ENV=prod", "HANGAR_ENDPOINT=http://env:3", "HANGAR_REGION=", "HANGAR_CODEBUILD_FLEET_BASE_CAPACITY=5", "HANGAR_EXTRA=x"}
	c = mustLoad(t, Options{Dir: dir, Environ: environ})
	if c.Env != "prod" || c.Region != "eu-north-1" || c.Endpoint != "http://env:3" || c.CodeBuild.Fleet.BaseCapacity != 5 || c.Extra != "x" {
		t.Errorf("env layer: env=%s region=%s endpoint=%s cap=%d extra=%s", c.Env, c.Region, c.Endpoint, c.CodeBuild.Fleet.BaseCapacity, c.Extra)
	}
	if src(t, c, "endpoint") != "env HANGAR_ENDPOINT" || src(t, c, "region") != "hangar.prod.yml:1" || src(t, c, "env") != "env HANGAR_ENV" {
		t.Errorf("sources: %s / %s / %s", src(t, c, "endpoint"), src(t, c, "region"), src(t, c, "env"))
	}
	if c.CodeBuild.Fleet.Enable {
		t.Error("hangar.dev.yml applied with env prod")
	}
	flags := []Flag{
		{Name: "--env", Key: "env", Value: "dev"},
		{Name: "--endpoint", Key: "endpoint", Value: "http://flag:4"},
		{Name: "--timeout", Key: "codebuild.project.timeout_in_minutes", Value: "15"},
	}
	c = mustLoad(t, Options{Dir: dir, Environ: environ, Flags: flags})
	if c.Env != "dev" || c.Endpoint != "http://flag:4" || c.CodeBuild.Project.TimeoutInMinutes != 15 || !c.CodeBuild.Fleet.Enable {
		t.Errorf("flag layer: env=%s endpoint=%s timeout=%d fleet=%v", c.Env, c.Endpoint, c.CodeBuild.Project.TimeoutInMinutes, c.CodeBuild.Fleet.Enable)
	}
	if src(t, c, "endpoint") != "flag --endpoint" || src(t, c, "codebuild.project.timeout_in_minutes") != "flag --timeout" {
		t.Errorf("flag sources: %s, %s", src(t, c, "endpoint"), src(t, c, "codebuild.project.timeout_in_minutes"))
	}

	// env set in hangar.yml picks the overlay too.
	dir2 := tree(t, "p", map[string]string{"hangar.yml": "env: prod\n", "hangar.prod.yml": "extra: green\n"})
	if c := mustLoad(t, Options{Dir: dir2}); c.Extra != "green" || c.Namespace() != "p-prod-green" || c.SSMEnv() != "prod" {
		t.Errorf("file env: extra=%s ns=%s", c.Extra, c.Namespace())
	}
}

func TestOverlayCannotSetEnv(t *testing.T) {
	dir := tree(t, "p", map[string]string{"hangar.yml": "project: p\n", "hangar.dev.yml": "\nenv: prod\n"})
	got := loadErr(t, Options{Dir: dir})
	want := []string{"hangar.dev.yml:2: env: cannot be set in an overlay (the env chose this file); set it in hangar.yml, HANGAR_ENV or --env"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
}

func TestNullResets(t *testing.T) {
	dir := tree(t, "p", map[string]string{
		"hangar.yml":     "region: eu-west-1\ncodebuild:\n  project:\n    timeout_in_minutes: 30\n",
		"hangar.dev.yml": "region: null\ncodebuild:\n  project: ~\n",
	})
	c := mustLoad(t, Options{Dir: dir})
	if c.Region != "us-east-1" || c.CodeBuild.Project.TimeoutInMinutes != 60 {
		t.Fatalf("null did not reset: region %s timeout %d", c.Region, c.CodeBuild.Project.TimeoutInMinutes)
	}
	if src(t, c, "region") != "default" {
		t.Fatalf("region source %s", src(t, c, "region"))
	}
}

func TestTimeoutSpellings(t *testing.T) {
	tests := []struct {
		name    string
		base    string
		overlay string
		environ []string
		want    int
		source  string
		warn    string
	}{
		{name: "default", want: 60, source: "default"},
		{name: "canonical", base: "codebuild:\n  project:\n    timeout_in_minutes: 20\n", want: 20, source: "hangar.yml:3"},
		{name: "codebuild.timeout (Jets docs)", base: "codebuild:\n  timeout: 25\n", want: 25, source: "hangar.yml:2 (as codebuild.timeout)"},
		{name: "codebuild.project.timeout (Jets code)", base: "codebuild:\n  project:\n    timeout: 35\n", want: 35, source: "hangar.yml:3 (as codebuild.project.timeout)"},
		{
			name: "one layer: project.timeout > timeout_in_minutes > codebuild.timeout",
			base: "codebuild:\n  timeout: 10\n  project:\n    timeout_in_minutes: 20\n    timeout: 30\n",
			want: 30, source: "hangar.yml:5 (as codebuild.project.timeout)",
			warn: "hangar.yml:4: codebuild.project.timeout_in_minutes = 20 is ignored: codebuild.project.timeout = 30 (hangar.yml:5) wins",
		},
		{
			name: "one layer: timeout_in_minutes > codebuild.timeout",
			base: "codebuild:\n  timeout: 10\n  project:\n    timeout_in_minutes: 20\n",
			want: 20, source: "hangar.yml:4",
			warn: "hangar.yml:2: codebuild.timeout = 10 is ignored: codebuild.project.timeout_in_minutes = 20 (hangar.yml:4) wins",
		},
		{
			name:    "a higher layer wins whatever the spelling",
			base:    "codebuild:\n  project:\n    timeout: 30\n",
			overlay: "codebuild:\n  timeout: 45\n",
			want:    45, source: "hangar.dev.yml:2 (as codebuild.timeout)",
		},
		{
			name:    "environment over files",
			base:    "codebuild:\n  project:\n    timeout: 30\n",
			environ: []string{"HANGAR_CODEBUILD_TIMEOUT=50"},
			want:    50, source: "env HANGAR_CODEBUILD_TIMEOUT (as codebuild.timeout)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"hangar.yml": tt.base}
			if tt.overlay != "" {
				files["hangar.dev.yml"] = tt.overlay
			}
			c := mustLoad(t, Options{Dir: tree(t, "p", files), Environ: tt.environ})
			if c.CodeBuild.Project.TimeoutInMinutes != tt.want {
				t.Errorf("timeout = %d, want %d", c.CodeBuild.Project.TimeoutInMinutes, tt.want)
			}
			if got := src(t, c, "codebuild.project.timeout_in_minutes"); got != tt.source {
				t.Errorf("source = %s, want %s", got, tt.source)
			}
			var warn string
			if len(c.Warnings) > 0 {
				warn = c.Warnings[0]
			}
			if warn != tt.warn {
				t.Errorf("warning = %q, want %q", warn, tt.warn)
			}
		})
	}
}

func TestFleetOverrideSpellings(t *testing.T) {
	const a, b, e = "arn:aws:codebuild:us-east-1:1:fleet/a:1", "arn:aws:codebuild:us-east-1:1:fleet/b:2", "arn:aws:codebuild:us-east-1:1:fleet/e:3"
	tests := []struct {
		file    string
		environ []string
		want    string
		source  string
	}{
		{"codebuild:\n  fleet_override: " + a + "\n", nil, a, "hangar.yml:2 (as codebuild.fleet_override)"},
		{"codebuild:\n  project:\n    fleet_override: " + b + "\n", nil, b, "hangar.yml:3"},
		{"codebuild:\n  fleet_override: " + a + "\n  project:\n    fleet_override: " + b + "\n", nil, b, "hangar.yml:4"},
		{"codebuild:\n  project:\n    fleet_override: " + b + "\n", []string{"HANGAR_CODEBUILD_FLEET_OVERRIDE=" + e}, e, "env HANGAR_CODEBUILD_FLEET_OVERRIDE (as codebuild.fleet_override)"},
		{"", []string{"HANGAR_CODEBUILD_PROJECT_FLEET_OVERRIDE=" + e}, e, "env HANGAR_CODEBUILD_PROJECT_FLEET_OVERRIDE"},
	}
	for _, tt := range tests {
		c := mustLoad(t, Options{Dir: tree(t, "p", map[string]string{"hangar.yml": tt.file}), Environ: tt.environ})
		if c.CodeBuild.FleetOverride != tt.want || src(t, c, "codebuild.project.fleet_override") != tt.source {
			t.Errorf("%q %v: %s from %s", tt.file, tt.environ, c.CodeBuild.FleetOverride, src(t, c, "codebuild.project.fleet_override"))
		}
	}
	got := loadErr(t, Options{Dir: tree(t, "p", map[string]string{"hangar.yml": "codebuild:\n  fleet_override: my-fleet\n"})})
	if want := `hangar.yml:2: codebuild.fleet_override: "my-fleet" is not a fleet ARN (arn:aws:codebuild:REGION:ACCOUNT:fleet/NAME:ID)`; got[0] != want {
		t.Errorf("got %q", got)
	}
}

func TestExpansion(t *testing.T) {
	file := `project: web_shop
codebuild:
  project:
    env:
      vars:
        A: SSM:/${ssm_env}/A
        B: ${project}/${env}/${namespace}
        C: echo $${HOME} $PATH $$
        D: "${env}${env}"
      pass: ["/^${project}_/"]
  iam:
    policy:
      - Statement:
          - Action: s3:*
            Resource: ["arn:aws:s3:::${namespace}-bucket"]
`
	tests := []struct {
		env, extra string
		want       map[string]string
	}{
		{"dev", "", map[string]string{"A": "SSM:/dev/A", "B": "web_shop/dev/web-shop-dev", "C": "echo ${HOME} $PATH $$", "D": "devdev"}},
		{"prod", "", map[string]string{"A": "SSM:/prod/A", "B": "web_shop/prod/web-shop-prod", "C": "echo ${HOME} $PATH $$", "D": "prodprod"}},
		{"staging", "pr_12", map[string]string{"A": "SSM:/dev/A", "B": "web_shop/staging/web-shop-staging-pr-12", "C": "echo ${HOME} $PATH $$", "D": "stagingstaging"}},
	}
	for _, tt := range tests {
		dir := tree(t, "p", map[string]string{"hangar.yml": file})
		c := mustLoad(t, Options{Dir: dir, Environ: []string{"HANGAR_ENV=" + tt.env, "HANGAR_EXTRA=" + tt.extra}})
		if !reflect.DeepEqual(c.CodeBuild.Project.Env.Vars, tt.want) {
			t.Errorf("env %s: vars = %v", tt.env, c.CodeBuild.Project.Env.Vars)
		}
		if c.CodeBuild.Project.Env.Pass[0] != "/^web_shop_/" {
			t.Errorf("pass = %v", c.CodeBuild.Project.Env.Pass)
		}
		stmt := c.CodeBuild.IAM.Policy[0].Map["Statement"].([]any)[0].(map[string]any)
		if got := stmt["Resource"].([]any)[0]; got != "arn:aws:s3:::"+c.Namespace()+"-bucket" {
			t.Errorf("policy resource = %v", got)
		}
	}
}

func TestExpand(t *testing.T) {
	v := vars{env: "e", project: "p", namespace: "n", ssmEnv: "s"}
	for in, want := range map[string]string{
		"":                                    "",
		"plain $ and {x}":                     "plain $ and {x}",
		"${env}":                              "e",
		"a${project}b${ssm_env}c${namespace}": "apbscn",
		"$${env}":                             "${env}",
		"$$${env}":                            "$${env}",
		"${env}$${env}":                       "e${env}",
		"$":                                   "$",
	} {
		got, err := expand(in, v)
		if err != nil || got != want {
			t.Errorf("expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"${", "${env", "${HOME}", "${}", "${ env}"} {
		if _, err := expand(in, v); err == nil {
			t.Errorf("expand(%q): no error", in)
		}
	}
}
