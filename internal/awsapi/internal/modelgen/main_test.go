package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The committed models must be what this generator writes from the
// botocore they name, byte for byte, on every run.
func TestCommittedModelsAreRegenerated(t *testing.T) {
	out, err := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))").Output()
	if err != nil {
		t.Skipf("botocore not available: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	version, err := botocoreVersion(dir)
	if err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join("..", "..", "models")
	first, err := os.ReadFile(filepath.Join(committed, "codebuild.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(first, []byte(`"source":"botocore `+version+` `)) {
		t.Skipf("the committed models come from another botocore than %s; run go generate", version)
	}
	for i := 0; i < 2; i++ {
		tmp := t.TempDir()
		if err := run(dir, tmp); err != nil {
			t.Fatal(err)
		}
		for _, svc := range services {
			got, err := os.ReadFile(filepath.Join(tmp, svc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(committed, svc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("run %d: models/%s.json differs from a fresh generation; run go generate ./internal/awsapi", i, svc.name)
			}
		}
	}
}
