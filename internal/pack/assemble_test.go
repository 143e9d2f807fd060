//go:build unix

package pack

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withoutOutsideLinks drops the golden tree's links a runner refuses.
func withoutOutsideLinks(m *Manifest) *Manifest {
	out := &Manifest{Version: m.Version}
	for _, e := range m.Entries {
		if e.Path != "link-out" && e.Path != "link-abs" {
			out.Entries = append(out.Entries, e)
		}
	}
	return out
}

// Scan → Assemble into a fresh dir → the same tree, byte for byte, with
// modes and links.
func TestAssembleRoundTrip(t *testing.T) {
	src := t.TempDir()
	goldenTree(t, src)
	// Modes beyond 0644/0755 survive too.
	writeFiles(t, src, map[string]string{"ro/file": "read-only", "ro/x": "group-exec"})
	os.Chmod(filepath.Join(src, "ro/file"), 0o400)
	os.Chmod(filepath.Join(src, "ro/x"), 0o750)
	os.Chmod(filepath.Join(src, "ro"), 0o555)
	t.Cleanup(func() { os.Chmod(filepath.Join(src, "ro"), 0o755) })

	m, err := Scan(ctxT(t), src, goldenOpts)
	if err != nil {
		t.Fatal(err)
	}
	_, blobPath := blobDir(t, src, m)

	// The links out of the tree make the manifest unacceptable to a runner.
	dst := filepath.Join(t.TempDir(), "tree")
	if err := Assemble(ctxT(t), m, dst, blobPath); !errors.Is(err, ErrInvalidManifest) || !strings.Contains(err.Error(), "link-abs") {
		t.Fatalf("Assemble with outside links = %v", err)
	}

	m = withoutOutsideLinks(m)
	dst = filepath.Join(t.TempDir(), "tree")
	st, err := assemble(ctxT(t), m, dst, blobPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(dst, "ro"), 0o755) })
	t.Logf("files reflinked: %d, copied: %d", st.cloned.Load(), st.copied.Load())
	compareTrees(t, snapshot(t, dst), expectedTree(t, src, m))

	// Scanning the assembled tree gives the same manifest.
	again, err := Scan(ctxT(t), dst, Options{AlwaysKeep: goldenOpts.AlwaysKeep, AlwaysRemove: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	h1, _ := m.Hash()
	h2, _ := again.Hash()
	if h1 != h2 {
		t.Fatal("manifest of the assembled tree differs")
	}
}

// A build writing to (or chmodding) an assembled file must not change the
// blob it came from, even as root.
func TestAssembleBuildCannotChangeBlob(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"a.txt": "original", "b.txt": "original"})
	m, err := Scan(ctxT(t), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs, blobPath := blobDir(t, src, m)
	blob := filepath.Join(blobs, sha256Hex("original"))
	dst := filepath.Join(t.TempDir(), "tree")
	if err := Assemble(ctxT(t), m, dst, blobPath); err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(dst, "a.txt")
	bi, _ := os.Stat(blob)
	ai, _ := os.Stat(a)
	if os.SameFile(ai, bi) {
		t.Fatal("assembled file shares the blob's inode")
	}
	// What a build might do: chmod, truncate and rewrite, append.
	if err := os.Chmod(a, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a, []byte("changed by the build"), 0o666); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dst, "b.txt"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(" and appended")
	f.Close()

	data, _ := os.ReadFile(blob)
	bi2, _ := os.Stat(blob)
	if string(data) != "original" || bi2.Mode() != bi.Mode() {
		t.Fatalf("blob changed: %q %v", data, bi2.Mode())
	}
}

func TestAssembleRefuses(t *testing.T) {
	good := &Manifest{Version: ManifestVersion, Entries: []Entry{{Path: "f", Type: TypeFile, Mode: 0o644, Size: 1, SHA256: hashA}}}
	blobs := t.TempDir()
	os.WriteFile(filepath.Join(blobs, hashA), []byte("a"), 0o444)
	os.WriteFile(filepath.Join(blobs, hashB), []byte("bb"), 0o444) // wrong size for hashB's entry
	blobPath := func(h string) (string, error) { return filepath.Join(blobs, h), nil }

	t.Run("non-empty destination", func(t *testing.T) {
		dst := t.TempDir()
		writeFiles(t, dst, map[string]string{"x": "y"})
		if err := Assemble(ctxT(t), good, dst, blobPath); err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("destination is a symlink", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "l")
		os.Symlink(t.TempDir(), dst)
		if err := Assemble(ctxT(t), good, dst, blobPath); err == nil {
			t.Fatal("assembled through a symlink")
		}
	})
	t.Run("blob size mismatch", func(t *testing.T) {
		m := &Manifest{Version: ManifestVersion, Entries: []Entry{{Path: "f", Type: TypeFile, Mode: 0o644, Size: 1, SHA256: hashB}}}
		if err := Assemble(ctxT(t), m, filepath.Join(t.TempDir(), "d"), blobPath); err == nil || !strings.Contains(err.Error(), "size 2") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("missing blob", func(t *testing.T) {
		m := &Manifest{Version: ManifestVersion, Entries: []Entry{{Path: "f", Type: TypeFile, Mode: 0o644, Size: 1, SHA256: sha256Hex("zz")}}}
		if err := Assemble(ctxT(t), m, filepath.Join(t.TempDir(), "d"), blobPath); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("hostile manifest writes nothing", func(t *testing.T) {
		parent := t.TempDir()
		m := &Manifest{Version: ManifestVersion, Entries: []Entry{
			{Path: "d", Type: TypeDir, Mode: 0o755},
			{Path: "l", Type: TypeSymlink, Target: ".."},
			{Path: "z", Type: TypeFile, Mode: 0o644, Size: 1, SHA256: hashA},
		}}
		if err := Assemble(ctxT(t), m, filepath.Join(parent, "d"), blobPath); !errors.Is(err, ErrInvalidManifest) {
			t.Fatalf("err = %v", err)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Fatalf("wrote %v", entries)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := contextWithCancel(t)
		cancel()
		if err := Assemble(ctx, good, filepath.Join(t.TempDir(), "d"), blobPath); err == nil {
			t.Fatal("no error")
		}
	})
}

// TestAssembleReflink runs where HANGAR_TEST_REFLINK_DIR names a directory
// on a filesystem with reflinks (XFS with reflink=1, btrfs): files must be
// cloned, not copied, and a build's writes must still leave the blob alone.
func TestAssembleReflink(t *testing.T) {
	base := os.Getenv("HANGAR_TEST_REFLINK_DIR")
	if base == "" {
		t.Skip("HANGAR_TEST_REFLINK_DIR not set")
	}
	work, err := os.MkdirTemp(base, "reflink-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	src := filepath.Join(work, "src")
	writeFiles(t, src, map[string]string{"a": strings.Repeat("a", 1<<20), "b/c": "small", "empty": ""})
	m, err := Scan(ctxT(t), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs := filepath.Join(work, "blobs")
	os.Mkdir(blobs, 0o755)
	for _, b := range m.Blobs() {
		data, _ := os.ReadFile(filepath.Join(src, b.Path))
		os.WriteFile(filepath.Join(blobs, b.SHA256), data, 0o444)
	}
	dst := filepath.Join(work, "dst")
	st, err := assemble(ctxT(t), m, dst, func(h string) (string, error) { return filepath.Join(blobs, h), nil })
	if err != nil {
		t.Fatal(err)
	}
	if st.cloned.Load() != 2 || st.copied.Load() != 0 {
		t.Fatalf("cloned %d, copied %d", st.cloned.Load(), st.copied.Load())
	}
	compareTrees(t, snapshot(t, dst), expectedTree(t, src, m))
	if err := os.WriteFile(filepath.Join(dst, "a"), []byte("build output"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(blobs, sha256Hex(strings.Repeat("a", 1<<20))))
	if string(data) != strings.Repeat("a", 1<<20) {
		t.Fatal("blob changed through a reflinked file")
	}
}
