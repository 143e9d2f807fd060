// Package e2e runs the real hangar binary the way users do: `hangar run`
// and its companions against the embedded runner (started on demand in a
// temporary state dir) and against a separately started `hangar server`.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	// hangarBin is the binary under test, built once.
	hangarBin string
	// userDirs holds the XDG state and cache dirs every hangar run gets,
	// so no test touches the user's own; the embedded runner lives there.
	userDirs string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hangar-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	hangarBin = filepath.Join(dir, "hangar")
	build := exec.Command("go", "build", "-o", hangarBin, "../../cmd/hangar")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hangar:", err)
		return 1
	}
	userDirs = filepath.Join(dir, "user")
	defer stopEmbedded(filepath.Join(userDirs, "state", "hangar"))
	return m.Run()
}

// stopEmbedded ends the embedded runner of a state dir, if one runs: its
// pid is the second field of the endpoint file.
func stopEmbedded(state string) {
	b, err := os.ReadFile(filepath.Join(state, "endpoint"))
	if err != nil {
		return
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil || pid <= 1 {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for range 200 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// Target is how a test reaches a runner: extra global flags and
// environment for every hangar command.
type Target struct {
	Flags []string
	Env   []string
}

// Embedded is the shared embedded runner.
func Embedded() Target { return Target{} }

// Server is a `hangar server` process started by a test.
type Server struct {
	State, Endpoint string
	cmd             *exec.Cmd
	done            chan struct{}
	log             *bytes.Buffer
}

// StartServer starts `hangar server` with extra flags; it is stopped when
// the test ends.
func StartServer(t *testing.T, args ...string) *Server {
	t.Helper()
	s := &Server{State: t.TempDir(), log: new(bytes.Buffer), done: make(chan struct{})}
	cmd := exec.Command(hangarBin, append([]string{"server", "--listen", "127.0.0.1:0", "--state", s.State}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &lockedBuffer{b: s.log}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-s.done
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if ep, ok := strings.CutPrefix(sc.Text(), "endpoint: "); ok {
				ready <- ep
			}
		}
	}()
	select {
	case s.Endpoint = <-ready:
	case <-time.After(15 * time.Second):
		t.Fatalf("hangar server not ready:\n%s", s.log)
	}
	return s
}

// Target reaches this server the way a user would: --target server, the
// endpoint, and the server's credentials file.
func (s *Server) Target() Target {
	return Target{
		Flags: []string{"--target", "server", "--endpoint", s.Endpoint},
		Env:   []string{"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(s.State, "credentials"), "AWS_CONFIG_FILE=/dev/null", "AWS_PROFILE=default"},
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Tree is a working tree with its own hangar.yml.
type Tree struct {
	t    *testing.T
	Dir  string
	Name string // project name
}

// NewTree makes a tree with the given files (path → content; a path ending
// in "*" is made executable) and a hangar.yml naming a project unique to
// the test, plus yml.
func NewTree(t *testing.T, files map[string]string, yml string) *Tree {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	tr := &Tree{t: t, Dir: t.TempDir(), Name: name}
	tr.Write(config(name, yml), "hangar.yml")
	for p, content := range files {
		tr.Write(content, p)
	}
	return tr
}

func config(name, extra string) string { return "project: " + name + "\n" + extra }

// Write writes one file of the tree (path ending in "*": executable).
func (tr *Tree) Write(content, path string) {
	tr.t.Helper()
	mode := os.FileMode(0o644)
	if p, ok := strings.CutSuffix(path, "*"); ok {
		path, mode = p, 0o755
	}
	full := filepath.Join(tr.Dir, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		tr.t.Fatal(err)
	}
}

// Result is a finished hangar command.
type Result struct {
	Stdout, Stderr string
	Code           int
	Took           time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d after %v\n--- stdout\n%s\n--- stderr\n%s", r.Code, r.Took, clip(r.Stdout), clip(r.Stderr))
}

func clip(s string) string {
	if len(s) > 4000 {
		return s[:2000] + "\n…\n" + s[len(s)-2000:]
	}
	return s
}

// Command makes a hangar command in dir for target, with env added.
func Command(ctx context.Context, tg Target, dir string, env []string, args ...string) *exec.Cmd {
	full := append(append([]string{}, args[:min(1, len(args))]...), tg.Flags...)
	full = append(full, args[min(1, len(args)):]...)
	cmd := exec.CommandContext(ctx, hangarBin, full...)
	cmd.Dir = dir
	cmd.Env = append(append(baseEnv(), tg.Env...), env...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// baseEnv is the test process's environment without HANGAR_* and AWS
// credentials settings, with the XDG dirs pointed into the test's temp dir.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "HANGAR_") || strings.HasPrefix(k, "XDG_") ||
			k == "AWS_PROFILE" || k == "AWS_SHARED_CREDENTIALS_FILE" || k == "AWS_CONFIG_FILE" ||
			k == "AWS_ACCESS_KEY_ID" || k == "AWS_SECRET_ACCESS_KEY" || k == "AWS_SESSION_TOKEN" || k == "AWS_ENDPOINT_URL" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"XDG_STATE_HOME="+filepath.Join(userDirs, "state"),
		"XDG_CACHE_HOME="+filepath.Join(userDirs, "cache"),
	)
}

// Hangar runs a hangar command to its end (at most 2 minutes).
func Hangar(t *testing.T, tg Target, dir string, env []string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := Command(ctx, tg, dir, env, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	began := time.Now()
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String(), Took: time.Since(began)}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("hangar %v: %v", args, err)
		}
		r.Code = ee.ExitCode()
	}
	return r
}

// WantCode fails the test unless r exited with code.
func WantCode(t *testing.T, r Result, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("want exit code %d, got %s", code, r)
	}
}

// Running is a hangar command running in the background.
type Running struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	outb   *bytes.Buffer
	errb   *bytes.Buffer
	done   chan struct{}
	err    error
}

// Start starts a hangar command in the background.
func Start(t *testing.T, tg Target, dir string, env []string, args ...string) *Running {
	t.Helper()
	cmd := Command(context.Background(), tg, dir, env, args...)
	r := &Running{t: t, cmd: cmd, outb: new(bytes.Buffer), errb: new(bytes.Buffer), done: make(chan struct{})}
	r.stdout, r.stderr = &lockedBuffer{b: r.outb}, &lockedBuffer{b: r.errb}
	cmd.Stdout, cmd.Stderr = r.stdout, r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// Output returns what the command printed so far.
func (r *Running) Output() (stdout, stderr string) {
	r.stdout.mu.Lock()
	stdout = r.outb.String()
	r.stdout.mu.Unlock()
	r.stderr.mu.Lock()
	stderr = r.errb.String()
	r.stderr.mu.Unlock()
	return stdout, stderr
}

// WaitFor waits until stdout or stderr contains s.
func (r *Running) WaitFor(s string, timeout time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		out, errs := r.Output()
		if strings.Contains(out, s) || strings.Contains(errs, s) {
			return
		}
		select {
		case <-r.done:
			out, errs = r.Output()
			if strings.Contains(out, s) || strings.Contains(errs, s) {
				return
			}
			r.t.Fatalf("command ended before printing %q:\n%s\n%s", s, out, errs)
		case <-time.After(10 * time.Millisecond):
		}
	}
	out, errs := r.Output()
	r.t.Fatalf("no %q after %v:\n%s\n%s", s, timeout, out, errs)
}

// Wait waits for the command to end.
func (r *Running) Wait(timeout time.Duration) Result {
	r.t.Helper()
	select {
	case <-r.done:
	case <-time.After(timeout):
		r.cmd.Process.Kill()
		<-r.done
		out, errs := r.Output()
		r.t.Fatalf("command still running after %v:\n%s\n%s", timeout, out, errs)
	}
	out, errs := r.Output()
	res := Result{Stdout: out, Stderr: errs}
	if r.err != nil {
		if ee, ok := r.err.(*exec.ExitError); ok {
			res.Code = ee.ExitCode()
		}
	}
	return res
}

// StartedID is the build id a run printed ("hangar: started ID").
func StartedID(t *testing.T, stderr string) string {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		if id, ok := strings.CutPrefix(line, "hangar: started "); ok {
			return strings.TrimSpace(id)
		}
	}
	t.Fatalf("no started line in:\n%s", stderr)
	return ""
}

// UserLines are the log lines the build's commands printed: the log less
// CodeBuild's "[Container]" agent lines.
func UserLines(log string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		if !strings.HasPrefix(l, "[Container] ") && l != "" {
			out = append(out, l)
		}
	}
	return out
}

// RunJSON is the --output json object, as far as tests read it.
type RunJSON struct {
	BuildID   string `json:"buildId"`
	Project   string `json:"project"`
	RunID     string `json:"runId"`
	Command   string `json:"command"`
	Status    string `json:"status"`
	ExitCode  int    `json:"exitCode"`
	Detached  bool   `json:"detached"`
	BytesSent int64  `json:"bytesSent"`
	Phases    []struct {
		Type       string  `json:"type"`
		Status     string  `json:"status"`
		DurationMs float64 `json:"durationMs"`
		Context    string  `json:"context"`
	} `json:"phases"`
	Upload struct {
		Blobs         int   `json:"blobs"`
		BlobsSent     int   `json:"blobsSent"`
		BytesSent     int64 `json:"bytesSent"`
		ManifestBytes int64 `json:"manifestBytes"`
	} `json:"upload"`
	Source struct {
		Location string `json:"location"`
		Files    int    `json:"files"`
		Bytes    int64  `json:"bytes"`
	} `json:"source"`
	Git *struct {
		State  string `json:"state"`
		Branch string `json:"branch"`
		SHA    string `json:"sha"`
		Dirty  bool   `json:"dirty"`
	} `json:"git"`
	Log struct {
		Lines int `json:"lines"`
	} `json:"log"`
	Timings map[string]float64 `json:"timingsMs"`
}

// ParseRunJSON decodes stdout of `hangar run --output json`; stdout must be
// that one object and nothing else.
func ParseRunJSON(t *testing.T, r Result) RunJSON {
	t.Helper()
	var v RunJSON
	// Unmarshal refuses anything after the one value.
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, r)
	}
	return v
}
