package pack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// writeFiles creates files under dir: a key ending in "/" is a directory,
// a value starting "->" makes a symlink, anything else is file content.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// gitTestEnv isolates git from the machine's configuration.
func gitTestEnv(home string) []string {
	return append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+filepath.Join(home, ".gitconfig"),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
	)
}

func needGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
}

// git runs git in dir with an isolated configuration and returns stdout.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitTestEnv(t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %v: %v: %s", args, err, stderr.String())
	}
	return stdout.String()
}

// isolateGit points GitInfo's git at an empty configuration.
func isolateGit(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(home, ".gitconfig"))
}

// node is one path of a tree snapshot.
type node struct {
	Type    EntryType
	Mode    fs.FileMode
	Content string // file content or link target
}

// snapshot reads every path under dir without following links.
func snapshot(t testing.TB, dir string) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			out[rel] = node{Type: TypeDir, Mode: fi.Mode().Perm()}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = node{Type: TypeSymlink, Content: target}
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = node{Type: TypeFile, Mode: fi.Mode().Perm(), Content: string(data)}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// expectedTree is the snapshot of src restricted to the manifest's paths.
func expectedTree(t testing.TB, src string, m *Manifest) map[string]node {
	t.Helper()
	all := snapshot(t, src)
	out := map[string]node{}
	for _, e := range m.Entries {
		n, ok := all[e.Path]
		if !ok {
			t.Fatalf("manifest path %q not in source tree", e.Path)
		}
		out[e.Path] = n
	}
	return out
}

func compareTrees(t testing.TB, got, want map[string]node) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !gok:
			t.Errorf("%s: missing", k)
		case !wok:
			t.Errorf("%s: unexpected", k)
		case g != w:
			t.Errorf("%s: got %v %#o %.40q, want %v %#o %.40q", k, g.Type, g.Mode, g.Content, w.Type, w.Mode, w.Content)
		}
	}
}

// blobDir stores the blobs of m, read from src, as read-only files named by
// hash, the way the runner's blob store keeps them.
func blobDir(t testing.TB, src string, m *Manifest) (string, func(string) (string, error)) {
	t.Helper()
	dir := t.TempDir()
	for _, b := range m.Missing(func(string) bool { return false }) {
		data, err := os.ReadFile(filepath.Join(src, b.Path))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != b.SHA256 {
			t.Fatalf("%s changed", b.Path)
		}
		if err := os.WriteFile(filepath.Join(dir, b.SHA256), data, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	return dir, func(h string) (string, error) { return filepath.Join(dir, h), nil }
}

func paths(m *Manifest) []string {
	var out []string
	for _, e := range m.Entries {
		out = append(out, e.Path)
	}
	return out
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func contextWithCancel(t testing.TB) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}
