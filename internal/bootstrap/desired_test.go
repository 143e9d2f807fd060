package bootstrap

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hangarci/hangar/internal/config"
	"github.com/hangarci/hangar/internal/model"
)

func policyNames(d *Desired) []string {
	var out []string
	for _, p := range d.Role.Inline {
		out = append(out, p.Name)
	}
	return out
}

func policyDoc(t *testing.T, d *Desired, name string) map[string]any {
	t.Helper()
	for _, p := range d.Role.Inline {
		if p.Name == name {
			var m map[string]any
			if err := json.Unmarshal([]byte(p.Document), &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatalf("no inline policy %s in %v", name, policyNames(d))
	return nil
}

func TestDesired(t *testing.T) {
	ssmRO := "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"
	acmRO := "arn:aws:iam::aws:policy/AWSCertificateManagerReadOnly"
	tests := []struct {
		name  string
		yml   string
		check func(t *testing.T, d *Desired)
	}{
		{"defaults", "project: demo\n", func(t *testing.T, d *Desired) {
			if d.Namespace != "demo-dev" || d.Project.Name != "demo-dev-remote" || d.Role.Name != "demo-dev-codebuild-role" {
				t.Errorf("names: %s %s %s", d.Namespace, d.Project.Name, d.Role.Name)
			}
			if got := d.Bucket(testAccount); got != "demo-dev-000000000000-us-east-1" {
				t.Errorf("bucket %s", got)
			}
			if d.Lambda != nil || d.Fleet != nil {
				t.Errorf("lambda %v fleet %v, want neither", d.Lambda, d.Fleet)
			}
			p := d.Project
			if p.Lambda || p.CacheType != "LOCAL" || !slices.Equal(p.CacheModes, []string{"LOCAL_DOCKER_LAYER_CACHE", "LOCAL_CUSTOM_CACHE"}) || p.Timeout != 60 || p.UseFleet {
				t.Errorf("project %+v", p)
			}
			if p.Environment["privilegedMode"] != true || p.Environment["type"] != "LINUX_CONTAINER" || p.Environment["computeType"] != "BUILD_GENERAL1_SMALL" {
				t.Errorf("environment %v", p.Environment)
			}
			if got := policyNames(d); !slices.Equal(got, []string{config.DefaultPolicyName, config.VpcPolicyName}) {
				t.Errorf("inline policies %v", got)
			}
			if !slices.Equal(d.Role.Managed, []string{ssmRO, acmRO}) {
				t.Errorf("managed %v", d.Role.Managed)
			}
			trust := d.Role.Trust
			if !strings.Contains(trust, `"Service":"codebuild.amazonaws.com"`) || !strings.Contains(trust, "sts:AssumeRole") {
				t.Errorf("trust %s", trust)
			}
		}},
		{"lambda on keeps project.environment and the fleet off it", `
project: demo
codebuild:
  project:
    environment:
      Image: my/image:1
      PrivilegedMode: true
  lambda:
    enable: true
  fleet:
    enable: true
`, func(t *testing.T, d *Desired) {
			l := d.Lambda
			if l == nil || l.Name != "demo-dev-remote-lambda" {
				t.Fatalf("lambda %+v", l)
			}
			if !l.Lambda || l.CacheType != "NO_CACHE" || l.CacheModes != nil || l.Timeout != 0 || l.UseFleet {
				t.Errorf("lambda project %+v", l)
			}
			if l.Environment["image"] == "my/image:1" || l.Environment["privilegedMode"] != false || l.Environment["computeType"] != "BUILD_LAMBDA_1GB" {
				t.Errorf("lambda environment %v", l.Environment)
			}
			if d.Project.Environment["image"] != "my/image:1" || !d.Project.UseFleet {
				t.Errorf("remote project %+v", d.Project)
			}
		}},
		{"fleet copies the final environment", `
project: demo
codebuild:
  project:
    compute_type:
      ComputeType: BUILD_GENERAL1_SMALL
      Image: aws/codebuild/amazonlinux2-aarch64-standard:3.0
      Type: ARM_CONTAINER
    environment:
      ComputeType: BUILD_GENERAL1_MEDIUM
  fleet:
    enable: true
    base_capacity: 3
`, func(t *testing.T, d *Desired) {
			f := d.Fleet
			if f == nil || f.Name != "demo-dev-fleet" || f.BaseCapacity != 3 || f.ComputeType != "BUILD_GENERAL1_MEDIUM" || f.EnvironmentType != "ARM_CONTAINER" || f.OverflowBehavior != "QUEUE" {
				t.Fatalf("fleet %+v", f)
			}
			if !d.Project.UseFleet {
				t.Error("project does not use the fleet")
			}
		}},
		{"custom policies: strings", `
project: demo
codebuild:
  iam:
    policy: [s3, "sts:GetCallerIdentity"]
`, func(t *testing.T, d *Desired) {
			if got := policyNames(d); !slices.Equal(got, []string{"DefaultPolicy", "CustomPolicy", "VpcPolicy"}) {
				t.Fatalf("inline %v", got)
			}
			doc := policyDoc(t, d, "CustomPolicy")
			st := doc["Statement"].([]any)
			if len(st) != 1 {
				t.Fatalf("statements %v", st)
			}
			acts := st[0].(map[string]any)["Action"]
			if b, _ := json.Marshal(acts); string(b) != `["s3:*","sts:GetCallerIdentity"]` {
				t.Errorf("actions %s", b)
			}
		}},
		{"custom policies: statement maps and named policies", `
project: demo
codebuild:
  iam:
    policy:
      - sqs
      - Action: ["dynamodb:GetItem"]
        Resource: "arn:aws:dynamodb:*:*:table/t"
      - PolicyName: Extra
        PolicyDocument:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: sns:Publish
              Resource: "*"
    default_vpc_policy: []
`, func(t *testing.T, d *Desired) {
			if got := policyNames(d); !slices.Equal(got, []string{"DefaultPolicy", "CustomPolicy", "Extra"}) {
				t.Fatalf("inline %v (VpcPolicy must go when its list is empty)", got)
			}
			st := policyDoc(t, d, "CustomPolicy")["Statement"].([]any)
			if len(st) != 2 || st[1].(map[string]any)["Resource"] != "arn:aws:dynamodb:*:*:table/t" {
				t.Errorf("statements %v", st)
			}
		}},
		{"managed policies: names and ARNs", `
project: demo
codebuild:
  iam:
    default_managed_policy: [AmazonSSMReadOnlyAccess]
    managed_policy: [AmazonS3ReadOnlyAccess, "arn:aws:iam::123456789012:policy/mine"]
`, func(t *testing.T, d *Desired) {
			want := []string{ssmRO, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "arn:aws:iam::123456789012:policy/mine"}
			if !slices.Equal(d.Role.Managed, want) {
				t.Errorf("managed %v, want %v", d.Role.Managed, want)
			}
		}},
		{"env vars: SSM only", `
project: demo
codebuild:
  project:
    env:
      vars:
        ZED: plain
        DOCKER_PASS: "SSM:/${ssm_env}/DOCKER_PASS"
        DOCKER_USER: "parameter_store:/${ssm_env}/DOCKER_USER"
`, func(t *testing.T, d *Desired) {
			want := []model.EnvironmentVariable{
				{Name: "DOCKER_PASS", Value: "/dev/DOCKER_PASS", Type: model.EnvParameterStore},
				{Name: "DOCKER_USER", Value: "/dev/DOCKER_USER", Type: model.EnvParameterStore},
				{Name: "ZED", Value: "plain", Type: model.EnvPlaintext},
			}
			if !slices.Equal(d.Project.Variables, want) {
				t.Errorf("vars %v, want %v", d.Project.Variables, want)
			}
			if slices.Contains(policyNames(d), SecretsPolicyName) {
				t.Error("SecretsPolicy without a SECRET: reference")
			}
		}},
		{"env vars: SECRET adds the secrets policy, on both projects", `
project: demo
codebuild:
  lambda:
    enable: true
  project:
    env:
      vars:
        TOKEN: "SECRET:ci/token"
        KEY: "secrets_manager:ci/key"
`, func(t *testing.T, d *Desired) {
			for _, p := range d.projects() {
				if len(p.Variables) != 2 || p.Variables[0].Type != model.EnvSecretsManager || p.Variables[0].Value != "ci/key" {
					t.Errorf("%s vars %v", p.Name, p.Variables)
				}
			}
			st := policyDoc(t, d, SecretsPolicyName)["Statement"].([]any)
			b, _ := json.Marshal(st[0].(map[string]any)["Action"])
			if !strings.Contains(string(b), "secretsmanager:GetSecretValue") || !strings.Contains(string(b), "kms:Decrypt") {
				t.Errorf("secrets policy actions %s", b)
			}
		}},
		{"timeouts: codebuild.timeout", "project: demo\ncodebuild:\n  timeout: 30\n", func(t *testing.T, d *Desired) {
			if d.Project.Timeout != 30 {
				t.Errorf("timeout %d", d.Project.Timeout)
			}
		}},
		{"timeouts: codebuild.project.timeout_in_minutes", "project: demo\ncodebuild:\n  project:\n    timeout_in_minutes: 120\n", func(t *testing.T, d *Desired) {
			if d.Project.Timeout != 120 {
				t.Errorf("timeout %d", d.Project.Timeout)
			}
		}},
		{"Lambda compute on <ns>-remote: no cache, not privileged, no timeout", `
project: demo
codebuild:
  timeout: 30
  project:
    compute_type:
      ComputeType: BUILD_LAMBDA_2GB
      Image: aws/codebuild/amazonlinux-x86_64-lambda-standard:go1.24
      Type: LINUX_LAMBDA_CONTAINER
`, func(t *testing.T, d *Desired) {
			p := d.Project
			if !p.Lambda || p.CacheType != "NO_CACHE" || p.CacheModes != nil || p.Timeout != 0 || p.Environment["privilegedMode"] != false {
				t.Errorf("project %+v", p)
			}
		}},
		{"an explicit privilegedMode false is kept", "project: demo\ncodebuild:\n  project:\n    environment:\n      PrivilegedMode: false\n", func(t *testing.T, d *Desired) {
			if d.Project.Environment["privilegedMode"] != false {
				t.Errorf("environment %v", d.Project.Environment)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, desired(t, tt.yml))
		})
	}
}

func TestDesiredConfigErrors(t *testing.T) {
	tests := []struct{ name, yml, want string }{
		{"fleet on Lambda compute", `
project: demo
codebuild:
  fleet:
    enable: true
  project:
    compute_type:
      ComputeType: BUILD_LAMBDA_1GB
      Image: aws/codebuild/amazonlinux-x86_64-lambda-standard:go1.24
      Type: LINUX_LAMBDA_CONTAINER
`, "codebuild.fleet.enable"},
		{"privileged Lambda", `
project: demo
codebuild:
  project:
    compute_type:
      ComputeType: BUILD_LAMBDA_1GB
      Image: aws/codebuild/amazonlinux-x86_64-lambda-standard:go1.24
      Type: LINUX_LAMBDA_CONTAINER
    environment:
      PrivilegedMode: true
`, "cannot run privileged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDesired(loadConfig(t, tt.yml), "")
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want a config error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestHash(t *testing.T) {
	a := desired(t, "project: demo\n")
	b := desired(t, "project: demo\n")
	if a.Hash() != b.Hash() || len(a.Hash()) != 32 {
		t.Fatalf("hash not stable: %s %s", a.Hash(), b.Hash())
	}
	for _, yml := range []string{
		"project: demo\ncodebuild:\n  timeout: 61\n",
		"project: demo\ncodebuild:\n  lambda:\n    enable: true\n",
		"project: demo\ncodebuild:\n  project:\n    env:\n      vars:\n        A: b\n",
		"project: demo\ncodebuild:\n  iam:\n    managed_policy: [AmazonS3ReadOnlyAccess]\n",
		"project: demo\nregion: eu-west-1\n",
	} {
		if desired(t, yml).Hash() == a.Hash() {
			t.Errorf("same hash after a change:\n%s", yml)
		}
	}
}

func TestBucketName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	long := strings.Repeat("verylongprojectname", 4)
	for _, tt := range []struct{ ns, region string }{
		{"demo-dev", "us-east-1"},
		{"My_App-prod", "ap-southeast-2"},
		{long + "-dev", "us-gov-west-1"},
		{long + "-dev-x", "us-gov-west-1"},
	} {
		name := bucketPrefix(tt.ns, tt.region) + "-" + testAccount + "-" + tt.region
		if !valid.MatchString(name) || strings.Contains(name, "--") {
			t.Errorf("%s in %s: bucket %q is not a valid S3 name", tt.ns, tt.region, name)
		}
	}
	a := bucketPrefix(long+"-dev", "us-east-1")
	b := bucketPrefix(long+"-dev-x", "us-east-1")
	if a == b {
		t.Errorf("two long namespaces share bucket prefix %s", a)
	}
	if got := bucketPrefix("My_App-prod", "us-east-1"); got != "my-app-prod" {
		t.Errorf("prefix %s", got)
	}
}
