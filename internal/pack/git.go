package pack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"
)

// GitTimeout bounds all git commands of one GitInfo call.
const GitTimeout = 10 * time.Second

// GitState says how complete an Info is.
type GitState string

// Git states.
const (
	GitOK         GitState = "ok"            // every field is filled in
	GitNotFound   GitState = "git-not-found" // no git binary on PATH
	GitNotRepo    GitState = "not-a-repo"    // root is not in a work tree
	GitNoCommits  GitState = "no-commits"    // a repository without a commit: branch and dirty only
	GitIncomplete GitState = "incomplete"    // git failed or timed out part way; Detail says what
)

// Info is the git metadata of a working tree, recorded with a build.
type Info struct {
	State     GitState
	Detail    string // why State is not GitOK, in git's words when it gave some
	TopLevel  string // the repository's top directory
	Branch    string // empty when HEAD is detached
	Detached  bool
	SHA       string // full commit hash of HEAD
	ShortSHA  string // git's unique abbreviation
	Subject   string // first line of HEAD's message
	Dirty     bool   // changed or untracked (not ignored) files below root
	RemoteURL string // the branch's remote (else origin), without credentials
}

// GitInfo reports the git metadata of the working tree at root using the git
// binary. It never changes the repository: it only runs read-only commands,
// with optional locks off so even "git status" does not refresh the index.
// No git, no repository or no commits are not errors: State says which. An
// error is returned only when ctx ends.
func GitInfo(ctx context.Context, root string) (Info, error) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return Info{State: GitNotFound, Detail: err.Error()}, nil
	}
	tctx, cancel := context.WithTimeout(ctx, GitTimeout)
	defer cancel()
	g := gitRunner{ctx: tctx, parent: ctx, path: gitPath, dir: root, env: gitEnv()}

	var info Info
	top, err := g.run("rev-parse", "--show-toplevel")
	if err != nil {
		if ctx.Err() != nil {
			return Info{}, fmt.Errorf("git info %s: %w", root, ctx.Err())
		}
		var ge *gitError
		if errors.As(err, &ge) && strings.Contains(ge.stderr, "not a git repository") {
			return Info{State: GitNotRepo, Detail: ge.stderr}, nil
		}
		return Info{State: GitIncomplete, Detail: err.Error()}, nil
	}
	info.TopLevel = top

	incomplete := func(err error) (Info, error) {
		if ctx.Err() != nil {
			return Info{}, fmt.Errorf("git info %s: %w", root, ctx.Err())
		}
		info.State, info.Detail = GitIncomplete, err.Error()
		return info, nil
	}

	// symbolic-ref names the branch even before the first commit; it exits
	// 1 when HEAD is detached.
	if b, err := g.run("symbolic-ref", "-q", "--short", "HEAD"); err == nil {
		info.Branch = b
	} else if ge := (*gitError)(nil); errors.As(err, &ge) && ge.code == 1 {
		info.Detached = true
	} else {
		return incomplete(err)
	}

	status, err := g.run("status", "--porcelain", "-z", "--untracked-files=normal", "--", ".")
	if err != nil {
		return incomplete(err)
	}
	info.Dirty = status != ""

	if _, err := g.run("rev-parse", "-q", "--verify", "HEAD^{commit}"); err != nil {
		if ge := (*gitError)(nil); errors.As(err, &ge) && ge.code == 1 {
			info.State, info.Detail = GitNoCommits, "the repository has no commits yet"
			return info, nil
		}
		return incomplete(err)
	}
	out, err := g.run("log", "-1", "--no-show-signature", "--no-color", "--format=%H%x00%h%x00%s", "HEAD")
	if err != nil {
		return incomplete(err)
	}
	parts := strings.SplitN(out, "\x00", 3)
	if len(parts) != 3 {
		return incomplete(fmt.Errorf("git log: unexpected output %q", out))
	}
	info.SHA, info.ShortSHA, info.Subject = parts[0], parts[1], parts[2]

	remote := "origin"
	if info.Branch != "" {
		if r, err := g.run("config", "--get", "branch."+info.Branch+".remote"); err == nil && r != "" && r != "." {
			remote = r
		}
	}
	if u, err := g.run("remote", "get-url", remote); err == nil {
		info.RemoteURL = redactURL(u)
	} else if names, err := g.run("remote"); err == nil && names != "" {
		first, _, _ := strings.Cut(names, "\n")
		if u, err := g.run("remote", "get-url", first); err == nil {
			info.RemoteURL = redactURL(u)
		}
	}
	info.State = GitOK
	return info, nil
}

type gitRunner struct {
	ctx, parent context.Context
	path, dir   string
	env         []string
}

type gitError struct {
	args   []string
	code   int
	stderr string
	err    error
}

func (e *gitError) Error() string {
	msg := fmt.Sprintf("git %s: %v", strings.Join(e.args, " "), e.err)
	if e.stderr != "" {
		msg += ": " + e.stderr
	}
	return msg
}

func (e *gitError) Unwrap() error { return e.err }

// run runs one git command in g.dir and returns its trimmed stdout.
func (g gitRunner) run(args ...string) (string, error) {
	full := append([]string{"-C", g.dir, "--no-optional-locks"}, args...)
	cmd := exec.CommandContext(g.ctx, g.path, full...)
	cmd.Env = g.env
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		ge := &gitError{args: args, code: -1, stderr: strings.TrimSpace(stderr.String()), err: err}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ge.code = ee.ExitCode()
		}
		if g.ctx.Err() != nil && g.parent.Err() == nil {
			ge.err = fmt.Errorf("timed out after %s", GitTimeout)
		}
		return "", ge
	}
	return strings.TrimRight(stdout.String(), "\n"), nil
}

// gitEnv is the environment without variables that would point git at
// another repository (a hook's GIT_DIR, say), with optional locks off,
// messages in English (we match one) and no credential prompts.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
			"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE",
			"GIT_OPTIONAL_LOCKS", "LC_ALL", "LANGUAGE", "GIT_TERMINAL_PROMPT":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C", "LANGUAGE=C", "GIT_TERMINAL_PROMPT=0")
}

// redactURL drops credentials from a remote URL: the password always, and
// the user name of http(s) URLs (where it is usually a token). scp-like
// "git@host:path" addresses carry no secret and stay as they are.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || u.Scheme == "" {
		return raw
	}
	switch u.Scheme {
	case "http", "https":
		u.User = nil
	default:
		u.User = url.User(u.User.Username())
	}
	return u.String()
}
