package config

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestRenderGolden loads each testdata/render/<case> (options.txt adds
// "env NAME=VALUE" and "flag --name key=value" lines) and compares what
// `hangar config` would print with <case>.golden.
func TestRenderGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/render/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range cases {
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			opts := Options{Dir: dir, Arch: "amd64"}
			if f, err := os.Open(filepath.Join(dir, "options.txt")); err == nil {
				sc := bufio.NewScanner(f)
				for sc.Scan() {
					kind, rest, _ := strings.Cut(sc.Text(), " ")
					switch kind {
					case "env":
						opts.Environ = append(opts.Environ, rest)
					case "flag":
						name, kv, _ := strings.Cut(rest, " ")
						k, v, _ := strings.Cut(kv, "=")
						opts.Flags = append(opts.Flags, Flag{Name: name, Key: k, Value: v})
					}
				}
				f.Close()
			}
			if filepath.Base(dir) == "none" {
				// No hangar.yml anywhere up: load from a fresh directory.
				opts.Dir = filepath.Join(t.TempDir(), "none")
				if err := os.Mkdir(opts.Dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(opts)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := c.Render(&b); err != nil {
				t.Fatal(err)
			}
			golden := dir + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				t.Fatalf("Render differs from %s (go test -run TestRenderGolden -update):\n%s", golden, b.String())
			}
		})
	}
}
