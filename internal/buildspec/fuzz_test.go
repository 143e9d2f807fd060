package buildspec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hangarci/hangar/internal/model"
)

// FuzzParse checks that Parse never panics, fails only with *Error, and
// returns specs that hold the invariants the runner relies on.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "seeds", "*.yml"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("version: 0.2\na: &a [x,x]\nb: &b [*a,*a]\nbatch: *b\nphases: {build: {commands: [x]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Work is bounded; a parse this slow is a denial of service, not load.
		start := time.Now()
		s, err := Parse(data)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("slow parse: %v for %d bytes", d, len(data))
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if e.Message == "" || e.Line < 0 {
				t.Fatalf("bad error %+v", e)
			}
			if s != nil {
				t.Fatal("spec and error both returned")
			}
			return
		}
		if s.Version != "0.2" && s.Version != "0.1" {
			t.Fatalf("version %q accepted", s.Version)
		}
		n := 0
		for _, ph := range s.Phases.List() {
			p, pt := ph.Phase, ph.Name
			n++
			if p.Name != pt {
				t.Fatalf("phase %s has name %s", pt, p.Name)
			}
			if len(p.Commands) == 0 && (pt != model.PhaseInstall || len(p.RuntimeVersions) == 0) {
				t.Fatalf("phase %s accepted without commands", pt)
			}
			if len(p.Commands) == 0 && len(p.Finally) > 0 {
				t.Fatalf("phase %s accepted finally without commands", pt)
			}
		}
		if n == 0 {
			t.Fatal("spec without phases accepted")
		}
		if s.Artifacts != nil && len(s.Artifacts.Files) == 0 {
			t.Fatal("artifacts without files accepted")
		}
		if s.Cache != nil && len(s.Cache.Paths) == 0 {
			t.Fatal("cache without paths accepted")
		}
		_ = s.SyntaxWarnings()
	})
}
