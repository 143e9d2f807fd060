package envrules

import (
	"strings"
	"testing"

	"github.com/hangarci/hangar/internal/model"
)

// FuzzParseRule checks that any entry either fails to parse or gives a rule
// whose matching follows the entry's form, and that a rule set built from it
// never passes a runner-owned or blocked name.
func FuzzParseRule(f *testing.F) {
	for _, s := range [][2]string{
		{"DOCKER_USER", "DOCKER_USER"}, {"/^AWS_/", "AWS_REGION"}, {"/aws/i", "AWS"},
		{"//", ""}, {"/", "/"}, {"/(/", "("}, {"/a/b/", "a/b"}, {"A=B", "A"}, {"/x/i", "CODEBUILD_X"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, entry, name string) {
		r, err := ParseRule(entry)
		if err != nil {
			return
		}
		if r.String() != entry {
			t.Fatalf("String() = %q, want %q", r.String(), entry)
		}
		if !r.IsRegexp() && r.Match(name) != (name == entry) {
			t.Fatalf("exact rule %q matched %q = %v", entry, name, r.Match(name))
		}
		if r.IsRegexp() != strings.HasPrefix(entry, "/") {
			t.Fatalf("%q: IsRegexp = %v", entry, r.IsRegexp())
		}
		if strings.ContainsAny(name, "=\x00") || name == "" {
			return
		}
		rules, err := New(Spec{Pass: []string{entry}})
		if err != nil {
			t.Fatalf("New with a parsed rule: %v", err)
		}
		vars, err := rules.Overrides(Input{Environ: []string{name + "=v"}})
		if err != nil {
			t.Fatal(err)
		}
		passed := len(vars) == 1
		if passed != (r.Match(name) && !RunnerOwned(name)) {
			t.Fatalf("rule %q, name %q: passed = %v", entry, name, passed)
		}
		blocked, err := New(Spec{Pass: []string{"//"}, Block: []string{entry}})
		if err != nil {
			t.Fatal(err)
		}
		if vars, _ := blocked.Overrides(Input{Environ: []string{name + "=v"}}); len(vars) == 1 && r.Match(name) {
			t.Fatalf("block %q did not stop %q", entry, name)
		}
	})
}

// FuzzClassify checks that typing only ever strips a known prefix.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"SSM:/a", "ssm", "secret:x:y", "PARAMETER_STORE:", "http://x", "ſsm:/a", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		typ, rest := Classify(value)
		switch typ {
		case model.EnvPlaintext:
			if rest != value {
				t.Fatalf("plaintext %q changed to %q", value, rest)
			}
		case model.EnvParameterStore, model.EnvSecretsManager:
			prefix, tail, ok := strings.Cut(value, ":")
			if !ok || tail != rest {
				t.Fatalf("%q: value %q is not what follows the first colon", value, rest)
			}
			p := strings.ToUpper(prefix)
			want := map[string]string{"SSM": model.EnvParameterStore, "PARAMETER_STORE": model.EnvParameterStore,
				"SECRET": model.EnvSecretsManager, "SECRETS_MANAGER": model.EnvSecretsManager}[p]
			if want != typ || len(prefix) != len(p) {
				t.Fatalf("%q typed %s", value, typ)
			}
		default:
			t.Fatalf("unknown type %q", typ)
		}
	})
}
