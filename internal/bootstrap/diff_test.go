package bootstrap

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

func headlines(p *Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if !c.Internal {
			out = append(out, c.String())
		}
	}
	return out
}

func change(t *testing.T, p *Plan, kind, name string) Change {
	t.Helper()
	for _, c := range p.Changes {
		if c.Kind == kind && c.Name == name {
			return c
		}
	}
	t.Fatalf("no change to %s %s in %v", kind, name, headlines(p))
	return Change{}
}

func mustDiff(t *testing.T, d *Desired, o *Observed) *Plan {
	t.Helper()
	p, err := Diff(d, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func emptyObserved() *Observed {
	return &Observed{Account: testAccount, Projects: map[string]*cbtypes.Project{}}
}

func TestDiffCreatesEverythingInOrder(t *testing.T) {
	d := desired(t, `
project: demo
codebuild:
  lambda:
    enable: true
  fleet:
    enable: true
  project:
    env:
      vars:
        DOCKER_PASS: "SSM:/${ssm_env}/DOCKER_PASS"
`)
	p := mustDiff(t, d, emptyObserved())
	want := []string{
		"+ create bucket demo-dev-000000000000-us-east-1",
		"+ create role demo-dev-codebuild-role",
		"+ create fleet demo-dev-fleet",
		"+ create project demo-dev-remote-lambda",
		"+ create project demo-dev-remote",
	}
	if got := headlines(p); !slices.Equal(got, want) {
		t.Fatalf("changes\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if p.Empty() {
		t.Error("plan with creates is Empty")
	}
	if p.Resources.Bucket != "demo-dev-000000000000-us-east-1" || p.Resources.Project != "demo-dev-remote" || p.Resources.LambdaProject != "demo-dev-remote-lambda" {
		t.Errorf("resources %+v", p.Resources)
	}
	remote := strings.Join(change(t, p, "project", "demo-dev-remote").Details, "\n")
	for _, line := range []string{
		"environment.fleet.fleetArn: (ARN of the new fleet demo-dev-fleet)",
		"environment.environmentVariables.DOCKER_PASS: PARAMETER_STORE /dev/DOCKER_PASS",
		"environment.privilegedMode: true",
		"cache.type: LOCAL",
		"cache.modes: LOCAL_CUSTOM_CACHE, LOCAL_DOCKER_LAYER_CACHE",
		"timeoutInMinutes: 60",
		"source.type: NO_SOURCE",
		"artifacts.type: NO_ARTIFACTS",
		"logsConfig.cloudWatchLogs.status: ENABLED",
		"serviceRole: arn:aws:iam::000000000000:role/demo-dev-codebuild-role",
	} {
		if !strings.Contains(remote, line) {
			t.Errorf("create details of demo-dev-remote lack %q:\n%s", line, remote)
		}
	}
	if strings.Contains(remote, TagState) {
		t.Errorf("the state tag is shown:\n%s", remote)
	}
	lambda := strings.Join(change(t, p, "project", "demo-dev-remote-lambda").Details, "\n")
	for _, bad := range []string{"fleet", "timeoutInMinutes", "LOCAL"} {
		if strings.Contains(lambda, bad) {
			t.Errorf("lambda project has %s:\n%s", bad, lambda)
		}
	}
	role := strings.Join(change(t, p, "role", "demo-dev-codebuild-role").Details, "\n")
	for _, line := range []string{"+ inline policy DefaultPolicy: Allow apigateway:*", "+ inline policy VpcPolicy: Allow ec2:* on *", "+ managed policy arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"} {
		if !strings.Contains(role, line) {
			t.Errorf("role details lack %q:\n%s", line, role)
		}
	}
}

func TestDiffConvergedIsNoChange(t *testing.T) {
	for _, yml := range []string{
		"project: demo\n",
		"project: demo\ncodebuild:\n  lambda:\n    enable: true\n  fleet:\n    enable: true\n",
		"project: demo\ncodebuild:\n  project:\n    env:\n      vars:\n        A: \"SECRET:x\"\n        B: plain\n  iam:\n    policy: [s3, {Action: sqs:SendMessage, Resource: '*'}]\n",
		"project: demo\ncodebuild:\n  project:\n    compute_type:\n      ComputeType: BUILD_LAMBDA_1GB\n      Image: aws/codebuild/amazonlinux-x86_64-lambda-standard:go1.24\n      Type: LINUX_LAMBDA_CONTAINER\n",
	} {
		d := desired(t, yml)
		p := mustDiff(t, d, converged(t, d))
		if len(p.Changes) != 0 {
			var b bytes.Buffer
			p.Write(&b, true)
			t.Errorf("converged state of\n%s\nstill has changes:\n%s%v", yml, b.String(), p.Changes)
		}
		if d.Fleet != nil && p.Resources.FleetArn != fakeFleetArn {
			t.Errorf("fleet arn %q", p.Resources.FleetArn)
		}
	}
}

func TestDiffUpdates(t *testing.T) {
	base := "project: demo\ncodebuild:\n  fleet:\n    enable: true\n  lambda:\n    enable: true\n  project:\n    env:\n      vars:\n        OLD: x\n"
	o := converged(t, desired(t, base))

	tests := []struct {
		name    string
		yml     string
		want    []string // headlines
		details map[string][]string
	}{
		{"compute type", strings.Replace(base, "  project:\n", "  project:\n    environment:\n      ComputeType: BUILD_GENERAL1_MEDIUM\n", 1),
			[]string{"~ update fleet demo-dev-fleet", "~ update project demo-dev-remote"},
			map[string][]string{
				"fleet demo-dev-fleet":    {"computeType: BUILD_GENERAL1_SMALL → BUILD_GENERAL1_MEDIUM"},
				"project demo-dev-remote": {"environment.computeType: BUILD_GENERAL1_SMALL → BUILD_GENERAL1_MEDIUM"},
			}},
		{"variables", strings.Replace(base, "OLD: x", "NEW: \"SSM:/p\"", 1),
			[]string{"~ update project demo-dev-remote-lambda", "~ update project demo-dev-remote"},
			map[string][]string{"project demo-dev-remote": {
				"+ environment.environmentVariables.NEW: PARAMETER_STORE /p",
				"- environment.environmentVariables.OLD: PLAINTEXT x",
			}}},
		{"timeout", base + "  timeout: 90\n",
			[]string{"~ update project demo-dev-remote"},
			map[string][]string{"project demo-dev-remote": {"timeoutInMinutes: 60 → 90"}}},
		{"fleet off", strings.Replace(base, "  fleet:\n    enable: true\n", "", 1),
			[]string{"~ update project demo-dev-remote", "- delete fleet demo-dev-fleet"},
			map[string][]string{"project demo-dev-remote": {"- environment.fleet.fleetArn: " + fakeFleetArn}}},
		{"lambda off", strings.Replace(base, "  lambda:\n    enable: true\n", "", 1),
			[]string{"- delete project demo-dev-remote-lambda"}, nil},
		{"policies", base + "  iam:\n    default_vpc_policy: []\n    policy: [s3]\n    default_managed_policy: [AmazonSSMReadOnlyAccess]\n    managed_policy: [AmazonS3ReadOnlyAccess]\n",
			[]string{"~ update role demo-dev-codebuild-role"},
			map[string][]string{"role demo-dev-codebuild-role": {
				"+ inline policy CustomPolicy: Allow s3:* on *",
				"- inline policy VpcPolicy: Allow ec2:* on *",
				"+ managed policy arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
				"- managed policy arn:aws:iam::aws:policy/AWSCertificateManagerReadOnly",
			}}},
		{"fleet capacity", strings.Replace(base, "enable: true\n  lambda", "enable: true\n    base_capacity: 2\n  lambda", 1),
			[]string{"~ update fleet demo-dev-fleet"},
			map[string][]string{"fleet demo-dev-fleet": {"baseCapacity: 1 → 2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := desired(t, tt.yml)
			p := mustDiff(t, d, o)
			if got := headlines(p); !slices.Equal(got, tt.want) {
				t.Fatalf("changes %q, want %q", got, tt.want)
			}
			// Whatever changed, the new state hash goes on <ns>-remote.
			if c := change(t, p, "project", "demo-dev-remote"); c.Op != Update {
				t.Errorf("remote project change %v", c)
			}
			for res, lines := range tt.details {
				kind, name, _ := strings.Cut(res, " ")
				got := change(t, p, kind, name).Details
				for _, l := range lines {
					if !slices.Contains(got, l) {
						t.Errorf("%s: details %q lack %q", res, got, l)
					}
				}
			}
		})
	}
}

func TestDiffOnlyStateTagIsInternal(t *testing.T) {
	d := desired(t, "project: demo\n")
	o := converged(t, d)
	remote := o.Projects["demo-dev-remote"]
	for i, tag := range remote.Tags {
		if aws.ToString(tag.Key) == TagState {
			remote.Tags[i].Value = aws.String("stale")
		}
	}
	p := mustDiff(t, d, o)
	if len(p.Changes) != 1 || !p.Changes[0].Internal || !p.Empty() {
		t.Fatalf("changes %+v, want one internal update", p.Changes)
	}
	var b bytes.Buffer
	p.Write(&b, true)
	if b.Len() != 0 {
		t.Errorf("internal change printed: %q", b.String())
	}
}

func TestDiffLeavesOthersAlone(t *testing.T) {
	d := desired(t, "project: demo\n")
	foreign := func(name string) *cbtypes.Project {
		return &cbtypes.Project{Name: aws.String(name), Tags: []cbtypes.Tag{{Key: aws.String("owner"), Value: aws.String("jets")}}}
	}

	// A project, role or fleet of the same name that hangar did not make.
	o := converged(t, d)
	o.Projects["demo-dev-remote"] = foreign("demo-dev-remote")
	if _, err := Diff(d, o); err == nil || !strings.Contains(err.Error(), "not made by hangar") {
		t.Errorf("foreign project: err %v", err)
	}
	o = converged(t, d)
	o.RoleTags = map[string]string{}
	if _, err := Diff(d, o); err == nil || !strings.Contains(err.Error(), "not made by hangar") {
		t.Errorf("foreign role: err %v", err)
	}
	df := desired(t, "project: demo\ncodebuild:\n  fleet:\n    enable: true\n")
	o = converged(t, df)
	o.Fleet.Tags = nil
	if _, err := Diff(df, o); err == nil || !strings.Contains(err.Error(), "not made by hangar") {
		t.Errorf("foreign fleet: err %v", err)
	}

	// Turned off, a foreign Lambda project or fleet is not deleted.
	o = converged(t, d)
	o.Projects["demo-dev-remote-lambda"] = foreign("demo-dev-remote-lambda")
	o.Fleet = &cbtypes.Fleet{Name: aws.String("demo-dev-fleet"), Arn: aws.String(fakeFleetArn)}
	if p := mustDiff(t, d, o); len(p.Changes) != 0 {
		t.Errorf("changes to foreign resources: %v", headlines(p))
	}
}

func TestDiffRoleDrift(t *testing.T) {
	d := desired(t, "project: demo\n")
	o := converged(t, d)
	o.Role.AssumeRolePolicyDocument = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	o.Inline["DefaultPolicy"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	o.Inline["Stray"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	p := mustDiff(t, d, o)
	c := change(t, p, "role", "demo-dev-codebuild-role")
	got := strings.Join(c.Details, "\n")
	for _, want := range []string{"trust: → codebuild.amazonaws.com may assume it", "~ inline policy DefaultPolicy: Allow s3:* on * → Allow apigateway:*", "- inline policy Stray: Allow * on *"} {
		if !strings.Contains(got, want) {
			t.Errorf("role details lack %q:\n%s", want, got)
		}
	}
}

func TestWrite(t *testing.T) {
	d := desired(t, "project: demo\n")
	o := converged(t, d)
	d2 := desired(t, "project: demo\ncodebuild:\n  project:\n    environment:\n      ComputeType: BUILD_GENERAL1_LARGE\n")
	p := mustDiff(t, d2, o)
	var short, long bytes.Buffer
	p.Write(&short, false)
	p.Write(&long, true)
	if short.String() != "~ update project demo-dev-remote\n" {
		t.Errorf("summary %q", short.String())
	}
	want := "~ update project demo-dev-remote\n    environment.computeType: BUILD_GENERAL1_SMALL → BUILD_GENERAL1_LARGE\n"
	if long.String() != want {
		t.Errorf("detail\n%s\nwant\n%s", long.String(), want)
	}
}

func TestPrefixWriter(t *testing.T) {
	var b bytes.Buffer
	w := &prefixWriter{w: &b, prefix: "bootstrap: "}
	w.Write([]byte("+ a\n~ b"))
	w.Write([]byte(" c\n"))
	if b.String() != "bootstrap: + a\nbootstrap: ~ b c\n" {
		t.Errorf("%q", b.String())
	}
}

// With a deletion to make, the state hash is stored only after it, so a
// failed deletion is retried by the next run instead of hidden by the hash.
func TestDiffStateHashAfterDeletions(t *testing.T) {
	on := desired(t, "project: demo\ncodebuild:\n  fleet:\n    enable: true\n")
	off := desired(t, "project: demo\n")
	p := mustDiff(t, off, converged(t, on))
	n := len(p.Changes)
	if n != 3 {
		t.Fatalf("changes %v", p.Changes)
	}
	upd, del, last := p.Changes[0], p.Changes[1], p.Changes[2]
	if upd.Kind != "project" || del.String() != "- delete fleet demo-dev-fleet" || last.Kind != "project" || !last.Internal {
		t.Fatalf("order %v / %v / %v", upd, del, last)
	}
	if strings.Contains(strings.Join(upd.Details, "\n"), TagState) {
		t.Errorf("state tag shown: %v", upd.Details)
	}
}
