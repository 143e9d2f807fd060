package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		overlay string
		environ []string
		flags   []Flag
		want    []string
	}{
		{
			name: "unknown keys with suggestions",
			file: "project: p\nprojet: q\ncodebuild:\n  projekt: {}\n  timeout_in_minutes: 30\n  project:\n    environment:\n      PrivilegeMode: true\n      imagee: x\n    env:\n      pas: []\nfoo: 1\n",
			want: []string{
				"hangar.yml:2: projet: unknown key (did you mean project?)",
				"hangar.yml:4: codebuild.projekt: unknown key (did you mean codebuild.project?)",
				"hangar.yml:5: codebuild.timeout_in_minutes: unknown key (did you mean codebuild.project.timeout_in_minutes?)",
				"hangar.yml:8: codebuild.project.environment.PrivilegeMode: unknown key (did you mean codebuild.project.environment.PrivilegedMode?)",
				"hangar.yml:9: codebuild.project.environment.imagee: unknown key (did you mean codebuild.project.environment.image?)",
				"hangar.yml:11: codebuild.project.env.pas: unknown key (did you mean codebuild.project.env.pass?)",
				"hangar.yml:12: foo: unknown key",
			},
		},
		{
			name: "bad values",
			file: `target: foo
endpoint: build.local:9000
region: Mars
code:
  copy:
    always_remove: [../up]
codebuild:
  timeout: 3
  project:
    timeout_in_minutes: 2161
    timeout: "30"
    compute_type:
      ComputeType: BUILD_GENERAL1_HUGE
    environment:
      PrivilegedMode: "yes"
      EnvironmentVariables: []
    env:
      pass: ["/(/", OK, /x/q, ""]
      block: /AWS/
  fleet:
    enable: 1
    base_capacity: -1
  lambda:
    enable: maybe
`,
			want: []string{
				`hangar.yml:1: target: must be one of embedded, server, aws (got "foo")`,
				`hangar.yml:2: endpoint: "build.local:9000" is not an http:// or https:// URL`,
				`hangar.yml:3: region: "Mars" is not a region name like us-east-1`,
				`hangar.yml:6: code.copy.always_remove[0]: "../up" leaves the project (..)`,
				`hangar.yml:8: codebuild.timeout: must be between 5 and 2160 (got 3)`,
				`hangar.yml:10: codebuild.project.timeout_in_minutes: must be between 5 and 2160 (got 2161)`,
				`hangar.yml:11: codebuild.project.timeout: must be a whole number, not a string "30"`,
				`hangar.yml:13: codebuild.project.compute_type.ComputeType: must be one of BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM, BUILD_GENERAL1_LARGE, BUILD_GENERAL1_XLARGE, BUILD_GENERAL1_2XLARGE, BUILD_LAMBDA_1GB, BUILD_LAMBDA_2GB, BUILD_LAMBDA_4GB, BUILD_LAMBDA_8GB, BUILD_LAMBDA_10GB, ATTRIBUTE_BASED_COMPUTE, CUSTOM_INSTANCE_TYPE (got "BUILD_GENERAL1_HUGE"); did you mean BUILD_GENERAL1_LARGE?`,
				`hangar.yml:15: codebuild.project.environment.PrivilegedMode: must be true or false, not a string "yes"`,
				`hangar.yml:16: codebuild.project.environment.EnvironmentVariables: not allowed here: set build variables in codebuild.project.env.vars`,
				"hangar.yml:18: codebuild.project.env.pass[0]: bad regexp /(/: error parsing regexp: missing closing ): `(`",
				`hangar.yml:18: codebuild.project.env.pass[2]: "/x/q": unsupported regexp flags "q" (only i is supported)`,
				`hangar.yml:18: codebuild.project.env.pass[3]: empty entry: write a variable name or /REGEXP/`,
				`hangar.yml:19: codebuild.project.env.block: must be a list, not a string`,
				`hangar.yml:21: codebuild.fleet.enable: must be true or false, not an integer "1"`,
				`hangar.yml:22: codebuild.fleet.base_capacity: must be at least 1 (got -1)`,
				`hangar.yml:24: codebuild.lambda.enable: must be true or false, not a string "maybe"`,
			},
		},
		{
			name: "enum typo suggestion",
			file: "target: sever\n",
			want: []string{`hangar.yml:1: target: must be one of embedded, server, aws (got "sever"); did you mean server?`},
		},
		{
			name: "variables",
			file: "project: ${env}\ncodebuild:\n  project:\n    env:\n      vars:\n        A: ${HOME}\n        B: 'SSM:'\n        CODEBUILD_X: 1\n        HANGAR_SOURCE: x\n        C: [1]\n        D: '${env'\n",
			want: []string{
				"hangar.yml:1: project: ${…} cannot be used here: the variables are made from this value",
				"hangar.yml:6: codebuild.project.env.vars.A: unknown variable ${HOME} (known: ${env}, ${namespace}, ${project}, ${ssm_env}; write $${ for a literal ${)",
				`hangar.yml:7: codebuild.project.env.vars.B: "SSM:" names no parameter`,
				"hangar.yml:8: codebuild.project.env.vars.CODEBUILD_X: the runner sets this variable; it cannot be set here",
				"hangar.yml:9: codebuild.project.env.vars.HANGAR_SOURCE: the runner sets this variable; it cannot be set here",
				"hangar.yml:10: codebuild.project.env.vars.C: must be a string, not a list",
				`hangar.yml:11: codebuild.project.env.vars.D: unterminated ${ in "${env"`,
			},
		},
		{
			name: "names",
			file: "project: my app\nextra: 'x.y'\n",
			want: []string{
				`hangar.yml:1: project: "my app": use letters, digits, - and _, starting with a letter or digit (it names CodeBuild projects and IAM roles)`,
				`hangar.yml:2: extra: "x.y": use letters, digits, - and _, starting with a letter or digit (it names CodeBuild projects and IAM roles)`,
			},
		},
		{
			name: "namespace too long for the role name",
			file: "project: " + strings.Repeat("a", 46) + "\n",
			want: []string{`hangar.yml:1: project: namespace "` + strings.Repeat("a", 46) + `-dev" is 50 characters; the role name ` + strings.Repeat("a", 46) + `-dev-codebuild-role must fit IAM's 64, so keep project-env-extra within 49`},
		},
		{
			name: "server needs an endpoint",
			file: "\ntarget: server\n",
			want: []string{"hangar.yml:2: target: server needs endpoint: the URL of the hangar server (or set HANGAR_ENDPOINT)"},
		},
		{
			name: "syntax error",
			file: "project: p\ncodebuild:\n  project: [\n",
			want: []string{"hangar.yml:3: syntax error: sequence end token ']' not found"},
		},
		{
			name: "duplicate key",
			file: "project: a\nproject: b\n",
			want: []string{
				"hangar.yml:2: syntax error: mapping key \"project\" already defined at [1:1]",
			},
		},
		{
			name: "case duplicates",
			file: "codebuild:\n  project:\n    environment:\n      Image: x\n      image: y\n",
			want: []string{"hangar.yml:5: codebuild.project.environment.image: same key as codebuild.project.environment.Image"},
		},
		{
			name: "not a map",
			file: "- a\n- b\n",
			want: []string{"hangar.yml:1: the file must be a map of keys (like project: demo), not a list"},
		},
		{
			name: "section of the wrong type",
			file: "codebuild: yes\ncode:\n  copy: [a]\n",
			want: []string{
				"hangar.yml:1: codebuild: must be a map of keys, not a string",
				"hangar.yml:3: code.copy: must be a map of keys, not a list",
			},
		},
		{
			name: "tags",
			file: "project: !Ref Name\nregion: !!str us-east-1\n",
			want: []string{"hangar.yml:1: unsupported YAML tag !Ref"},
		},
		{
			name: "two documents",
			file: "project: a\n---\nproject: b\n",
			want: []string{"hangar.yml:3: a second YAML document: hangar.yml holds one"},
		},
		{
			name:    "errors from every layer, in order",
			file:    "codebuild:\n  fleet:\n    base_capacity: 0\n",
			overlay: "target: nope\n",
			environ: []string{"HANGAR_CODEBUILD_TIMEOUT=soon", "HANGAR_TARGET=cloud", "HANGAR_CODEBUILD_FLEET_ENABLE=sure"},
			flags:   []Flag{{Name: "--timeout", Key: "codebuild.project.timeout_in_minutes", Value: "9999"}, {Name: "--compute", Key: "codebuild.project.compute_type", Value: "x"}},
			want: []string{
				"hangar.yml:3: codebuild.fleet.base_capacity: must be at least 1 (got 0)",
				`hangar.dev.yml:1: target: must be one of embedded, server, aws (got "nope")`,
				`env HANGAR_CODEBUILD_FLEET_ENABLE: codebuild.fleet.enable: must be true or false (got "sure")`,
				`env HANGAR_CODEBUILD_TIMEOUT: codebuild.timeout: must be a whole number (got "soon")`,
				`env HANGAR_TARGET: target: must be one of embedded, server, aws (got "cloud")`,
				"flag --compute: codebuild.project.compute_type: not a key a flag can set",
				"flag --timeout: codebuild.project.timeout_in_minutes: must be between 5 and 2160 (got 9999)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"hangar.yml": tt.file}
			if tt.overlay != "" {
				files["hangar.dev.yml"] = tt.overlay
			}
			got := loadErr(t, Options{Dir: tree(t, "p", files), Environ: tt.environ, Flags: tt.flags})
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestErrorsAreInspectable(t *testing.T) {
	_, err := Load(Options{Dir: tree(t, "p", map[string]string{"hangar.yml": "\n\ntarget: foo\n"})})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(*Error) failed: %v", err)
	}
	if e.Source.File != "hangar.yml" || e.Source.Line != 3 || e.Key != "target" {
		t.Fatalf("error = %+v", e)
	}
}

func TestComputeCoherence(t *testing.T) {
	tests := []struct {
		name, file, target string
		want               []string
	}{
		{
			name: "lambda compute on a container type",
			file: "codebuild:\n  project:\n    compute_type:\n      ComputeType: BUILD_LAMBDA_1GB\n",
			want: []string{"hangar.yml:4: codebuild.project.compute_type.computeType: compute type BUILD_LAMBDA_1GB needs type LINUX_LAMBDA_CONTAINER or ARM_LAMBDA_CONTAINER, not LINUX_CONTAINER"},
		},
		{
			name: "type alone against the default image (target aws is ARM)",
			file: "target: aws\ncodebuild:\n  project:\n    environment:\n      Type: LINUX_CONTAINER\n",
			want: []string{"hangar.yml:5: codebuild.project.environment.type: image aws/codebuild/amazonlinux2-aarch64-standard:3.0 is for arm64, but type LINUX_CONTAINER is not an ARM type; set image and type together"},
		},
		{
			name: "x86 image on ARM",
			file: "codebuild:\n  project:\n    compute_type:\n      Image: aws/codebuild/amazonlinux2-x86_64-standard:5.0\n      Type: ARM_CONTAINER\n",
			want: []string{"hangar.yml:4: codebuild.project.compute_type.image: image aws/codebuild/amazonlinux2-x86_64-standard:5.0 is for x86_64, but type ARM_CONTAINER is an ARM type; set image and type together"},
		},
		{
			name: "lambda project on general compute",
			file: "codebuild:\n  lambda:\n    project:\n      compute_type:\n        ComputeType: BUILD_GENERAL1_SMALL\n",
			want: []string{"hangar.yml:5: codebuild.lambda.project.compute_type.computeType: the Lambda project needs a BUILD_LAMBDA_* compute type, not BUILD_GENERAL1_SMALL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadErr(t, Options{Dir: tree(t, "p", map[string]string{"hangar.yml": tt.file})})
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	// Custom images are not second-guessed; a partial compute_type keeps the rest of the default.
	c := mustLoad(t, Options{Dir: tree(t, "p", map[string]string{"hangar.yml": "codebuild:\n  project:\n    compute_type:\n      ComputeType: BUILD_GENERAL1_LARGE\n    environment:\n      image: my/image:aarch64\n"})})
	if env := c.Environment(); env["computeType"] != "BUILD_GENERAL1_LARGE" || env["image"] != "my/image:aarch64" || env["type"] != "LINUX_CONTAINER" {
		t.Fatalf("Environment() = %v", env)
	}
	// The Lambda project does not inherit project.environment (a Jets pitfall).
	if env := c.LambdaEnvironment(); env["image"] != "aws/codebuild/amazonlinux-x86_64-lambda-standard:go1.24" {
		t.Fatalf("LambdaEnvironment() = %v", env)
	}
}

func TestEnvironmentKeys(t *testing.T) {
	file := `codebuild:
  project:
    environment:
      Certificate: bucket/cert.pem
      ComputeConfiguration:
        VCpu: 4
        memory: 8
        MachineType: GENERAL
      Fleet:
        FleetArn: arn:aws:codebuild:us-east-1:1:fleet/f:1
      DockerServer:
        ComputeType: BUILD_GENERAL1_LARGE
        SecurityGroupIds: [sg-1]
`
	c := mustLoad(t, Options{Dir: tree(t, "p", map[string]string{"hangar.yml": file})})
	want := map[string]any{
		"certificate":          "bucket/cert.pem",
		"computeConfiguration": map[string]any{"vCpu": int64(4), "memory": int64(8), "machineType": "GENERAL"},
		"fleet":                map[string]any{"fleetArn": "arn:aws:codebuild:us-east-1:1:fleet/f:1"},
		"dockerServer":         map[string]any{"computeType": "BUILD_GENERAL1_LARGE", "securityGroupIds": []any{"sg-1"}},
	}
	if !reflect.DeepEqual(c.CodeBuild.Project.Environment, want) {
		t.Fatalf("environment = %#v", c.CodeBuild.Project.Environment)
	}
	if got := src(t, c, "codebuild.project.environment.computeConfiguration.vCpu"); got != "hangar.yml:6" {
		t.Fatalf("vCpu source %s", got)
	}
}

func TestYAMLFeatures(t *testing.T) {
	file := `x-common: &vars
  A: one
  B: two
codebuild:
  project:
    env:
      vars:
        <<: *vars
        B: mine
      pass: &list [A, B]
      block: *list
`
	got := loadErr(t, Options{Dir: tree(t, "p", map[string]string{"hangar.yml": file})})
	if want := []string{"hangar.yml:1: x-common: unknown key"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
	file = strings.Replace(file, "x-common: &vars\n  A: one\n  B: two\n", "", 1)
	file = "codebuild:\n  project:\n    environment: &env\n      Certificate: c\n" + strings.TrimPrefix(file, "codebuild:\n  project:\n")
	file = strings.Replace(file, "<<: *vars", "<<: {A: one, B: two}", 1)
	c := mustLoad(t, Options{Dir: tree(t, "p", map[string]string{"hangar.yml": file})})
	if want := (map[string]string{"A": "one", "B": "mine"}); !reflect.DeepEqual(c.CodeBuild.Project.Env.Vars, want) {
		t.Errorf("merge key: vars = %v", c.CodeBuild.Project.Env.Vars)
	}
	if !reflect.DeepEqual(c.CodeBuild.Project.Env.Block, []string{"A", "B"}) {
		t.Errorf("alias: block = %v", c.CodeBuild.Project.Env.Block)
	}

	// Literal blocks, !!str, empty files.
	c = mustLoad(t, Options{Dir: tree(t, "p", map[string]string{"hangar.yml": "codebuild:\n  project:\n    env:\n      vars:\n        SCRIPT: |\n          echo hi\n        N: !!str 010\n        T: true\n"})})
	if want := (map[string]string{"SCRIPT": "echo hi\n", "N": "010", "T": "true"}); !reflect.DeepEqual(c.CodeBuild.Project.Env.Vars, want) {
		t.Errorf("scalars: %q", c.CodeBuild.Project.Env.Vars)
	}
	for _, empty := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		c := mustLoad(t, Options{Dir: tree(t, "p", map[string]string{"hangar.yml": empty})})
		if c.Project != "p" || len(c.Files) != 1 {
			t.Errorf("%q: project %s files %v", empty, c.Project, c.Files)
		}
	}

	// Alias bombs stop at a size limit instead of eating memory.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 8; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	got = loadErr(t, Options{Dir: tree(t, "p", map[string]string{"hangar.yml": b.String()})})
	if want := []string{"hangar.yml:1: too many values (after expanding aliases)"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("alias bomb: %q", got)
	}
}

func TestWarnings(t *testing.T) {
	c := mustLoad(t, Options{Dir: tree(t, "p", map[string]string{"hangar.yml": "endpoint: http://x:1\ncodebuild:\n  fleet_override: arn:aws:codebuild:r:1:fleet/a:1\n  project:\n    fleet_override: arn:aws:codebuild:r:1:fleet/b:1\n"})})
	want := []string{
		"hangar.yml:3: codebuild.fleet_override = arn:aws:codebuild:r:1:fleet/a:1 is ignored: codebuild.project.fleet_override = arn:aws:codebuild:r:1:fleet/b:1 (hangar.yml:5) wins",
		"hangar.yml:1: endpoint is ignored with target embedded (set target: server to use it)",
	}
	if !reflect.DeepEqual(c.Warnings, want) {
		t.Fatalf("warnings:\n%s", strings.Join(c.Warnings, "\n"))
	}
}

func TestRegionForAWS(t *testing.T) {
	dir := tree(t, "p", map[string]string{"hangar.yml": "target: aws\nregion: eu-west-1\n"})
	tests := []struct {
		environ []string
		flags   []Flag
		want    string
		source  string
	}{
		{nil, nil, "eu-west-1", "hangar.yml:2"},
		{[]string{"AWS_DEFAULT_REGION=ap-south-1"}, nil, "ap-south-1", "env AWS_DEFAULT_REGION"},
		{[]string{"AWS_REGION=us-west-2", "AWS_DEFAULT_REGION=ap-south-1"}, nil, "us-west-2", "env AWS_REGION"},
		{[]string{"AWS_REGION=us-west-2", "HANGAR_REGION=ca-central-1"}, nil, "ca-central-1", "env HANGAR_REGION"},
		{[]string{"AWS_REGION=us-west-2"}, []Flag{{Name: "--region", Key: "region", Value: "sa-east-1"}}, "sa-east-1", "flag --region"},
	}
	for _, tt := range tests {
		c := mustLoad(t, Options{Dir: dir, Environ: tt.environ, Flags: tt.flags})
		if c.Region != tt.want || src(t, c, "region") != tt.source {
			t.Errorf("%v %v: region %s from %s", tt.environ, tt.flags, c.Region, src(t, c, "region"))
		}
	}
	// A hangar runner ignores AWS_REGION.
	c := mustLoad(t, Options{Dir: tree(t, "p", nil), Environ: []string{"AWS_REGION=us-west-2"}})
	if c.Region != "us-east-1" {
		t.Errorf("embedded region = %s", c.Region)
	}
	// The profile's region wins over the file, not over the environment.
	c = mustLoad(t, Options{Dir: dir})
	if got := c.AWSRegion("eu-south-1"); got != "eu-south-1" {
		t.Errorf("AWSRegion with a profile = %s", got)
	}
	if got := c.AWSRegion(""); got != "eu-west-1" {
		t.Errorf("AWSRegion without a profile = %s", got)
	}
	c = mustLoad(t, Options{Dir: dir, Environ: []string{"AWS_REGION=us-west-2"}})
	if got := c.AWSRegion("eu-south-1"); got != "us-west-2" {
		t.Errorf("AWSRegion with AWS_REGION = %s", got)
	}
	got := loadErr(t, Options{Dir: dir, Environ: []string{"AWS_REGION=moon"}})
	if want := []string{`env AWS_REGION: region: "moon" is not a region name like us-east-1`}; !reflect.DeepEqual(got, want) {
		t.Errorf("bad AWS_REGION: %q", got)
	}
}

func TestEnvVarName(t *testing.T) {
	// Every settable key has its own variable.
	seen := map[string]string{}
	walkSpec(schema(), "", func(p string, s *spec) {
		if !s.env {
			return
		}
		name := EnvVarName(p)
		if prev, dup := seen[name]; dup {
			t.Errorf("%s and %s share %s", prev, p, name)
		}
		seen[name] = p
	})
	for name, key := range map[string]string{
		"HANGAR_ENV": "env", "HANGAR_EXTRA": "extra", "HANGAR_PROJECT": "project", "HANGAR_ENDPOINT": "endpoint",
		"HANGAR_CODEBUILD_FLEET_OVERRIDE": "codebuild.fleet_override", "HANGAR_CODEBUILD_TIMEOUT": "codebuild.timeout",
		"HANGAR_CODEBUILD_LAMBDA_ENABLE": "codebuild.lambda.enable",
	} {
		if seen[name] != key {
			t.Errorf("%s sets %q, want %q", name, seen[name], key)
		}
	}
	if _, ok := seen["HANGAR_CODEBUILD_PROJECT_ENVIRONMENT_IMAGE"]; ok {
		t.Error("environment map keys must not be settable one by one")
	}
}
