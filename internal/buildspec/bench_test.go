package buildspec

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkParse measures parsing and validating buildspecs: the seed that
// uses every section, and a typical short one.
func BenchmarkParse(b *testing.B) {
	full, err := os.ReadFile("testdata/seeds/full.yml")
	if err != nil {
		b.Fatal(err)
	}
	// The seed feeds the fuzzer a plain scalar with ": " inside, which
	// YAML reads as a map; quoted, the rest is a valid spec.
	full = bytes.Replace(full, []byte(`- echo "pre: build"`), []byte(`- 'echo "pre: build"'`), 1)
	short := []byte("version: 0.2\nenv:\n  variables:\n    GOFLAGS: -mod=readonly\nphases:\n  install:\n    commands:\n      - go version\n  build:\n    commands:\n      - go build ./...\n      - go test ./...\nartifacts:\n  files:\n    - bin/**/*\n")
	for _, c := range []struct {
		name string
		spec []byte
	}{{"full", full}, {"short", short}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.spec)))
			for b.Loop() {
				if _, err := Parse(c.spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
