//go:build unix

package pack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// goldenTree builds a tree exercising every packing rule. The comment on
// each line says what must happen to it.
func goldenTree(t *testing.T, dir string) {
	t.Helper()
	writeFiles(t, dir, map[string]string{
		".gitignore": "*.log\n!important.log\nbuild/\n**/cache\n/anchored.txt\n\\#literal\n" +
			"generated.txt\nconfig/env\nsecret/\n",
		".hangarignore":      "!generated.txt\nlocal-only/\n*.bak\n",
		"a.log":              "ignored: *.log",
		"important.log":      "kept: negation",
		"sub/important.log":  "kept: negation applies at any depth",
		"sub/.gitignore":     "!*.log\nlocal.txt\n",
		"sub/debug.log":      "kept: nested .gitignore negates the root's *.log",
		"sub/local.txt":      "ignored: nested .gitignore",
		"sub/anchored.txt":   "kept: /anchored.txt is anchored at the root",
		"sub/build":          "kept: build/ matches directories only",
		"sub/.hangarignore":  "!*.bak\n",
		"sub/old.bak":        "kept: nested .hangarignore re-includes",
		"notes.bak":          "ignored: .hangarignore",
		"anchored.txt":       "ignored: anchored rule",
		"#literal":           "ignored: escaped #",
		"build/out.bin":      "ignored: directory rule",
		"x/y/cache/c.bin":    "ignored: **/cache",
		"x/y/keep.txt":       "kept",
		"generated.txt":      "kept: .gitignore ignores it, .hangarignore re-includes it",
		"local-only/x.txt":   "ignored: .hangarignore directory rule",
		"config/app.yml":     "kept",
		"config/env/dev.env": "kept: always_keep",
		"config/env/p.log":   "kept: inside an always_keep directory",
		"secret/allowed.txt": "kept: always_keep below an ignored directory",
		"secret/other.txt":   "ignored",
		"tmp/t.txt":          "removed: always_remove default",
		"vendor/lib/.git":    "gitdir: ../../.git/modules/lib\n",
		"vendor/lib/code.go": "kept: a nested .git file is excluded, not its siblings",
		"empty/":             "",
		"bin/run.sh":         "#!/bin/sh\necho hi\n",
		"link-in":            "->bin/run.sh",
		"link-dir":           "->sub",
		"link-out":           "->../outside.txt",
		"link-abs":           "->/etc/passwd",
	})
	if err := os.Chmod(filepath.Join(dir, "bin/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
}

var goldenOpts = Options{AlwaysKeep: []string{"config/env", "secret/allowed.txt"}}

var goldenPaths = []string{
	".gitignore", ".hangarignore", "bin", "bin/run.sh", "config", "config/app.yml", "config/env",
	"config/env/dev.env", "config/env/p.log", "empty", "generated.txt", "important.log",
	"link-abs", "link-dir", "link-in", "link-out", "secret", "secret/allowed.txt", "sub",
	"sub/.gitignore", "sub/.hangarignore", "sub/anchored.txt", "sub/build", "sub/debug.log",
	"sub/important.log", "sub/old.bak", "vendor", "vendor/lib", "vendor/lib/code.go", "x", "x/y",
	"x/y/keep.txt",
}

func checkGolden(t *testing.T, dir string, m *Manifest) {
	t.Helper()
	want := slices.Clone(goldenPaths)
	sort.Strings(want)
	if got := paths(m); !slices.Equal(got, want) {
		t.Fatalf("paths\n got: %q\nwant: %q", got, want)
	}
	by := map[string]Entry{}
	for _, e := range m.Entries {
		by[e.Path] = e
	}
	if e := by["bin/run.sh"]; e.Type != TypeFile || e.Mode != 0o755 || e.Size != 18 {
		t.Errorf("bin/run.sh: %+v", e)
	}
	if e := by["empty"]; e.Type != TypeDir {
		t.Errorf("empty: %+v", e)
	}
	for link, target := range map[string]string{"link-in": "bin/run.sh", "link-dir": "sub", "link-out": "../outside.txt", "link-abs": "/etc/passwd"} {
		if e := by[link]; e.Type != TypeSymlink || e.Target != target || e.Mode != 0 || e.SHA256 != "" {
			t.Errorf("%s: %+v", link, e)
		}
	}
	if e := by["config/app.yml"]; e.SHA256 != sha256Hex("kept") || e.Size != 4 {
		t.Errorf("config/app.yml: %+v", e)
	}
	warn := strings.Join(m.Report.Warnings, "\n")
	if !strings.Contains(warn, "link-out") || !strings.Contains(warn, "link-abs") || strings.Contains(warn, "link-in") {
		t.Errorf("warnings: %q", m.Report.Warnings)
	}
	if notes := strings.Join(m.Report.Notes, "\n"); !strings.Contains(notes, `"fifo": named pipe`) {
		t.Errorf("notes: %q", m.Report.Notes)
	}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "link-abs") {
		t.Errorf("Validate = %v, want the outside links refused", err)
	}
}

func TestScanGolden(t *testing.T) {
	t.Run("no git", func(t *testing.T) {
		dir := t.TempDir()
		goldenTree(t, dir)
		m, err := Scan(ctxT(t), dir, goldenOpts)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, dir, m)
	})
	t.Run("git without commits", func(t *testing.T) {
		needGit(t)
		dir := t.TempDir()
		goldenTree(t, dir)
		git(t, dir, "init", "-q")
		m, err := Scan(ctxT(t), dir, goldenOpts)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, dir, m)
	})
	t.Run("git with commits", func(t *testing.T) {
		needGit(t)
		dir := t.TempDir()
		goldenTree(t, dir)
		git(t, dir, "init", "-q")
		git(t, dir, "add", ".gitignore", "bin", "sub")
		git(t, dir, "commit", "-q", "-m", "first")
		m, err := Scan(ctxT(t), dir, goldenOpts)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, dir, m)
	})
}

func TestScanSubdirectoryOfRepo(t *testing.T) {
	needGit(t)
	top := t.TempDir()
	writeFiles(t, top, map[string]string{
		".gitignore":                 "*.tmp\n/proj/from-parent.txt\n/anchored-top.txt\n",
		"apps/.gitignore":            "proj/mid.txt\n",
		"apps/proj/ok.txt":           "kept",
		"apps/proj/a.tmp":            "ignored by the top .gitignore",
		"apps/proj/mid.txt":          "ignored by apps/.gitignore",
		"apps/proj/from-parent.txt":  "kept: /proj/... is anchored at the top, not at apps",
		"apps/proj/anchored-top.txt": "kept: anchored at the top",
		"apps/proj/info.txt":         "ignored by .git/info/exclude",
		"apps/proj/.gitignore":       "!keep.tmp\n",
		"apps/proj/keep.tmp":         "kept: re-included below",
		"apps/other/x.txt":           "outside the project root",
	})
	git(t, top, "init", "-q")
	if err := os.WriteFile(filepath.Join(top, ".git/info/exclude"), []byte("info.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Scan(ctxT(t), filepath.Join(top, "apps/proj"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".gitignore", "anchored-top.txt", "from-parent.txt", "keep.tmp", "ok.txt"}
	if got := paths(m); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// In a linked worktree .git is a file; the main repository's info/exclude
// still applies, as it does for git.
func TestScanWorktree(t *testing.T) {
	needGit(t)
	main := t.TempDir()
	writeFiles(t, main, map[string]string{"a.txt": "a"})
	git(t, main, "init", "-q")
	git(t, main, "add", ".")
	git(t, main, "commit", "-q", "-m", "c")
	if err := os.WriteFile(filepath.Join(main, ".git/info/exclude"), []byte("*.secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wt := filepath.Join(t.TempDir(), "wt")
	git(t, main, "worktree", "add", "-q", wt)
	writeFiles(t, wt, map[string]string{"x.secret": "s", "b.txt": "b"})
	m, err := Scan(ctxT(t), wt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(m), []string{"a.txt", "b.txt"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestScanSpecialFilesAndSymlinks(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"real/f": "x", "loop": "->loop", "dangling": "->nowhere"})
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skip("unix sockets:", err)
	}
	defer l.Close()
	// A symlinked root is resolved; links inside are never followed.
	link := filepath.Join(t.TempDir(), "root-link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	m, err := Scan(ctxT(t), link, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(m), []string{"dangling", "loop", "real", "real/f"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !strings.Contains(strings.Join(m.Report.Notes, "\n"), `"s.sock": socket`) {
		t.Errorf("notes: %q", m.Report.Notes)
	}
	if !strings.Contains(strings.Join(m.Report.Warnings, "\n"), "loop") {
		t.Errorf("warnings: %q", m.Report.Warnings)
	}
}

func TestScanOptions(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"tmp/a": "x", "big": strings.Repeat("x", 100), "a/tmp/b": "nested tmp is not the root tmp", "log/x": "y"})
	m, err := Scan(ctxT(t), dir, Options{WarnSize: 50, AlwaysKeep: []string{"missing/path"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(m), []string{"a", "a/tmp", "a/tmp/b", "big", "log", "log/x"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if len(m.Report.Warnings) != 1 || !strings.Contains(m.Report.Warnings[0], "over 50 B") {
		t.Errorf("warnings: %q", m.Report.Warnings)
	}
	if !strings.Contains(strings.Join(m.Report.Notes, "\n"), "missing/path") {
		t.Errorf("notes: %q", m.Report.Notes)
	}
	// An empty, non-nil AlwaysRemove keeps tmp; paths may have ./ and a trailing /.
	m, err = Scan(ctxT(t), dir, Options{AlwaysRemove: []string{"./log/"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(m), []string{"a", "a/tmp", "a/tmp/b", "big", "tmp", "tmp/a"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"../x", "/etc", ""} {
		if _, err := Scan(ctxT(t), dir, Options{AlwaysKeep: []string{bad}}); err == nil {
			t.Errorf("always_keep %q accepted", bad)
		}
	}
	if _, err := Scan(ctxT(t), filepath.Join(dir, "big"), Options{}); err == nil {
		t.Error("scan of a file accepted")
	}
}

func TestScanUnreadableDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads everything")
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"locked/f": "x"})
	if err := os.Chmod(filepath.Join(dir, "locked"), 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Join(dir, "locked"), 0o755)
	if _, err := Scan(ctxT(t), dir, Options{}); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("err = %v", err)
	}
}

// TestHashCache: the second scan of an unchanged tree reads no file; a
// one-file change reads one file and needs exactly one new blob; a rewrite
// that restores the old mtime is still caught (ctime).
func TestHashCache(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 200 {
		files[fmt.Sprintf("d%d/f%03d.txt", i%10, i)] = fmt.Sprintf("content %d", i)
	}
	writeFiles(t, dir, files)
	cache := t.TempDir()
	opts := Options{CacheDir: cache, racy: time.Nanosecond}

	m1, err := Scan(ctxT(t), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if m1.Report.Hashed != 200 {
		t.Fatalf("cold scan hashed %d files", m1.Report.Hashed)
	}
	m2, err := Scan(ctxT(t), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Report.Hashed != 0 {
		t.Fatalf("warm scan hashed %d files", m2.Report.Hashed)
	}
	h1, _ := m1.Hash()
	h2, _ := m2.Hash()
	if h1 != h2 {
		t.Fatal("manifest hash changed without a change")
	}

	have := map[string]bool{}
	for _, b := range m1.Blobs() {
		have[b.SHA256] = true
	}
	changed := filepath.Join(dir, "d3/f013.txt")
	if err := os.WriteFile(changed, []byte("new content"), 0o644); err != nil {
		t.Fatal(err)
	}
	m3, err := Scan(ctxT(t), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	missing := m3.Missing(func(h string) bool { return have[h] })
	if m3.Report.Hashed != 1 || len(missing) != 1 || missing[0].SHA256 != sha256Hex("new content") || missing[0].Path != "d3/f013.txt" {
		t.Fatalf("after one change: hashed %d, missing %+v", m3.Report.Hashed, missing)
	}

	// Same size, mtime put back: only the ctime (and the content) differ.
	fi, _ := os.Stat(changed)
	if err := os.WriteFile(changed, []byte("NEW CONTENT"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(changed, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	m4, err := Scan(ctxT(t), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if m4.Report.Hashed != 1 {
		t.Fatalf("rewrite with old mtime: hashed %d", m4.Report.Hashed)
	}
	for _, e := range m4.Entries {
		if e.Path == "d3/f013.txt" && e.SHA256 != sha256Hex("NEW CONTENT") {
			t.Fatal("stale hash from the cache")
		}
	}

	// A damaged cache is ignored, not trusted.
	entries, _ := os.ReadDir(cache)
	if len(entries) != 1 {
		t.Fatalf("cache dir: %v", entries)
	}
	cf := filepath.Join(cache, entries[0].Name())
	data, _ := os.ReadFile(cf)
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(cf, data, 0o600); err != nil {
		t.Fatal(err)
	}
	m5, err := Scan(ctxT(t), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if m5.Report.Hashed != 200 || !strings.Contains(strings.Join(m5.Report.Notes, "\n"), "checksum mismatch") {
		t.Fatalf("damaged cache: hashed %d, notes %q", m5.Report.Hashed, m5.Report.Notes)
	}
}

// Files changed in the last moments before a scan are not cached (the
// racily-clean problem), so the next scan hashes them again.
func TestHashCacheRacyFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a": "1", "b": "2"})
	opts := Options{CacheDir: t.TempDir()}
	for range 2 {
		m, err := Scan(ctxT(t), dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if m.Report.Hashed != 2 {
			t.Fatalf("hashed %d, want 2 (files are too new to cache)", m.Report.Hashed)
		}
	}
}

func TestScanCancelled(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a": "1"})
	ctx, cancel := contextWithCancel(t)
	cancel()
	if _, err := Scan(ctx, dir, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
