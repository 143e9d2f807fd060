package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An overlay gives a build a writable view of a read-only tree: writes land
// in the upper dir, the lower tree is untouched, and the host never sees the
// mount.
func TestOverlay(t *testing.T) {
	needRoot(t)
	state := hostStateDir(t)
	lower := filepath.Join(state, "trees", "t1")
	b := filepath.Join(state, "builds", "b1")
	upper, work, merged := filepath.Join(b, "upper"), filepath.Join(b, "work"), filepath.Join(b, "merged")
	for _, d := range []string{lower, upper, work, merged} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(lower, "main.go"), []byte("package main\n"), 0o644)
	h := newTestHost(t, HostOptions{})
	src := "/codebuild/output/src1/src"
	sb := startSandbox(t, h, Spec{
		Dir:          src,
		ReadOnlyRoot: true,
		Hide:         []string{state},
		Binds:        []Bind{{Source: merged, Target: src}},
		Overlays:     []Overlay{{Lower: lower, Upper: upper, Work: work, Merged: merged}},
	})
	if got := strings.TrimSpace(capture(t, sb, "cat main.go")); got != "package main" {
		t.Fatalf("lower file through the overlay: %q", got)
	}
	if code := run(t, sb, "echo changed >> main.go && echo new > new.txt && rm -f gone"); code != 0 {
		t.Fatalf("write through the overlay: exit %d", code)
	}
	if got := strings.TrimSpace(capture(t, sb, "cat main.go new.txt")); got != "package main\nchanged\nnew" {
		t.Fatalf("after writes: %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(lower, "main.go")); string(b) != "package main\n" {
		t.Errorf("lower changed: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(upper, "new.txt")); string(b) != "new\n" {
		t.Errorf("upper lacks the new file: %q", b)
	}
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mounts), merged) {
		t.Errorf("the overlay is visible on the host")
	}
	if ents, _ := os.ReadDir(merged); len(ents) != 0 {
		t.Errorf("merged dir not empty on the host: %v", ents)
	}
}

func TestOverlayNeedsIsolation(t *testing.T) {
	needRoot(t)
	d := t.TempDir()
	h := newTestHost(t, HostOptions{DisableIsolation: true})
	_, err := h.Start(t.Context(), Spec{Dir: d, Overlays: []Overlay{{Lower: d, Upper: d, Work: d, Merged: d}}})
	if err == nil {
		t.Fatal("overlay accepted without isolation")
	}
}

func TestOverlayOptionsRefuseSeparators(t *testing.T) {
	for _, p := range []string{"relative", "/a,b", "/a:b", `/a\b`} {
		if _, err := overlayOptions(Overlay{Lower: p, Upper: "/u", Work: "/w", Merged: "/m"}); err == nil {
			t.Errorf("overlayOptions accepted lower %q", p)
		}
	}
}
