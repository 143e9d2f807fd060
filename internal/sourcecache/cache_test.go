package sourcecache

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/hangarci/hangar/internal/pack"
)

// scanTree writes files into a new directory and scans it.
func scanTree(t *testing.T, files map[string]string) (*pack.Manifest, string, string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		mode := os.FileMode(0o644)
		if filepath.Ext(name) == ".sh" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	m, err := pack.Scan(context.Background(), dir, pack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := m.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return m, sum, dir
}

func blobsOf(dir string, m *pack.Manifest) func(string) (string, error) {
	paths := map[string]string{}
	for _, b := range m.Blobs() {
		paths[b.SHA256] = filepath.Join(dir, b.Path)
	}
	return func(h string) (string, error) { return paths[h], nil }
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestTreesAreSharedAndEvicted(t *testing.T) {
	c, err := Open(t.TempDir(), Options{Keep: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m1, s1, d1 := scanTree(t, map[string]string{"a.txt": "A", "bin/run.sh": "#!/bin/sh\n", "b.txt": "B"})
	r1, rel1, err := c.Get(ctx, s1, static(m1), blobsOf(d1, m1))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(r1, "a.txt")); string(b) != "A" {
		t.Fatalf("a.txt = %q", b)
	}
	if fi, _ := os.Stat(filepath.Join(r1, "bin/run.sh")); fi.Mode().Perm() != 0o755 {
		t.Fatalf("run.sh mode %v", fi.Mode())
	}
	// The same manifest again: the same tree, nothing assembled.
	r1b, rel1b, err := c.Get(ctx, s1, static(m1), func(string) (string, error) { t.Fatal("blob read for a cached tree"); return "", nil })
	if err != nil || r1b != r1 {
		t.Fatalf("second Get: %v %v", r1b, err)
	}
	// A tree differing by one file shares the other files' inodes.
	m2, s2, d2 := scanTree(t, map[string]string{"a.txt": "A", "bin/run.sh": "#!/bin/sh\n", "b.txt": "B2"})
	r2, rel2, err := c.Get(ctx, s2, static(m2), blobsOf(d2, m2))
	if err != nil {
		t.Fatal(err)
	}
	if inode(t, filepath.Join(r1, "a.txt")) != inode(t, filepath.Join(r2, "a.txt")) {
		t.Error("unchanged file not shared between trees")
	}
	if inode(t, filepath.Join(r1, "b.txt")) == inode(t, filepath.Join(r2, "b.txt")) {
		t.Error("changed file shared between trees")
	}
	// In-use trees are never evicted; once released, Keep: 1 keeps the
	// newest, and files only the evicted tree used go too.
	rel1()
	rel1b()
	rel2()
	if _, err := os.Stat(r1); !os.IsNotExist(err) {
		t.Errorf("oldest tree kept: %v", err)
	}
	if _, err := os.Stat(r2); err != nil {
		t.Errorf("newest tree gone: %v", err)
	}
	c.sweepFiles()
	ents, _ := os.ReadDir(filepath.Join(c.dir, "files"))
	if n := len(ents); n != 3 { // A, run.sh, B2
		t.Errorf("%d shared files left, want 3", len(ents))
	}
}

func TestBadSumAndBlob(t *testing.T) {
	c, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, s, _ := scanTree(t, map[string]string{"a": "x"})
	if _, _, err := c.Get(context.Background(), "../x", static(m), nil); err == nil {
		t.Error("a bad sum was accepted")
	}
	missing := func(string) (string, error) { return "", os.ErrNotExist }
	if _, _, err := c.Get(context.Background(), s, static(m), missing); err == nil {
		t.Error("a missing blob was accepted")
	}
	// The failure is not cached.
	_, _, d := scanTree(t, map[string]string{"a": "x"})
	if _, rel, err := c.Get(context.Background(), s, static(m), blobsOf(d, m)); err != nil {
		t.Errorf("retry after failure: %v", err)
	} else {
		rel()
	}
}

func static(m *pack.Manifest) func() (*pack.Manifest, error) {
	return func() (*pack.Manifest, error) { return m, nil }
}
