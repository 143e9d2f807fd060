package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangarci/hangar/internal/envrules"
)

// FuzzLoad feeds arbitrary hangar.yml and overlay bytes (and HANGAR_*
// values) to the loader. Whatever it accepts must be fully usable: the env
// rules build, the IAM policies expand to JSON, ranges hold, and loading is
// deterministic. Whatever it rejects must be reported as located Errors.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/render/*/hangar*.yml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, []byte(nil), "")
	}
	f.Add([]byte(fullFile), []byte("codebuild:\n  project: ~\n"), "HANGAR_ENV=prod")
	f.Add([]byte("a: &a [*a]\n"), []byte(nil), "")
	f.Add([]byte("x: &x {<<: *x}\n"), []byte("env: q"), "HANGAR_CODEBUILD_TIMEOUT=7")
	f.Add([]byte("codebuild:\n  iam:\n    policy:\n      - PolicyName: A\n        PolicyDocument: {Statement: {Action: '*', Resource: '*'}}\n"), []byte(nil), "")
	f.Add([]byte("project: ${x}\ncodebuild: {project: {env: {vars: {A: 'SSM:', B: $${a}}}}}\n"), []byte("- 1"), "HANGAR_TARGET=aws")
	f.Fuzz(func(t *testing.T, base, overlay []byte, environ string) {
		in := input{
			root: "/fuzz/proj",
			base: &file{shown: "hangar.yml", data: base},
			overlay: func(env string) (*file, error) {
				if overlay == nil {
					return nil, nil
				}
				return &file{shown: OverlayName(env), data: overlay}, nil
			},
		}
		opts := Options{Environ: strings.Split(environ, "\n"), Arch: "arm64"}
		c, err := load(opts, in)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not Errors: %v", err)
			}
			for _, e := range es {
				if e.Source.Kind == FromFile && (e.Source.File == "" || e.Source.Line < 1) {
					t.Fatalf("unlocated error: %v", e)
				}
				if e.Msg == "" {
					t.Fatalf("empty message: %+v", e)
				}
			}
			return
		}
		cb := c.CodeBuild
		if n := cb.Project.TimeoutInMinutes; n < 5 || n > 2160 {
			t.Fatalf("timeout %d accepted", n)
		}
		if cb.Fleet.BaseCapacity < 1 {
			t.Fatalf("base capacity %d accepted", cb.Fleet.BaseCapacity)
		}
		if checkName(c.Project) != nil || checkName(c.Env) != nil || checkExtra(c.Extra) != nil {
			t.Fatalf("bad names accepted: %q %q %q", c.Project, c.Env, c.Extra)
		}
		if _, err := envrules.New(c.EnvSpec()); err != nil {
			t.Fatalf("accepted env rules do not build: %v", err)
		}
		ps, err := c.InlinePolicies()
		if err != nil {
			t.Fatalf("accepted policies do not expand: %v", err)
		}
		for _, p := range ps {
			if !json.Valid([]byte(p.Document)) {
				t.Fatalf("policy %s is not JSON: %s", p.Name, p.Document)
			}
		}
		var r1, r2 strings.Builder
		if err := c.Render(&r1); err != nil {
			t.Fatal(err)
		}
		c2, err := load(opts, in)
		if err != nil {
			t.Fatalf("second load failed: %v", err)
		}
		if err := c2.Render(&r2); err != nil {
			t.Fatal(err)
		}
		if r1.String() != r2.String() {
			t.Fatalf("load is not deterministic:\n%s\n---\n%s", r1.String(), r2.String())
		}
	})
}

// FuzzExpand checks that expansion either fails or leaves no ${ that did
// not come from a $${ escape.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"${env}", "$${env}", "$$${env}", "${", "a${project}b", "${HOME}"} {
		f.Add(s)
	}
	v := vars{env: "e", project: "p", namespace: "n", ssmEnv: "s"}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expand(s, v)
		if err != nil {
			return
		}
		if strings.Count(out, "${") > strings.Count(s, "$${") {
			t.Fatalf("expand(%q) = %q leaves a variable", s, out)
		}
	})
}
