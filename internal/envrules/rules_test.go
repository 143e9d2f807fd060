package envrules

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hangarci/hangar/internal/model"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		entry   string
		regexp  bool
		match   []string
		noMatch []string
		err     string
	}{
		{entry: "DOCKER_USER", match: []string{"DOCKER_USER"}, noMatch: []string{"docker_user", "DOCKER_USER2", "MY_DOCKER_USER", ""}},
		{entry: "/AWS/", regexp: true, match: []string{"AWS", "MY_AWS_KEY", "AWS_REGION"}, noMatch: []string{"aws_region", "AW_S"}},
		{entry: "/^AWS_/", regexp: true, match: []string{"AWS_REGION"}, noMatch: []string{"MY_AWS_REGION", "AWS"}},
		{entry: "/_TOKEN$/", regexp: true, match: []string{"GH_TOKEN"}, noMatch: []string{"GH_TOKEN_FILE"}},
		{entry: "/aws_/i", regexp: true, match: []string{"AWS_REGION", "aws_region", "My_Aws_X"}, noMatch: []string{"AWSREGION"}},
		{entry: "/a/b/", regexp: true, match: []string{"xa/by"}, noMatch: []string{"ab"}},
		{entry: `/^A\/B$/`, regexp: true, match: []string{"A/B"}},
		{entry: "//", regexp: true, match: []string{"ANYTHING", ""}},
		{entry: "/", err: "does not end with /"},
		{entry: "/AWS", err: "does not end with /"},
		{entry: "/AWS/x", err: `unsupported regexp flags "x"`},
		{entry: "/AWS/m", err: `unsupported regexp flags "m"`},
		{entry: "/(/", err: "bad regexp /(/"},
		{entry: "/(?=AWS)/", err: "bad regexp"}, // lookahead: Ruby has it, RE2 does not
		{entry: `/\h+/`, err: "bad regexp"},     // Ruby's hex-digit class
		{entry: `/(a)\1/`, err: "bad regexp"},   // backreference
		{entry: "", err: "empty entry"},
		{entry: "A=B", err: "not a variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			r, err := ParseRule(tt.entry)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseRule(%q) error = %v, want %q", tt.entry, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRule(%q): %v", tt.entry, err)
			}
			if r.IsRegexp() != tt.regexp || r.String() != tt.entry {
				t.Fatalf("rule = %v (regexp %v), want %q (regexp %v)", r, r.IsRegexp(), tt.entry, tt.regexp)
			}
			for _, n := range tt.match {
				if !r.Match(n) {
					t.Errorf("%s does not match %q", tt.entry, n)
				}
			}
			for _, n := range tt.noMatch {
				if r.Match(n) {
					t.Errorf("%s matches %q", tt.entry, n)
				}
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		in, typ, val string
	}{
		{"SSM:/dev/DOCKER_PASS", model.EnvParameterStore, "/dev/DOCKER_PASS"},
		{"ssm:/dev/X", model.EnvParameterStore, "/dev/X"},
		{"Ssm:FOO", model.EnvParameterStore, "FOO"},
		{"PARAMETER_STORE:/a", model.EnvParameterStore, "/a"},
		{"parameter_store:/a", model.EnvParameterStore, "/a"},
		{"Parameter_Store:/a", model.EnvParameterStore, "/a"},
		{"SECRET:db-pass", model.EnvSecretsManager, "db-pass"},
		{"secret:db-pass", model.EnvSecretsManager, "db-pass"},
		{"SECRETS_MANAGER:db", model.EnvSecretsManager, "db"},
		{"secrets_manager:db", model.EnvSecretsManager, "db"},
		// Colons after the prefix belong to the value.
		{"SSM:/a:b:c", model.EnvParameterStore, "/a:b:c"},
		{"SECRET:arn:aws:secretsmanager:us-east-1:1:secret:db:password::", model.EnvSecretsManager, "arn:aws:secretsmanager:us-east-1:1:secret:db:password::"},
		// Plain values.
		{"SSM", model.EnvPlaintext, "SSM"}, // Jets would make this a reference
		{"ssm", model.EnvPlaintext, "ssm"},
		{"SECRET", model.EnvPlaintext, "SECRET"},
		{"", model.EnvPlaintext, ""},
		{"http://example.com:8080", model.EnvPlaintext, "http://example.com:8080"},
		{"SSMX:/a", model.EnvPlaintext, "SSMX:/a"},
		{" SSM:/a", model.EnvPlaintext, " SSM:/a"},
		{"PARAMETER-STORE:/a", model.EnvPlaintext, "PARAMETER-STORE:/a"},
		{"ſsm:/a", model.EnvPlaintext, "ſsm:/a"}, // U+017F folds to s in Unicode, not in ASCII
		{"a=b:c", model.EnvPlaintext, "a=b:c"},
		// Empty references classify; Typed rejects them.
		{"SSM:", model.EnvParameterStore, ""},
	}
	for _, tt := range tests {
		typ, val := Classify(tt.in)
		if typ != tt.typ || val != tt.val {
			t.Errorf("Classify(%q) = %s %q, want %s %q", tt.in, typ, val, tt.typ, tt.val)
		}
	}
}

func TestTyped(t *testing.T) {
	v, err := Typed("PASS", "secret:db")
	if err != nil || v != (model.EnvironmentVariable{Name: "PASS", Value: "db", Type: model.EnvSecretsManager}) {
		t.Fatalf("Typed = %+v, %v", v, err)
	}
	v, err = Typed("EMPTY", "")
	if err != nil || v != (model.EnvironmentVariable{Name: "EMPTY", Value: "", Type: model.EnvPlaintext}) {
		t.Fatalf("Typed empty = %+v, %v", v, err)
	}
	for _, in := range [][2]string{{"X", "SSM:"}, {"X", "secret:"}, {"", "v"}, {"A=B", "v"}} {
		if _, err := Typed(in[0], in[1]); err == nil {
			t.Errorf("Typed(%q, %q): no error", in[0], in[1])
		}
	}
}

func TestRunnerOwned(t *testing.T) {
	for _, n := range []string{"HANGAR_SOURCE", "HANGAR_RUN_ID", "CODEBUILD_BUILD_ID", "CODEBUILD_", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		if !RunnerOwned(n) {
			t.Errorf("RunnerOwned(%q) = false", n)
		}
	}
	for _, n := range []string{"HANGAR_ENV", "AWS_REGION", "codebuild_x", "MY_CODEBUILD_X"} {
		if RunnerOwned(n) {
			t.Errorf("RunnerOwned(%q) = true", n)
		}
	}
}

func mustRules(t *testing.T, s Spec) *Rules {
	t.Helper()
	r, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func names(vars []model.EnvironmentVariable) []string {
	var out []string
	for _, v := range vars {
		out = append(out, v.Name)
	}
	return out
}

func TestOverrides(t *testing.T) {
	environ := []string{
		"HANGAR_ENV=prod",
		"HANGAR_EXTRA=",
		"DOCKER_USER=bob",
		"DOCKER_PASS=ssm:/prod/DOCKER_PASS",
		"DOCKER_HOST=ssh://u@h:22",
		"GH_TOKEN=secret:gh",
		"AWS_REGION=eu-west-1",
		"AWS_SECRET_ACCESS_KEY=shh",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/creds",
		"CODEBUILD_BUILD_ID=x:1",
		"HANGAR_SOURCE=local-must-not-win",
		"UNRELATED=1",
		"FEATURE=SSM",
		"DOCKER_USER=second-is-ignored",
		"malformed",
	}
	tests := []struct {
		name string
		spec Spec
		in   Input
		want []model.EnvironmentVariable
		err  string
	}{
		{
			name: "exact names, empty value, typed prefixes",
			spec: Spec{DefaultPass: []string{"HANGAR_ENV", "HANGAR_EXTRA", "HANGAR_PROJECT"}, Pass: []string{"DOCKER_USER", "DOCKER_PASS", "GH_TOKEN", "FEATURE"}},
			want: []model.EnvironmentVariable{
				{Name: "DOCKER_PASS", Value: "/prod/DOCKER_PASS", Type: model.EnvParameterStore},
				{Name: "DOCKER_USER", Value: "bob", Type: model.EnvPlaintext},
				{Name: "FEATURE", Value: "SSM", Type: model.EnvPlaintext},
				{Name: "GH_TOKEN", Value: "gh", Type: model.EnvSecretsManager},
				{Name: "HANGAR_ENV", Value: "prod", Type: model.EnvPlaintext},
				{Name: "HANGAR_EXTRA", Value: "", Type: model.EnvPlaintext},
			},
		},
		{
			name: "regexp pass, block wins, colons kept",
			spec: Spec{Pass: []string{"/^DOCKER_/", "/^AWS_/"}, Block: []string{"DOCKER_PASS", "/SECRET/"}},
			want: []model.EnvironmentVariable{
				{Name: "AWS_REGION", Value: "eu-west-1", Type: model.EnvPlaintext},
				{Name: "DOCKER_HOST", Value: "ssh://u@h:22", Type: model.EnvPlaintext},
				{Name: "DOCKER_USER", Value: "bob", Type: model.EnvPlaintext},
			},
		},
		{
			name: "block wins over default_pass",
			spec: Spec{DefaultPass: []string{"HANGAR_ENV"}, Block: []string{"/^HANGAR_/"}},
			want: []model.EnvironmentVariable{},
		},
		{
			name: "pass everything: runner-owned local values never leave",
			spec: Spec{Pass: []string{"//"}, Block: []string{"/SECRET|TOKEN|PASS|UNRELATED|FEATURE|DOCKER|HANGAR_E/"}},
			want: []model.EnvironmentVariable{
				{Name: "AWS_REGION", Value: "eu-west-1", Type: model.EnvPlaintext},
			},
		},
		{
			name: "runner values cannot be blocked and beat local ones",
			spec: Spec{Pass: []string{"HANGAR_SOURCE"}, Block: []string{"HANGAR_SOURCE", "/./"}},
			in:   Input{Runner: map[string]string{"HANGAR_SOURCE": "s3://b/k", "HANGAR_CUSTOM": "ssm:not-a-ref"}},
			want: []model.EnvironmentVariable{
				{Name: "HANGAR_CUSTOM", Value: "ssm:not-a-ref", Type: model.EnvPlaintext},
				{Name: "HANGAR_SOURCE", Value: "s3://b/k", Type: model.EnvPlaintext},
			},
		},
		{
			name: "explicit values beat block and passed values, and are typed",
			spec: Spec{Pass: []string{"DOCKER_USER"}, Block: []string{"DOCKER_USER", "TOKEN"}},
			in:   Input{Explicit: map[string]string{"DOCKER_USER": "alice", "TOKEN": "SECRET:t"}},
			want: []model.EnvironmentVariable{
				{Name: "DOCKER_USER", Value: "alice", Type: model.EnvPlaintext},
				{Name: "TOKEN", Value: "t", Type: model.EnvSecretsManager},
			},
		},
		{
			name: "explicit runner-owned name",
			in:   Input{Explicit: map[string]string{"CODEBUILD_X": "1"}},
			err:  "-e CODEBUILD_X: the runner sets this variable",
		},
		{
			name: "explicit name the runner sets for this build",
			in:   Input{Explicit: map[string]string{"MINE": "1"}, Runner: map[string]string{"MINE": "2"}},
			err:  "-e MINE: the runner sets this variable",
		},
		{
			name: "passed empty reference",
			spec: Spec{Pass: []string{"BAD"}},
			in:   Input{Environ: []string{"BAD=ssm:"}},
			err:  `pass BAD (matched pass BAD): BAD: "ssm:" names no parameter`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRules(t, tt.spec)
			in := tt.in
			if in.Environ == nil {
				in.Environ = environ
			}
			got, err := r.Overrides(in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	r := mustRules(t, Spec{
		DefaultPass: []string{"HANGAR_ENV"},
		Pass:        []string{"/^HANGAR_/", "/TOKEN/", "CODEBUILD_X", "BAD", "HANGAR_ENV"},
		Block:       []string{"/^NPM_/", "/_TOKEN$/"},
	})
	in := Input{
		Environ:  []string{"HANGAR_ENV=dev", "GH_TOKEN=x", "NPM_TOKEN=y", "TOKENS=ssm:/t", "NPM_CONFIG=z", "CODEBUILD_X=1", "BAD=secret:", "OTHER=1", "HANGAR_SOURCE=l"},
		Explicit: map[string]string{"NPM_CONFIG": "ok"},
		Runner:   map[string]string{"HANGAR_SOURCE": "s3://x"},
	}
	var got []string
	for _, d := range r.Explain(in) {
		got = append(got, d.String())
	}
	want := []string{
		`BAD: invalid (matched pass BAD): BAD: "secret:" names no secret`,
		`CODEBUILD_X: runner-owned (matched pass CODEBUILD_X)`,
		`GH_TOKEN: blocked by block /_TOKEN$/ (also matched pass /TOKEN/)`,
		`HANGAR_ENV: passed as PLAINTEXT by default_pass HANGAR_ENV, pass /^HANGAR_/`,
		`HANGAR_SOURCE: runner-owned as PLAINTEXT (matched pass /^HANGAR_/)`,
		`NPM_CONFIG: explicit as PLAINTEXT (matched block /^NPM_/)`,
		`NPM_TOKEN: blocked by block /^NPM_/, block /_TOKEN$/ (also matched pass /TOKEN/)`,
		`TOKENS: passed as PARAMETER_STORE by pass /TOKEN/`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Explain:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Decisions never carry values.
	for _, d := range r.Explain(in) {
		if s := d.String(); strings.Contains(s, "s3://x") || strings.Contains(s, "ssm:/t") || strings.Contains(s, "ok") {
			t.Errorf("decision leaks a value: %s", d)
		}
	}
	// Explain and Overrides agree on what is passed.
	in.Environ = slicesWithout(in.Environ, "BAD=secret:")
	vars, err := r.Overrides(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(vars), []string{"HANGAR_ENV", "HANGAR_SOURCE", "NPM_CONFIG", "TOKENS"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Overrides names = %v, want %v", got, want)
	}
}

func slicesWithout(s []string, drop string) []string {
	var out []string
	for _, x := range s {
		if x != drop {
			out = append(out, x)
		}
	}
	return out
}

func TestNewCollectsErrors(t *testing.T) {
	_, err := New(Spec{
		Vars:  map[string]string{"HANGAR_SOURCE": "x", "CODEBUILD_Y": "1", "EMPTY": "SSM:", "OK": "1"},
		Pass:  []string{"OK", "/(/"},
		Block: []string{"/x/q"},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"pass[1]: bad regexp /(/",
		`block[0]: "/x/q": unsupported regexp flags "q"`,
		"vars: HANGAR_SOURCE: the runner sets this variable",
		"vars: CODEBUILD_Y: the runner sets this variable",
		`vars: EMPTY: "SSM:" names no parameter`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestProjectVars(t *testing.T) {
	r := mustRules(t, Spec{Vars: map[string]string{
		"DOCKER_USER": "SSM:/dev/DOCKER_USER",
		"B":           "SECRETS_MANAGER:b:json:key",
		"A":           "SSM",
		"EMPTY":       "",
	}})
	want := []model.EnvironmentVariable{
		{Name: "A", Value: "SSM", Type: model.EnvPlaintext},
		{Name: "B", Value: "b:json:key", Type: model.EnvSecretsManager},
		{Name: "DOCKER_USER", Value: "/dev/DOCKER_USER", Type: model.EnvParameterStore},
		{Name: "EMPTY", Value: "", Type: model.EnvPlaintext},
	}
	if got := r.ProjectVars(); !reflect.DeepEqual(got, want) {
		t.Fatalf("ProjectVars = %+v", got)
	}
}

func TestSDK(t *testing.T) {
	in := []model.EnvironmentVariable{{Name: "A", Value: "1"}, {Name: "B", Value: "/p", Type: model.EnvParameterStore}}
	out := SDK(in)
	in[0].Name = "changed"
	if len(out) != 2 || *out[0].Name != "A" || *out[0].Value != "1" || out[0].Type != "PLAINTEXT" ||
		*out[1].Name != "B" || out[1].Type != "PARAMETER_STORE" {
		t.Fatalf("SDK = %+v", out)
	}
}
