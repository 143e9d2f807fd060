package remote

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/hangarci/hangar/internal/buildspec"
)

var quoteCases = [][]string{
	{"true"},
	{"sh", "-c", "exit 7"},
	{"echo", "it's", `"double"`, "$HOME", "`id`", "a\\b"},
	{"printf", "%s\n", "two\nlines", ""},
	{"make", "deploy", "ENV=prod", "~user", "*.go", "a;b", "a|b", "a&b", "(x)", "{y}", "#c", "!bang"},
	{"unicode", "héllo wörld", "日本", "tab\there"},
	{"-n", "--flag=value", "/abs/path", "rel/path.txt", "user@host:1", "a,b", "50%", "+x"},
}

func TestShellQuoteExamples(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"sh", "-c", "exit 7"}, `sh -c 'exit 7'`},
		{[]string{"make", "deploy"}, `make deploy`},
		{[]string{"echo", "it's"}, `echo 'it'\''s'`},
		{[]string{"echo", ""}, `echo ''`},
		{[]string{"echo", "a=b", "~"}, `echo 'a=b' '~'`},
		{[]string{"./build.sh", "--out=/tmp/x,y"}, `./build.sh '--out=/tmp/x,y'`},
	} {
		if got := ShellQuote(c.argv); got != c.want {
			t.Errorf("ShellQuote(%q) = %s, want %s", c.argv, got, c.want)
		}
	}
}

// TestShellQuoteRoundTrip hands the quoted line to a real sh and checks
// that it sees exactly the argv.
func TestShellQuoteRoundTrip(t *testing.T) {
	for _, argv := range quoteCases {
		script := `for a in "$@"; do printf '<%s>' "$a"; done; printf '|'; set -- ` + ShellQuote(argv) + `; for a in "$@"; do printf '<%s>' "$a"; done`
		out, err := exec.Command("sh", "-c", script, "sh").Output()
		if err != nil {
			t.Fatalf("sh: %v", err)
		}
		var want strings.Builder
		want.WriteByte('|')
		for _, a := range argv {
			want.WriteString("<" + a + ">")
		}
		if string(out) != want.String() {
			t.Errorf("argv %q: sh saw %q, want %q", argv, out, want.String())
		}
	}
}

// TestCommandBuildspecParses checks the generated buildspec with the
// runner's own parser: version 0.2, one BUILD command, the exact line.
func TestCommandBuildspecParses(t *testing.T) {
	for _, argv := range quoteCases {
		spec := CommandBuildspec(argv)
		s, err := buildspec.Parse([]byte(spec))
		if err != nil {
			t.Fatalf("argv %q: buildspec does not parse: %v\n%s", argv, err, spec)
		}
		if s.Version != "0.2" {
			t.Errorf("version %q", s.Version)
		}
		b := s.Phases.Build
		if b == nil || len(b.Commands) != 1 || b.Commands[0] != ShellQuote(argv) {
			t.Fatalf("argv %q: build phase %+v, want the one command %s", argv, b, ShellQuote(argv))
		}
		if s.Phases.Install != nil || s.Phases.PreBuild != nil || s.Phases.PostBuild != nil {
			t.Errorf("argv %q: extra phases in\n%s", argv, spec)
		}
	}
}
