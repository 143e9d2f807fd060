package runner

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hangarci/hangar/internal/buildspec"
	"github.com/hangarci/hangar/internal/logstore"
	"github.com/hangarci/hangar/internal/model"
)

// fakeParams and fakeSecrets resolve from maps.
type fakeParams map[string]string

func (f fakeParams) Resolve(_ context.Context, names []string) (map[string]string, []string, error) {
	vals := map[string]string{}
	var missing []string
	for _, n := range names {
		if v, ok := f[n]; ok {
			vals[n] = v
		} else {
			missing = append(missing, n)
		}
	}
	return vals, missing, nil
}

type fakeSecrets map[string]string

func (f fakeSecrets) Resolve(_ context.Context, ref string) (string, error) {
	if v, ok := f[ref]; ok {
		return v, nil
	}
	return "", errors.New("no secret " + ref)
}

// captureShell answers Capture with the values of the variables the script
// asks for, printf'd with NUL separators as exportVariables expects.
type captureShell struct {
	vars    map[string]string
	scripts []string
}

func (s *captureShell) Run(context.Context, string) (int, error) { return 0, nil }
func (s *captureShell) Capture(_ context.Context, script string) ([]byte, int, error) {
	s.scripts = append(s.scripts, script)
	var out strings.Builder
	for line := range strings.SplitSeq(strings.TrimSpace(script), "\n") {
		_, name, _ := strings.Cut(line, `"${`)
		name, _, _ = strings.Cut(name, "-}")
		out.WriteString(s.vars[name] + "\x00")
	}
	return []byte(out.String()), 0, nil
}
func (s *captureShell) Kill(time.Duration)          {}
func (s *captureShell) Close(context.Context) error { return nil }
func (s *captureShell) OOMKills() int64             { return 0 }

// TestExportedVariablesLeaveOutProjectSecrets: CodeBuild does not export
// the project's PARAMETER_STORE and SECRETS_MANAGER variables (nor AWS_*
// names); the buildspec's own ones, and plain variables, are exported.
func TestExportedVariablesLeaveOutProjectSecrets(t *testing.T) {
	logs, err := logstore.Open(t.TempDir(), logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{
		Names:   model.Names{Region: "us-east-1", Account: "000000000000"},
		Logs:    logs,
		Params:  fakeParams{"/p/project": "project-param-value", "/p/spec": "spec-param-value"},
		Secrets: fakeSecrets{"s-project": "project-secret-value", "s-spec": "spec-secret-value"},
	})
	start := model.NewTime(time.Now())
	b := &model.Build{
		ID: "p:11111111-2222-3333-4444-555555555555", StartTime: start.Ptr(),
		Logs: &model.LogsLocation{GroupName: "/aws/codebuild/p", StreamName: "s"},
		Environment: &model.ProjectEnvironment{EnvironmentVariables: []model.EnvironmentVariable{
			{Name: "PROJ_P", Value: "/p/project", Type: model.EnvParameterStore},
			{Name: "PROJ_S", Value: "s-project", Type: model.EnvSecretsManager},
			{Name: "SHADOWED", Value: "s-project", Type: model.EnvSecretsManager},
			{Name: "PROJ_PLAIN", Value: "plain", Type: model.EnvPlaintext},
			// A plain project variable wins over the buildspec's secret.
			{Name: "SPEC_WAS_SECRET", Value: "now plain", Type: model.EnvPlaintext},
		}},
	}
	spec, err := buildspec.Parse([]byte(`version: 0.2
env:
  variables:
    SHADOWED: spec value
  parameter-store:
    SPEC_P: /p/spec
  secrets-manager:
    SPEC_S: s-spec
    SPEC_WAS_SECRET: s-spec
  exported-variables: [PROJ_P, PROJ_S, SHADOWED, PROJ_PLAIN, SPEC_P, SPEC_S, SPEC_WAS_SECRET, AWS_X, NEVER]
phases:
  build:
    commands: [echo]
`))
	if err != nil {
		t.Fatal(err)
	}
	run := &buildRun{r: r, b: b, saveCtx: context.Background()}
	lw, err := logstore.NewLineWriter(context.Background(), logs, b.Logs.GroupName, b.Logs.StreamName, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lw.Close()
	run.log = lw
	env, st := run.environment(context.Background(), spec, paths{src: "/src", home: "/root"})
	if !st.ok() {
		t.Fatalf("environment: %+v", st)
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	run.shell = &captureShell{vars: vars}
	run.exportVariables(spec)
	var got []string
	for _, v := range b.ExportedEnvironmentVariables {
		got = append(got, v.Name+"="+v.Value)
	}
	// The buildspec's own parameter-store and secrets-manager names may be
	// exported, but never their values: BatchGetBuilds shows them masked,
	// as the log does.
	want := []string{"PROJ_PLAIN=plain", "SPEC_P=***", "SPEC_S=***", "SPEC_WAS_SECRET=now plain", "NEVER="}
	if !slices.Equal(got, want) {
		t.Errorf("exported %q, want %q", got, want)
	}
}

func TestBuildspecReadError(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "dir.yml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "out.yml")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ rel, want string }{
		// The wording of current CodeBuild logs.
		{"ci/missing.yml", "stat /codebuild/output/src1/src/ci/missing.yml: no such file or directory"},
		{"dir.yml", "read /codebuild/output/src1/src/dir.yml: is a directory"},
		{"out.yml", "read /codebuild/output/src1/src/out.yml: path escapes from parent"},
	} {
		_, err := readInTree(root, c.rel)
		if err == nil {
			t.Fatalf("%s: read", c.rel)
		}
		if got := buildspecReadError(filepath.Join("/codebuild/output/src1/src", c.rel), err); got != c.want {
			t.Errorf("%s: %q, want %q", c.rel, got, c.want)
		}
	}
	if _, err := readInTree(root, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
