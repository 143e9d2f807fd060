package pack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGitInfoNoGitBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	info, err := GitInfo(ctxT(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if info.State != GitNotFound || info.SHA != "" {
		t.Fatalf("%+v", info)
	}
}

func TestGitInfoNotARepo(t *testing.T) {
	needGit(t)
	isolateGit(t)
	info, err := GitInfo(ctxT(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if info.State != GitNotRepo || info.Branch != "" || info.Dirty {
		t.Fatalf("%+v", info)
	}
}

func TestGitInfo(t *testing.T) {
	needGit(t)
	isolateGit(t)
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "trunk")

	// No commits yet: the branch is known, the tree is dirty once it has a file.
	info, err := GitInfo(ctxT(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != GitNoCommits || info.Branch != "trunk" || info.SHA != "" || info.Dirty {
		t.Fatalf("empty repo: %+v", info)
	}
	writeFiles(t, dir, map[string]string{"a.txt": "1", "sub/b.txt": "2", ".gitignore": "ignored.txt\n"})
	if info, _ = GitInfo(ctxT(t), dir); info.State != GitNoCommits || !info.Dirty {
		t.Fatalf("no commits, files: %+v", info)
	}

	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "first commit\n\nbody")
	git(t, dir, "remote", "add", "origin", "https://user:s3cret@example.com/org/repo.git")
	sha := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))

	info, err = GitInfo(ctxT(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Info{
		State: GitOK, TopLevel: dir, Branch: "trunk", SHA: sha, ShortSHA: sha[:len(info.ShortSHA)],
		Subject: "first commit", RemoteURL: "https://example.com/org/repo.git",
	}
	if info != want || len(info.ShortSHA) < 7 {
		t.Fatalf("clean:\n got %+v\nwant %+v", info, want)
	}

	// Ignored files do not make the tree dirty; untracked and changed ones do.
	writeFiles(t, dir, map[string]string{"ignored.txt": "x"})
	if info, _ = GitInfo(ctxT(t), dir); info.Dirty {
		t.Fatal("ignored file made the tree dirty")
	}
	writeFiles(t, dir, map[string]string{"new.txt": "x"})
	if info, _ = GitInfo(ctxT(t), dir); !info.Dirty {
		t.Fatal("untracked file not dirty")
	}
	os.Remove(filepath.Join(dir, "new.txt"))
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if info, _ = GitInfo(ctxT(t), dir); !info.Dirty {
		t.Fatal("modified file not dirty")
	}

	// From a subdirectory: the same commit; dirty counts changes below it only.
	sub := filepath.Join(dir, "sub")
	if info, _ = GitInfo(ctxT(t), sub); info.State != GitOK || info.SHA != sha || info.TopLevel != dir || info.Dirty {
		t.Fatalf("subdirectory: %+v", info)
	}
	if err := os.WriteFile(filepath.Join(sub, "b.txt"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if info, _ = GitInfo(ctxT(t), sub); !info.Dirty {
		t.Fatal("subdirectory change not dirty")
	}

	// Detached HEAD.
	git(t, dir, "checkout", "-q", "--detach")
	if info, _ = GitInfo(ctxT(t), dir); info.State != GitOK || !info.Detached || info.Branch != "" || info.SHA != sha {
		t.Fatalf("detached: %+v", info)
	}
}

// GitInfo must not write to the repository: with optional locks off even
// "git status" leaves the index alone when file stat data is stale.
func TestGitInfoDoesNotModifyRepo(t *testing.T) {
	needGit(t)
	isolateGit(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.txt": "1", "b.txt": "2"})
	git(t, dir, "init", "-q")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "c")
	// Make the index's stat data stale, which a plain "git status" would
	// refresh and write back.
	later := time.Now().Add(time.Hour)
	for _, f := range []string{"a.txt", "b.txt"} {
		if err := os.Chtimes(filepath.Join(dir, f), later, later); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshotWithTimes(t, filepath.Join(dir, ".git"))
	if _, err := GitInfo(ctxT(t), dir); err != nil {
		t.Fatal(err)
	}
	after := snapshotWithTimes(t, filepath.Join(dir, ".git"))
	if len(before) != len(after) {
		t.Fatalf(".git changed: %d files before, %d after", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf(".git/%s changed", k)
		}
	}
}

func snapshotWithTimes(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	for p, n := range snapshot(t, dir) {
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		out[p] = n.Content + "|" + fi.ModTime().String()
	}
	return out
}

func TestGitInfoIgnoresGitDirEnv(t *testing.T) {
	needGit(t)
	isolateGit(t)
	other := t.TempDir()
	git(t, other, "init", "-q")
	t.Setenv("GIT_DIR", filepath.Join(other, ".git"))
	info, err := GitInfo(ctxT(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if info.State != GitNotRepo {
		t.Fatalf("GIT_DIR leaked into GitInfo: %+v", info)
	}
}

func TestGitInfoCancelled(t *testing.T) {
	needGit(t)
	ctx, cancel := contextWithCancel(t)
	cancel()
	if _, err := GitInfo(ctx, t.TempDir()); err == nil {
		t.Fatal("no error for a cancelled context")
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:token@github.com/o/r.git": "https://github.com/o/r.git",
		"https://x-access-token@github.com/o/r": "https://github.com/o/r",
		"ssh://git:pw@host/o/r":                 "ssh://git@host/o/r",
		"git@github.com:o/r.git":                "git@github.com:o/r.git",
		"/srv/git/r.git":                        "/srv/git/r.git",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
