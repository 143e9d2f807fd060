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

// Extra members are added to the shapes that lack them, once, and the
// shapes they refer to are reported so they are generated too.
func TestAddExtra(t *testing.T) {
	s := &outShape{Type: "structure", Members: []outMember{{Name: "a", Shape: "A"}}}
	refs := addExtra(s, []outMember{{Name: "b", Shape: "B"}, {Name: "a", Shape: "Other"}})
	if len(s.Members) != 2 || s.Members[1] != (outMember{Name: "b", Shape: "B"}) || s.Members[0].Shape != "A" {
		t.Errorf("members %+v, want a (unchanged) then b", s.Members)
	}
	if len(refs) != 1 || refs[0] != "B" {
		t.Errorf("refs %v, want [B]", refs)
	}
	if refs := addExtra(s, []outMember{{Name: "b", Shape: "B"}}); len(refs) != 0 || len(s.Members) != 2 {
		t.Errorf("adding a member twice: refs %v, members %+v", refs, s.Members)
	}
}

// Every extra member names a shape that the generated model has.
func TestExtraMembersResolve(t *testing.T) {
	out, err := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))").Output()
	if err != nil {
		t.Skipf("botocore not available: %v", err)
	}
	tmp := t.TempDir()
	if err := run(strings.TrimSpace(string(out)), tmp); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(tmp, "logs.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`{"name":"startFromHead","shape":"StartFromHead"}]},`)) || !bytes.Contains(b, []byte(`"StartFromHead":{"type":"boolean"}`)) {
		t.Errorf("logs model lacks FilterLogEventsRequest.startFromHead or its shape")
	}
}
