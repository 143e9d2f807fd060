package buildspec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, src string) *Spec {
	t.Helper()
	s, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

func TestParseFull(t *testing.T) {
	src := `version: 0.2
run-as: builder
env:
  shell: bash
  variables:
    PORT: 5432
    FLAG: yes
    TRUTH: true
    PY: 3.10
    HEX: 0x1F
    EMPTY:
    PATHX: "$PATH:/x"
  parameter-store:
    DB_HOST: /app/db-host
  secrets-manager:
    DB_PASS: prod/db:password
  exported-variables:
    - IMAGE_TAG
    - PORT
  git-credential-helper: yes
proxy:
  upload-artifacts: yes
  logs: no
phases:
  install:
    runtime-versions:
      python: 3.10
      nodejs: 18
    commands:
      - echo install
  pre_build:
    run-as: root
    on-failure: CONTINUE
    commands:
      - IMAGE_TAG=${COMMIT_HASH:=latest}
  build:
    on-failure: RETRY-2-time.*out
    commands:
      - |
        echo a
        if true; then
          echo b
        fi
      - "echo Hello: world"
      - true
      - 42
    finally:
      - echo done
  post_build:
    commands:
      - '[ "$CODEBUILD_BUILD_SUCCEEDING" = 1 ] || exit 1'
artifacts:
  files:
    - '**/*'
  name: out-$(date +%Y)
  discard-paths: yes
  base-directory: dist
  exclude-paths: ['*.tmp']
  enable-symlinks: yes
  s3-prefix: p
  secondary-artifacts:
    second:
      files: [a]
reports:
  unit:
    files: ['reports/*.xml']
    file-format: JUNITXML
cache:
  key: k-$(codebuild-hash-files go.sum)
  fallback-keys: [k-]
  action: restore
  paths: ['/root/.cache/**/*']
batch:
  fast-fail: false
  build-list:
    - identifier: a
`
	s := mustParse(t, src)
	if s.Version != "0.2" || s.RunAs != "builder" {
		t.Errorf("version/run-as = %q %q", s.Version, s.RunAs)
	}
	wantVars := []Var{
		{"PORT", "5432"}, {"FLAG", "yes"}, {"TRUTH", "true"}, {"PY", "3.10"},
		{"HEX", "0x1F"}, {"EMPTY", ""}, {"PATHX", "$PATH:/x"},
	}
	if !reflect.DeepEqual(s.Env.Variables, wantVars) {
		t.Errorf("variables = %#v", s.Env.Variables)
	}
	if s.Env.Shell != "bash" || !s.Env.GitCredentialHelper ||
		!reflect.DeepEqual(s.Env.ExportedVariables, []string{"IMAGE_TAG", "PORT"}) ||
		!reflect.DeepEqual(s.Env.ParameterStore, []Var{{"DB_HOST", "/app/db-host"}}) ||
		!reflect.DeepEqual(s.Env.SecretsManager, []Var{{"DB_PASS", "prod/db:password"}}) {
		t.Errorf("env = %+v", s.Env)
	}
	if s.Proxy == nil || !s.Proxy.UploadArtifacts || s.Proxy.Logs {
		t.Errorf("proxy = %+v", s.Proxy)
	}
	in := s.Phases.Install
	if in == nil || !reflect.DeepEqual(in.RuntimeVersions, []Var{{"python", "3.10"}, {"nodejs", "18"}}) {
		t.Fatalf("install = %+v", in)
	}
	pre := s.Phases.PreBuild
	if pre.RunAs != "root" || pre.OnFailure.Action != ActionContinue || pre.Commands[0] != "IMAGE_TAG=${COMMIT_HASH:=latest}" {
		t.Errorf("pre_build = %+v", pre)
	}
	b := s.Phases.Build
	wantCmds := []string{"echo a\nif true; then\n  echo b\nfi\n", "echo Hello: world", "true", "42"}
	if !reflect.DeepEqual(b.Commands, wantCmds) {
		t.Errorf("build commands = %q", b.Commands)
	}
	if !reflect.DeepEqual(b.Finally, []string{"echo done"}) {
		t.Errorf("finally = %q", b.Finally)
	}
	if b.OnFailure.Action != ActionRetry || b.OnFailure.RetryCount != 2 || b.OnFailure.RetryMatch.String() != "time.*out" {
		t.Errorf("on-failure = %+v", b.OnFailure)
	}
	if b.Name != "BUILD" || b.Line != 36 {
		t.Errorf("build name/line = %s %d", b.Name, b.Line)
	}
	if s.Phases.PostBuild.Commands[0] != `[ "$CODEBUILD_BUILD_SUCCEEDING" = 1 ] || exit 1` {
		t.Errorf("post_build = %q", s.Phases.PostBuild.Commands)
	}
	a := s.Artifacts
	if a == nil || !reflect.DeepEqual(a.Files, []string{"**/*"}) || a.Name != "out-$(date +%Y)" || !a.DiscardPaths ||
		a.BaseDirectory != "dist" || !reflect.DeepEqual(a.ExcludePaths, []string{"*.tmp"}) || !a.EnableSymlinks ||
		a.S3Prefix != "p" || len(a.Secondary) != 1 || a.Secondary[0].Identifier != "second" ||
		!reflect.DeepEqual(a.Secondary[0].Artifacts.Files, []string{"a"}) {
		t.Errorf("artifacts = %+v", a)
	}
	if len(s.Reports) != 1 || s.Reports[0].Name != "unit" || s.Reports[0].FileFormat != "JUNITXML" {
		t.Errorf("reports = %+v", s.Reports)
	}
	c := s.Cache
	if c == nil || c.Action != "restore" || c.Key != "k-$(codebuild-hash-files go.sum)" ||
		!reflect.DeepEqual(c.FallbackKeys, []string{"k-"}) || !reflect.DeepEqual(c.Paths, []string{"/root/.cache/**/*"}) {
		t.Errorf("cache = %+v", c)
	}
	batch, ok := s.Batch.(map[string]any)
	if !ok || batch["fast-fail"] != "false" {
		t.Errorf("batch = %#v", s.Batch)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings = %+v", s.Warnings)
	}
}

func TestParseVersions(t *testing.T) {
	for _, v := range []string{"0.2", `"0.2"`, "'0.2'", "0.1"} {
		s := mustParse(t, "version: "+v+"\nphases:\n  build:\n    commands: [make]\n")
		if want := strings.Trim(v, `"'`); s.Version != want {
			t.Errorf("version %s = %q", v, s.Version)
		}
	}
}

func TestParseVersion01EnvironmentVariables(t *testing.T) {
	s := mustParse(t, `version: 0.1
environment_variables:
  plaintext:
    JAVA_HOME: "/usr/lib/jvm/java-8-openjdk-amd64"
phases:
  build:
    commands:
      - mvn install
`)
	if !reflect.DeepEqual(s.Env.Variables, []Var{{"JAVA_HOME", "/usr/lib/jvm/java-8-openjdk-amd64"}}) {
		t.Errorf("variables = %+v", s.Env.Variables)
	}
}

func TestParseAnchorsAndMerge(t *testing.T) {
	s := mustParse(t, `version: 0.2
x-common: &common
  - echo one
  - echo two
x-vars: &vars
  A: "1"
  B: "2"
env:
  variables:
    <<: *vars
    B: "3"
phases:
  build:
    commands: *common
  post_build:
    commands: *common
`)
	if !reflect.DeepEqual(s.Phases.Build.Commands, []string{"echo one", "echo two"}) ||
		!reflect.DeepEqual(s.Phases.PostBuild.Commands, s.Phases.Build.Commands) {
		t.Errorf("commands = %q / %q", s.Phases.Build.Commands, s.Phases.PostBuild.Commands)
	}
	if !reflect.DeepEqual(s.Env.Variables, []Var{{"B", "3"}, {"A", "1"}}) {
		t.Errorf("variables = %+v", s.Env.Variables)
	}
	// Unknown top-level keys used as anchor holders are only warnings.
	if len(s.Warnings) != 1 || s.Warnings[0].Section != "root" ||
		!reflect.DeepEqual(s.Warnings[0].Keys, []string{"x-common", "x-vars"}) {
		t.Errorf("warnings = %+v", s.Warnings)
	}
}

func TestParseDuplicateKeysLastWins(t *testing.T) {
	s := mustParse(t, "version: 0.2\nenv:\n  variables:\n    A: 1\n    B: 2\n    A: 3\nphases:\n  build:\n    commands: [x]\n")
	if !reflect.DeepEqual(s.Env.Variables, []Var{{"A", "3"}, {"B", "2"}}) {
		t.Errorf("variables = %+v", s.Env.Variables)
	}
}

func TestParseOnlyFirstDocument(t *testing.T) {
	for _, rest := range []string{"{{{ not yaml\n", "a:\n\tb: tab\n", "version: 1\n"} {
		s := mustParse(t, "version: 0.2\nphases:\n  build:\n    commands: [x]\n---\n"+rest)
		if s.Phases.Build == nil {
			t.Fatal("no build phase")
		}
	}
}

func TestParseWarnings(t *testing.T) {
	s := mustParse(t, `version: 0.2
bogus: 1
env:
  compute-type: BUILD_GENERAL1_SMALL
phases:
  pre_build:
    env: x
    commands: [a]
  build:
    command: typo
    commands: [b]
    runtime-versions:
      go: 1.22
artifacts:
  files: [x]
  type: zip
`)
	want := []Warning{
		{Section: "root", Keys: []string{"bogus"}},
		{Section: "env", Keys: []string{"compute-type"}},
		{Section: "PRE_BUILD", Keys: []string{"env"}},
		{Section: "BUILD", Keys: []string{"command", "runtime-versions"}},
		{Section: "artifacts", Keys: []string{"type"}},
	}
	if !reflect.DeepEqual(s.Warnings, want) {
		t.Fatalf("warnings = %+v", s.Warnings)
	}
	text := s.SyntaxWarnings()
	wantText := "Found possible syntax errors in buildspec: " +
		"\nIn the section root\n    The following keys cannot be identified:\n        bogus" +
		"\nIn the section env\n    The following keys cannot be identified:\n        compute-type" +
		"\nIn the section PRE_BUILD\n    The following keys cannot be identified:\n        env" +
		"\nIn the section BUILD\n    The following keys cannot be identified:\n        command\n        runtime-versions" +
		"\nIn the section artifacts\n    The following keys cannot be identified:\n        type"
	if text != wantText {
		t.Errorf("SyntaxWarnings =\n%s\nwant\n%s", text, wantText)
	}
	if (&Spec{}).SyntaxWarnings() != "" {
		t.Error("no warnings should render as empty")
	}
}

func TestParseSinglePathForList(t *testing.T) {
	// CodeBuild's ECS sample writes one file as a string.
	s := mustParse(t, "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n  files: imagedefinitions.json\ncache:\n  paths: /root/.m2/**/*\n")
	if !reflect.DeepEqual(s.Artifacts.Files, []string{"imagedefinitions.json"}) || !reflect.DeepEqual(s.Cache.Paths, []string{"/root/.m2/**/*"}) {
		t.Errorf("files = %q, paths = %q", s.Artifacts.Files, s.Cache.Paths)
	}
}

func TestParseInstallWithOnlyRuntimeVersions(t *testing.T) {
	s := mustParse(t, "version: 0.2\nphases:\n  install:\n    runtime-versions:\n      golang: 1.22\n  build:\n    commands: [go build]\n")
	if s.Phases.Install == nil || len(s.Phases.Install.Commands) != 0 {
		t.Errorf("install = %+v", s.Phases.Install)
	}
}

func TestParseErrors(t *testing.T) {
	const ok = "phases:\n  build:\n    commands: [make]\n"
	tests := []struct {
		name string
		src  string
		msg  string
		line int
	}{
		// Messages seen in CodeBuild logs.
		{"empty file", "", "wrong number of container tags, expected 1", 0},
		{"only comments", "# nothing\n", "wrong number of container tags, expected 1", 0},
		{"missing version", ok, "wrong number of container tags, expected 1", 0},
		{"null version", "version:\n" + ok, "wrong number of container tags, expected 1", 0},
		{"version 1.0", "version: 1.0\n" + ok, "invalid buildspec `version` specified: 1.0, see documentation at line 1", 1},
		{"version 0.3", "version: 0.3\n" + ok, "invalid buildspec `version` specified: 0.3, see documentation at line 1", 1},
		{"version 0.20", "version: 0.20\n" + ok, "invalid buildspec `version` specified: 0.20, see documentation at line 1", 1},
		{"unknown phase", "version: 0.2\nphases:\n  postbuild:\n    commands: [x]\n",
			"Invalid buildspec phase name: postbuild. Expecting: build,install,post_build,pre_build at line 3", 3},
		{"artifacts under phases", "version: 0.2\nphases:\n  build:\n    commands: [x]\n  artifacts:\n    files: [x]\n",
			"Invalid buildspec phase name: artifacts. Expecting: build,install,post_build,pre_build at line 5", 5},
		{"colon in command", "version: 0.2\n\nphases:\n  build:\n    commands:\n     - echo \"Hello: world\"\n",
			"Expected Commands[0] to be of string type: found subkeys instead at line 6, value of the key tag on line 5 might be empty", 6},
		{"colon in fifth command", "version: 0.2\nphases:\n  build:\n    commands:\n      - a\n      - b\n      - c\n      - d\n      - echo x: y\n",
			"Expected Commands[4] to be of string type: found subkeys instead at line 9, value of the key tag on line 8 might be empty", 9},
		{"tab", "version: 0.2\nphases:\n\tbuild:\n", "found character that cannot start any token at line 3", 3},
		{"unclosed flow", "version: 0.2\nphases: [a, b\nx: 1\n", "did not find expected ',' or ']' at line 3", 3},

		// Messages in CodeBuild's style where its wording is unknown.
		{"not a map", "- a\n- b\n", "Expected buildspec to be of map type: found list instead at line 1", 1},
		{"scalar document", "hello\n", "Expected buildspec to be of map type: found string instead at line 1", 1},
		{"version is a map", "version:\n  a: 1\n" + ok, "Expected version to be of string type: found subkeys instead at line 2, value of the key tag on line 1 might be empty", 2},
		{"missing phases", "version: 0.2\nenv:\n  variables:\n    A: b\n", "phases is required, see documentation", 0},
		{"null phases", "version: 0.2\nphases:\n", "phases is required, see documentation at line 2", 2},
		{"empty phases", "version: 0.2\nphases: {}\n", "phases is required, see documentation at line 2", 2},
		{"phases is a list", "version: 0.2\nphases:\n  - build\n", "Expected phases to be of map type: found list instead at line 3", 3},
		{"phase without commands", "version: 0.2\nphases:\n  build:\n    run-as: x\n", "commands is required in phase build at line 3", 3},
		{"null phase", "version: 0.2\nphases:\n  build:\n", "commands is required in phase build at line 3", 3},
		{"empty commands", "version: 0.2\nphases:\n  build:\n    commands: []\n", "commands is required in phase build at line 3", 3},
		{"phase is a string", "version: 0.2\nphases:\n  build: make\n", "Expected phase build to be of map type: found string instead at line 3", 3},
		{"install without commands", "version: 0.2\nphases:\n  install:\n    run-as: x\n  build:\n    commands: [x]\n", "commands is required in phase install at line 3", 3},
		{"finally without commands", "version: 0.2\nphases:\n  build:\n    finally: [echo x]\n", "commands is required when finally is set in phase build at line 3", 3},
		{"commands is a string", "version: 0.2\nphases:\n  build:\n    commands: make\n", "Expected Commands to be of list type: found string instead at line 4", 4},
		{"commands is a map", "version: 0.2\nphases:\n  build:\n    commands:\n      a: b\n", "Expected Commands to be of list type: found subkeys instead at line 5", 5},
		{"nested command list", "version: 0.2\nphases:\n  build:\n    commands:\n      - [a, b]\n", "Expected Commands[0] to be of string type: found list instead at line 5", 5},
		{"null command", "version: 0.2\nphases:\n  build:\n    commands:\n      - a\n      -\n      - b\n", "Expected Commands[1] to be of string type: found null instead at line 6", 6},
		{"finally item is a map", "version: 0.2\nphases:\n  build:\n    commands: [a]\n    finally:\n      - x: y\n", "Expected Finally[0] to be of string type: found subkeys instead at line 6, value of the key tag on line 5 might be empty", 6},
		{"bad on-failure", "version: 0.2\nphases:\n  build:\n    on-failure: STOP\n    commands: [a]\n",
			`invalid on-failure value "STOP" in phase build (unknown action); expecting ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex> at line 4`, 4},
		{"lower-case on-failure", "version: 0.2\nphases:\n  build:\n    on-failure: abort\n    commands: [a]\n",
			`invalid on-failure value "abort" in phase build (unknown action); expecting ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex> at line 4`, 4},
		{"retry count over 100", "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-101\n    commands: [a]\n",
			`invalid on-failure value "RETRY-101" in phase build (retry count 101 is over 100); expecting ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex> at line 4`, 4},
		{"bad retry regex", "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-2-(\n    commands: [a]\n",
			"invalid on-failure value \"RETRY-2-(\" in phase build (retry pattern: error parsing regexp: missing closing ): `(`); expecting ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex> at line 4", 4},
		{"on-failure is a list", "version: 0.2\nphases:\n  build:\n    on-failure: [ABORT]\n    commands: [a]\n", "Expected on-failure to be of string type: found list instead at line 4", 4},
		{"steps", "version: 0.2\nphases:\n  build:\n    steps:\n      - uses: actions/checkout@v4\n", `unsupported field "steps" in buildspec: Hangar does not run GitHub Actions steps at line 4`, 4},
		{"variables is a list", "version: 0.2\nenv:\n  variables:\n    - A=b\n" + ok, "Expected Variables to be of map type: found list instead at line 4", 4},
		{"variables is a string", "version: 0.2\nenv:\n  variables: A=b\n" + ok, "Expected Variables to be of map type: found string instead at line 3", 3},
		{"variable is a map", "version: 0.2\nenv:\n  variables:\n    A:\n      b: c\n" + ok, "Expected Variables[A] to be of string type: found subkeys instead at line 5, value of the key tag on line 4 might be empty", 5},
		{"variable is a list", "version: 0.2\nenv:\n  variables:\n    A: [1, 2]\n" + ok, "Expected Variables[A] to be of string type: found list instead at line 4", 4},
		{"parameter-store value is a map", "version: 0.2\nenv:\n  parameter-store:\n    A: {b: c}\n" + ok, "Expected ParameterStore[A] to be of string type: found subkeys instead at line 4, value of the key tag on line 3 might be empty", 4},
		{"exported-variables is a string", "version: 0.2\nenv:\n  exported-variables: A\n" + ok, "Expected ExportedVariables to be of list type: found string instead at line 3", 3},
		{"exported-variables is a map", "version: 0.2\nenv:\n  exported-variables:\n    A: b\n" + ok, "Expected ExportedVariables to be of list type: found subkeys instead at line 4", 4},
		{"env is a list", "version: 0.2\nenv: [a]\n" + ok, "Expected env to be of map type: found list instead at line 2", 2},
		{"bad git-credential-helper", "version: 0.2\nenv:\n  git-credential-helper: maybe\n" + ok, "invalid git-credential-helper value maybe, expecting yes or no at line 3", 3},
		{"artifacts without files", "version: 0.2\n" + ok + "artifacts:\n  name: x\n", "files is required in artifacts at line 5", 5},
		{"secondary artifact without files", "version: 0.2\n" + ok + "artifacts:\n  files: [a]\n  secondary-artifacts:\n    two:\n      name: x\n", "files is required in secondary-artifacts.two at line 8", 8},
		{"artifacts files is a map", "version: 0.2\n" + ok + "artifacts:\n  files: {a: b}\n", "Expected Files to be of list type: found subkeys instead at line 6", 6},
		{"bad discard-paths", "version: 0.2\n" + ok + "artifacts:\n  files: [a]\n  discard-paths: sometimes\n", "invalid discard-paths value sometimes, expecting yes or no at line 7", 7},
		{"cache without paths", "version: 0.2\n" + ok + "cache:\n  key: k\n", "paths is required in cache at line 5", 5},
		{"bad cache action", "version: 0.2\n" + ok + "cache:\n  paths: [a]\n  action: both\n", "invalid cache action both, expecting restore or save at line 7", 7},
		{"report without files", "version: 0.2\n" + ok + "reports:\n  unit:\n    file-format: JUNITXML\n", "files is required in reports.unit at line 6", 6},
		{"unknown anchor", "version: 0.2\nphases:\n  build:\n    commands: *nope\n", "unknown anchor 'nope' referenced at line 4", 4},
		{"bad merge", "version: 0.2\nenv:\n  variables:\n    <<: [a]\n" + ok, "map merge requires map or sequence of maps as the value at line 4", 4},
		{"map key is a list", "version: 0.2\n? [a, b]\n: c\n" + ok, "found an invalid key for this map at line 3", 3},
		{"too large", "version: 0.2\n# " + strings.Repeat("x", MaxSize) + "\n", "buildspec is too large: 131088 bytes, the limit is 131072", 0},
		{"too many entries", "version: 0.2\n" + strings.Repeat("a:\n", maxMapEntries+1), "buildspec is too complex: more than 2000 mapping entries at line 2001", 2001},
		{"deep flow", "version: 0.2\nphases: " + strings.Repeat("[", maxFlowDepth+1) + strings.Repeat("]", maxFlowDepth+1) + "\n", "buildspec is too complex: flow collections nested deeper than 64 at line 2", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.src))
			if err == nil {
				t.Fatalf("no error; spec %+v", s)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			if e.Message != tc.msg || e.Line != tc.line || e.Error() != tc.msg {
				t.Errorf("got  %q (line %d)\nwant %q (line %d)", e.Message, e.Line, tc.msg, tc.line)
			}
		})
	}
}

func TestParseAliasBomb(t *testing.T) {
	// Each level multiplies by 9: fully expanded this is 9^9 (387M) strings.
	src := `version: 0.2
a: &a [x,x,x,x,x,x,x,x,x]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
phases:
  build:
    commands: [x]
`
	// Unused anchors are only warnings; nothing walks them.
	s := mustParse(t, src)
	if len(s.Warnings) != 1 {
		t.Errorf("warnings = %+v", s.Warnings)
	}
	// Walked into a section Hangar keeps as plain data, they must fail fast.
	_, err := Parse([]byte(strings.Replace(src, "phases:", "batch: *i\nphases:", 1)))
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "too complex") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseMergeBomb(t *testing.T) {
	// Merges copy entries; many merges of a big map must hit the budget.
	var b strings.Builder
	b.WriteString("version: 0.2\nbase: &base {")
	for i := range 2000 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("k")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(strings.Repeat("y", i/26))
		b.WriteString(": v")
	}
	b.WriteString("}\nlist:\n")
	for range 200 {
		b.WriteString("  - {<<: *base}\n")
	}
	b.WriteString("phases:\n  build:\n    commands: [x]\n")
	_, err := Parse([]byte(b.String()))
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "too complex") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseDocumentForms(t *testing.T) {
	const build = "phases:\n  build:\n    commands: [x]\n"
	tests := map[string]struct {
		src  string
		want []string
	}{
		"directive":        {"%YAML 1.2\n---\nversion: 0.2\n" + build, []string{"x"}},
		"leading marker":   {"---\nversion: 0.2\n" + build, []string{"x"}},
		"comment, marker":  {"# hi\n---\nversion: 0.2\n" + build, []string{"x"}},
		"document end":     {"version: 0.2\n" + build + "...\n", []string{"x"}},
		"byte order mark":  {"\ufeffversion: 0.2\n" + build, []string{"x"}},
		"json":             {`{"version": 0.2, "phases": {"build": {"commands": ["x"]}}}`, []string{"x"}},
		"crlf":             {"version: 0.2\r\nphases:\r\n  build:\r\n    commands:\r\n      - |\r\n        echo a\r\n        echo b\r\n", []string{"echo a\necho b\n"}},
		"tab in a literal": {"version: 0.2\nphases:\n  build:\n    commands:\n      - |\n        if x; then\n        \techo b\n        fi\n", []string{"if x; then\n\techo b\nfi\n"}},
		"folded":           {"version: 0.2\nphases:\n  build:\n    commands:\n      - >\n        echo a\n        b\n", []string{"echo a b\n"}},
		"plain multi-line": {"version: 0.2\nphases:\n  build:\n    commands:\n      - echo a\n        b\n", []string{"echo a b"}},
		"single quotes":    {"version: 0.2\nphases:\n  build:\n    commands:\n      - 'it''s: fine'\n", []string{"it's: fine"}},
		"double quotes":    {"version: 0.2\nphases:\n  build:\n    commands:\n      - \"tab\\there\"\n", []string{"tab\there"}},
	}
	for name, tc := range tests {
		s, err := Parse([]byte(tc.src))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(s.Phases.Build.Commands, tc.want) {
			t.Errorf("%s: commands = %q, want %q", name, s.Phases.Build.Commands, tc.want)
		}
	}
}
