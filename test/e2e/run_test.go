package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExitCodes: the command's own exit status is hangar's, on the
// embedded runner and on a separate server.
func TestExitCodes(t *testing.T) {
	srv := StartServer(t)
	for name, tg := range map[string]Target{"embedded": Embedded(), "server": srv.Target()} {
		t.Run(name, func(t *testing.T) {
			tr := NewTree(t, map[string]string{"data.txt": "payload\n", "bin/tool.sh*": "#!/bin/sh\necho tool ran \"$@\"\n"}, "")
			r := Hangar(t, tg, tr.Dir, nil, "run", "--", "true")
			WantCode(t, r, 0)
			if !strings.Contains(r.Stderr, "SUCCEEDED") {
				t.Errorf("no summary:\n%s", r)
			}
			r = Hangar(t, tg, tr.Dir, nil, "run", "--", "sh", "-c", "exit 7")
			WantCode(t, r, 7)
			if !strings.Contains(r.Stderr, "Reason: exit status 7") {
				t.Errorf("failure not shown:\n%s", r)
			}
			WantCode(t, Hangar(t, tg, tr.Dir, nil, "run", "--", "false"), 1)
			WantCode(t, Hangar(t, tg, tr.Dir, nil, "run", "--", "sh", "-c", "exit 255"), 255)
			// The tree arrives: content and the exec bit; argv quoting holds.
			r = Hangar(t, tg, tr.Dir, nil, "run", "--", "sh", "-c", `cat data.txt && ./bin/tool.sh "a b" 'c'"'"'d'`)
			WantCode(t, r, 0)
			if got := UserLines(r.Stdout); strings.Join(got, "|") != "payload|tool ran a b c'd" {
				t.Errorf("build saw %q\n%s", got, r)
			}
		})
	}
}

// TestTimeoutExit124 uses a server whose minute is 100ms: --timeout 5 ends
// the build after half a second.
func TestTimeoutExit124(t *testing.T) {
	srv := StartServer(t, "--minute", "100ms")
	tr := NewTree(t, nil, "")
	r := Hangar(t, srv.Target(), tr.Dir, nil, "run", "--timeout", "5", "--", "sleep", "30")
	WantCode(t, r, 124)
	if r.Took > 20*time.Second || !strings.Contains(r.Stderr, "TIMED_OUT") {
		t.Fatalf("timed out how?\n%s", r)
	}
}

// TestStopExit143: `hangar stop` with no argument, from another process,
// stops the build this tree started; the run exits 143.
func TestStopExit143(t *testing.T) {
	tr := NewTree(t, nil, "")
	run := Start(t, Embedded(), tr.Dir, nil, "run", "--", "sh", "-c", "echo begun; sleep 60")
	run.WaitFor("\nbegun\n", 30*time.Second)
	_, errs := run.Output()
	id := StartedID(t, errs)
	stop := Hangar(t, Embedded(), tr.Dir, nil, "stop")
	WantCode(t, stop, 0)
	if !strings.Contains(stop.Stdout, id+" STOPPED") {
		t.Fatalf("stop did not report the build stopped:\n%s", stop)
	}
	r := run.Wait(30 * time.Second)
	WantCode(t, r, 143)
	// Stopping again says it had ended.
	again := Hangar(t, Embedded(), tr.Dir, nil, "stop", id)
	WantCode(t, again, 0)
	if !strings.Contains(again.Stdout, "already ended: STOPPED") {
		t.Fatalf("second stop:\n%s", again)
	}
}

// TestCtrlCDetaches130: SIGINT detaches; the build goes on; logs --follow
// reattaches and prints the whole log; stop (no argument) stops it and the
// reattached follower exits 143.
func TestCtrlCDetaches130(t *testing.T) {
	tr := NewTree(t, nil, "")
	run := Start(t, Embedded(), tr.Dir, nil, "run", "--", "sh", "-c", "echo first; sleep 2; echo second; sleep 60")
	run.WaitFor("\nfirst\n", 30*time.Second)
	_, errs := run.Output()
	id := StartedID(t, errs)
	run.cmd.Process.Signal(os.Interrupt)
	r := run.Wait(10 * time.Second)
	WantCode(t, r, 130)
	for _, want := range []string{"hangar logs " + id + " --follow", "hangar stop"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("detach message lacks %q:\n%s", want, r)
		}
	}
	// Still running.
	st := Hangar(t, Embedded(), tr.Dir, nil, "status", id, "--output", "json")
	WantCode(t, st, 0)
	var status struct {
		Status   string `json:"status"`
		Complete bool   `json:"complete"`
	}
	if err := json.Unmarshal([]byte(st.Stdout), &status); err != nil || status.Complete || status.Status != "IN_PROGRESS" {
		t.Fatalf("after Ctrl-C the build is %+v (%v):\n%s", status, err, st)
	}
	// Reattach: the log from the start, then live.
	follow := Start(t, Embedded(), tr.Dir, nil, "logs", id, "--follow")
	follow.WaitFor("\nsecond\n", 30*time.Second)
	stop := Hangar(t, Embedded(), tr.Dir, nil, "stop")
	WantCode(t, stop, 0)
	fr := follow.Wait(30 * time.Second)
	WantCode(t, fr, 143)
	if got := UserLines(fr.Stdout); strings.Join(got, "|") != "first|second" {
		t.Fatalf("reattached log %q:\n%s", got, fr)
	}
	// Without --follow: what there is, exit 0.
	lg := Hangar(t, Embedded(), tr.Dir, nil, "logs", id)
	WantCode(t, lg, 0)
	if !strings.Contains(lg.Stdout, "first\n") {
		t.Fatalf("logs:\n%s", lg)
	}
}

// TestDetachFlag: --detach prints the id and returns at once.
func TestDetachFlag(t *testing.T) {
	tr := NewTree(t, nil, "")
	r := Hangar(t, Embedded(), tr.Dir, nil, "run", "--detach", "--", "sh", "-c", "sleep 1; echo done late")
	WantCode(t, r, 0)
	id := strings.TrimSpace(r.Stdout)
	if !strings.HasPrefix(id, tr.Name+"-dev-remote:") {
		t.Fatalf("--detach printed %q:\n%s", id, r)
	}
	fr := Hangar(t, Embedded(), tr.Dir, nil, "logs", id, "--follow")
	WantCode(t, fr, 0)
	if got := UserLines(fr.Stdout); len(got) != 1 || got[0] != "done late" {
		t.Fatalf("log %q", got)
	}
	// A bare uuid is found in the project too.
	_, uuid, _ := strings.Cut(id, ":")
	WantCode(t, Hangar(t, Embedded(), tr.Dir, nil, "status", uuid), 0)
}

// TestUnreachable125: a runner that cannot be reached is 125.
func TestUnreachable125(t *testing.T) {
	tr := NewTree(t, nil, "")
	tg := Target{Flags: []string{"--target", "server", "--endpoint", "http://127.0.0.1:1"}, Env: []string{"AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y"}}
	r := Hangar(t, tg, tr.Dir, nil, "run", "--", "true")
	WantCode(t, r, 125)
	WantCode(t, Hangar(t, tg, tr.Dir, nil, "builds"), 125)
}

// TestUsageErrors2: bad flags, bad config and bad arguments are 2, and
// nothing is started.
func TestUsageErrors2(t *testing.T) {
	tr := NewTree(t, nil, "")
	for name, args := range map[string][]string{
		"unknown flag":   {"run", "--no-such-flag", "--", "true"},
		"bad output":     {"run", "--output", "yaml", "--", "true"},
		"bad -e":         {"run", "-e", "NOVALUE", "--", "true"},
		"bad timeout":    {"run", "--timeout", "soon", "--", "true"},
		"no buildspec":   {"run"},
		"missing file":   {"run", "--buildspec", "nope.yml"},
		"artifacts":      {"run", "--artifacts", "out", "--", "true"},
		"lambda off":     {"run", "--lambda", "--", "true"},
		"logs no arg":    {"logs"},
		"stop two args":  {"stop", "a", "b"},
		"unknown build":  {"status", tr.Name + "-dev-remote:00000000-0000-0000-0000-000000000000"},
		"bad compute":    {"run", "--compute", "BUILD_NOPE", "--", "true"},
		"unknown target": {"run", "--target", "mars", "--", "true"},
	} {
		t.Run(name, func(t *testing.T) {
			r := Hangar(t, Embedded(), tr.Dir, nil, args...)
			WantCode(t, r, 2)
			if !strings.Contains(r.Stderr, "hangar:") {
				t.Errorf("no message:\n%s", r)
			}
		})
	}
	bad := NewTree(t, nil, "codebuild:\n  projcet:\n    timeout: 5\n")
	r := Hangar(t, Embedded(), bad.Dir, nil, "run", "--", "true")
	WantCode(t, r, 2)
	if !strings.Contains(r.Stderr, "hangar.yml:") {
		t.Errorf("config error does not name the file:\n%s", r)
	}
}

// TestLargeOutput: 200,000 numbered lines arrive complete and in order.
func TestLargeOutput(t *testing.T) {
	tr := NewTree(t, nil, "")
	const n = 200_000
	r := Hangar(t, Embedded(), tr.Dir, nil, "run", "--", "seq", "1", strconv.Itoa(n))
	WantCode(t, r, 0)
	lines := UserLines(r.Stdout)
	if len(lines) != n {
		t.Fatalf("%d lines arrived, want %d", len(lines), n)
	}
	for i, l := range lines {
		if l != strconv.Itoa(i+1) {
			t.Fatalf("line %d is %q", i+1, l)
		}
	}
}

// TestSecondRunSendsOneFile: after a one-file change only that file (and
// the manifest) is sent.
func TestSecondRunSendsOneFile(t *testing.T) {
	files := map[string]string{}
	var total int64
	for i := range 300 {
		b := make([]byte, 4096)
		rand.Read(b)
		files[fmt.Sprintf("src/d%02d/f%03d.bin", i%10, i)] = string(b)
		total += 4096
	}
	tr := NewTree(t, files, "")
	first := ParseRunJSON(t, Hangar(t, Embedded(), tr.Dir, nil, "run", "--output", "json", "--", "true"))
	if first.Upload.BlobsSent < 300 || first.BytesSent < total {
		t.Fatalf("first run sent %d blobs, %d bytes; want ≥300, ≥%d", first.Upload.BlobsSent, first.BytesSent, total)
	}
	// Unchanged: the runner has the manifest already; nothing is sent.
	same := ParseRunJSON(t, Hangar(t, Embedded(), tr.Dir, nil, "run", "--output", "json", "--", "sh", "-c", "test $(ls src/d03 | wc -l) = 30"))
	if same.ExitCode != 0 || same.Upload.BlobsSent != 0 || same.BytesSent != 0 || same.Source.Location != first.Source.Location {
		t.Fatalf("unchanged tree: exit %d, sent %d, %+v", same.ExitCode, same.BytesSent, same.Upload)
	}
	changed := make([]byte, 5000)
	rand.Read(changed)
	tr.Write(string(changed), "src/d03/f013.bin")
	second := ParseRunJSON(t, Hangar(t, Embedded(), tr.Dir, nil, "run", "--output", "json", "--", "sh", "-c", "test $(wc -c < src/d03/f013.bin) = 5000"))
	if second.ExitCode != 0 {
		t.Fatalf("the changed file did not arrive: %+v", second)
	}
	if second.Upload.BlobsSent != 1 || second.BytesSent != 5000+second.Upload.ManifestBytes {
		t.Fatalf("second run sent %d blobs, %d bytes (manifest %d); want 1 blob of 5000 bytes", second.Upload.BlobsSent, second.BytesSent, second.Upload.ManifestBytes)
	}
}

// TestBuildspecWhenNoCommand: no COMMAND runs the tree's buildspec.yml;
// --buildspec runs another file.
func TestBuildspecWhenNoCommand(t *testing.T) {
	tr := NewTree(t, map[string]string{
		"buildspec.yml": "version: 0.2\nphases:\n  pre_build:\n    commands:\n      - export GREETING=hello\n  build:\n    commands:\n      - echo \"$GREETING from buildspec\"\n      - exit 3\n",
		"ci/other.yml":  "version: 0.2\nphases:\n  build:\n    commands:\n      - echo other spec\n",
	}, "")
	r := Hangar(t, Embedded(), tr.Dir, nil, "run")
	WantCode(t, r, 3)
	if got := UserLines(r.Stdout); len(got) != 1 || got[0] != "hello from buildspec" {
		t.Fatalf("buildspec run printed %q\n%s", got, r)
	}
	r = Hangar(t, Embedded(), tr.Dir, nil, "run", "--buildspec", "ci/other.yml")
	WantCode(t, r, 0)
	if got := UserLines(r.Stdout); len(got) != 1 || got[0] != "other spec" {
		t.Fatalf("--buildspec run printed %q\n%s", got, r)
	}
}

// TestEnvRules: pass (exact and /regex/), block winning, -e, and the
// runner's own HANGAR_SOURCE reach (or not) the build.
func TestEnvRules(t *testing.T) {
	tr := NewTree(t, nil, "codebuild:\n  project:\n    env:\n      pass: [E2E_PASSED, /^E2E_RE_/]\n      block: [E2E_RE_BLOCKED]\n")
	local := []string{"E2E_PASSED=p1", "E2E_RE_ONE=r1", "E2E_RE_BLOCKED=secret", "E2E_NOT_LISTED=n1", "HANGAR_SOURCE=local-must-not-win"}
	r := Hangar(t, Embedded(), tr.Dir, local, "run", "-e", "E2E_EXPLICIT=x y", "-e", "E2E_RE_BLOCKED=asked", "--", "sh", "-c",
		`for v in E2E_PASSED E2E_RE_ONE E2E_RE_BLOCKED E2E_NOT_LISTED E2E_EXPLICIT; do eval "echo $v=\${$v-unset}"; done; echo "src=$HANGAR_SOURCE"`)
	WantCode(t, r, 0)
	got := UserLines(r.Stdout)
	want := []string{"E2E_PASSED=p1", "E2E_RE_ONE=r1", "E2E_RE_BLOCKED=asked", "E2E_NOT_LISTED=unset", "E2E_EXPLICIT=x y"}
	if len(got) != 6 || strings.Join(got[:5], "|") != strings.Join(want, "|") {
		t.Fatalf("build saw %q, want %q then src=", got, want)
	}
	if !strings.HasPrefix(got[5], "src=s3://") || !strings.HasSuffix(got[5], ".hangar-manifest.json") {
		t.Fatalf("HANGAR_SOURCE in the build: %q", got[5])
	}
	// Without -e the blocked one stays out.
	r = Hangar(t, Embedded(), tr.Dir, local, "run", "--", "sh", "-c", `echo "b=${E2E_RE_BLOCKED-unset}"`)
	WantCode(t, r, 0)
	if got := UserLines(r.Stdout); len(got) != 1 || got[0] != "b=unset" {
		t.Fatalf("blocked variable reached the build: %q", got)
	}
}

// TestJSONOutput: stdout is one JSON object; the log goes to stderr.
func TestJSONOutput(t *testing.T) {
	tr := NewTree(t, map[string]string{"a.txt": "a\n"}, "")
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@e", "-c", "init.defaultBranch=trunk"}, args...)...)
		cmd.Dir = tr.Dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "first")
	r := Hangar(t, Embedded(), tr.Dir, nil, "run", "--output", "json", "--", "sh", "-c", "echo to-the-log; exit 4")
	WantCode(t, r, 4)
	v := ParseRunJSON(t, r)
	if v.Status != "FAILED" || v.ExitCode != 4 || !strings.HasPrefix(v.BuildID, tr.Name+"-dev-remote:") || v.Project != tr.Name+"-dev-remote" {
		t.Fatalf("json %+v", v)
	}
	if v.Command != "sh -c 'echo to-the-log; exit 4'" || v.RunID == "" || v.Log.Lines == 0 {
		t.Fatalf("json %+v", v)
	}
	if v.Git == nil || v.Git.Branch != "trunk" || len(v.Git.SHA) != 40 || v.Git.Dirty {
		t.Fatalf("git %+v", v.Git)
	}
	if v.Source.Files != 2 || !strings.HasSuffix(v.Source.Location, ".hangar-manifest.json") {
		t.Fatalf("source %+v", v.Source)
	}
	var build *struct {
		Type       string  `json:"type"`
		Status     string  `json:"status"`
		DurationMs float64 `json:"durationMs"`
		Context    string  `json:"context"`
	}
	for i := range v.Phases {
		if v.Phases[i].Type == "BUILD" {
			build = &v.Phases[i]
		}
	}
	if build == nil || build.Status != "FAILED" || !strings.Contains(build.Context, "Reason: exit status 4") {
		t.Fatalf("phases %+v", v.Phases)
	}
	for _, k := range []string{"scan", "connect", "upload", "start", "follow", "total"} {
		if _, ok := v.Timings[k]; !ok {
			t.Errorf("no timing %s in %v", k, v.Timings)
		}
	}
	if !strings.Contains(r.Stderr, "to-the-log") {
		t.Errorf("log not on stderr:\n%s", r)
	}
}

// TestBuildsAndStatus lists builds of both projects and shows one.
func TestBuildsAndStatus(t *testing.T) {
	tr := NewTree(t, nil, "codebuild:\n  lambda:\n    enable: true\n")
	a := ParseRunJSON(t, Hangar(t, Embedded(), tr.Dir, nil, "run", "-o", "json", "--", "true"))
	b := ParseRunJSON(t, Hangar(t, Embedded(), tr.Dir, nil, "run", "-o", "json", "--lambda", "--", "sh", "-c", "exit 5"))
	if b.Project != tr.Name+"-dev-remote-lambda" || b.ExitCode != 5 {
		t.Fatalf("lambda run %+v", b)
	}
	r := Hangar(t, Embedded(), tr.Dir, nil, "builds")
	WantCode(t, r, 0)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "BUILD") || !strings.HasPrefix(lines[1], b.BuildID) || !strings.HasPrefix(lines[2], a.BuildID) {
		t.Fatalf("builds:\n%s", r)
	}
	if !strings.Contains(lines[1], "FAILED") || !strings.Contains(lines[2], "SUCCEEDED") {
		t.Fatalf("builds:\n%s", r)
	}
	st := Hangar(t, Embedded(), tr.Dir, nil, "status", b.BuildID)
	WantCode(t, st, 0)
	for _, want := range []string{"FAILED (exit code 5)", "BUILD", "Reason: exit status 5", "DOWNLOAD_SOURCE"} {
		if !strings.Contains(st.Stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, st)
		}
	}
	// stop with no argument goes to the last build, in the Lambda project.
	stop := Hangar(t, Embedded(), tr.Dir, nil, "stop")
	WantCode(t, stop, 0)
	if !strings.Contains(stop.Stdout, b.BuildID) {
		t.Fatalf("stop picked another build:\n%s", stop)
	}
}

// TestInterruptedRunIsNotSuccess: SIGINT right after the start is a
// detach (130), never a success (Jets exits 0); the build is stoppable.
func TestInterruptedRunIsNotSuccess(t *testing.T) {
	tr := NewTree(t, nil, "")
	run := Start(t, Embedded(), tr.Dir, nil, "run", "--", "sleep", "30")
	run.WaitFor("hangar: started", 30*time.Second)
	run.cmd.Process.Signal(syscall.SIGINT)
	r := run.Wait(10 * time.Second)
	WantCode(t, r, 130)
	WantCode(t, Hangar(t, Embedded(), tr.Dir, nil, "stop"), 0)
}

// TestArchiveUpload runs the AWS upload path (one zip under hangar/code/)
// against a runner: the tree arrives with its exec bits and symlinks.
func TestArchiveUpload(t *testing.T) {
	tr := NewTree(t, map[string]string{"run.sh*": "#!/bin/sh\necho archive ok\n", "dir/data.txt": "data\n"}, "")
	if err := os.Symlink("dir/data.txt", tr.Dir+"/link"); err != nil {
		t.Fatal(err)
	}
	r := Hangar(t, Embedded(), tr.Dir, nil, "run", "--upload", "archive", "-o", "json", "--", "sh", "-c", "./run.sh && cat link && test -L link")
	WantCode(t, r, 0)
	v := ParseRunJSON(t, r)
	if !strings.Contains(v.Source.Location, "/hangar/code/") || !strings.HasSuffix(v.Source.Location, "-nobranch-nocommit.zip") {
		t.Fatalf("archive location %s", v.Source.Location)
	}
	if v.BytesSent == 0 || v.BytesSent != v.Upload.ManifestBytes {
		t.Fatalf("upload %+v, bytesSent %d", v.Upload, v.BytesSent)
	}
	if got := UserLines(r.Stderr); !strings.Contains(strings.Join(got, "\n"), "archive ok\ndata") {
		t.Fatalf("build output %q", got)
	}
}
