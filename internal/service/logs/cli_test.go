package logs

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hangarci/hangar/internal/logstore"
)

// awsCLI returns the path of an aws CLI whose version starts with prefix
// ("aws-cli/" for any, "aws-cli/2" for v2, which has `logs tail`).
func awsCLI(t *testing.T, prefix string) string {
	t.Helper()
	var candidates []string
	if p, err := exec.LookPath("aws"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/bin/aws", "/usr/local/bin/aws")
	for _, c := range candidates {
		out, err := exec.Command(c, "--version").CombinedOutput()
		if err == nil && strings.HasPrefix(string(out), prefix) {
			return c
		}
	}
	t.Skipf("no aws CLI with version %s* found", prefix)
	return ""
}

// cliEnv is an environment in which the CLI uses dummy credentials and
// nothing from the user's configuration.
func cliEnv(t *testing.T) []string {
	home := t.TempDir()
	env := []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=AKIDTEST",
		"AWS_SECRET_ACCESS_KEY=secret",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		// tail writes to a pipe here: unbuffered, lines show as they come.
		"PYTHONUNBUFFERED=1",
	}
	// pyenv shims need their root to find the interpreter.
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func runCLI(t *testing.T, cli, endpoint string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args = append(args, "--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json")
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Env = cliEnv(t)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

func TestAWSCLI(t *testing.T) {
	cli := awsCLI(t, "aws-cli/")
	f := newFixture(t)
	base := time.Now().UnixMilli() - 5000
	f.put(t, "/aws/codebuild/app", "build-1", "line", base, 0, 250)
	f.put(t, "/aws/codebuild/app", "build-2", "other", base, 0, 50)

	var get struct {
		Events []struct {
			Timestamp     int64
			Message       string
			IngestionTime int64
		} `json:"events"`
		NextForwardToken  string `json:"nextForwardToken"`
		NextBackwardToken string `json:"nextBackwardToken"`
	}
	out := runCLI(t, cli, f.url, "logs", "get-log-events", "--log-group-name", "/aws/codebuild/app",
		"--log-stream-name", "build-1", "--start-from-head", "--limit", "100")
	if err := json.Unmarshal(out, &get); err != nil {
		t.Fatalf("get-log-events output: %v\n%s", err, out)
	}
	if len(get.Events) != 100 || get.Events[0].Message != "line 0\n" || get.Events[0].Timestamp != base || get.NextForwardToken != "f/100" {
		t.Fatalf("get-log-events: %d events, first %+v, token %s", len(get.Events), get.Events[0], get.NextForwardToken)
	}

	// filter-log-events pages by itself (the CLI's paginator follows
	// nextToken); a small page size makes it take many pages.
	var filter struct {
		Events []struct {
			LogStreamName string `json:"logStreamName"`
			Message       string `json:"message"`
			EventID       string `json:"eventId"`
		} `json:"events"`
	}
	run := func() []string {
		out := runCLI(t, cli, f.url, "logs", "filter-log-events", "--log-group-name", "/aws/codebuild/app",
			"--filter-pattern", `?"line 1" ?"other 4"`, "--page-size", "7")
		if err := json.Unmarshal(out, &filter); err != nil {
			t.Fatalf("filter-log-events output: %v\n%s", err, out)
		}
		var ids []string
		for _, e := range filter.Events {
			ids = append(ids, e.LogStreamName+" "+e.EventID+" "+strings.TrimSpace(e.Message))
		}
		return ids
	}
	first := run()
	// "line 1", "line 10".."line 19", "line 100".."line 199"; "other 4", "other 40".."other 49".
	if len(first) != 111+11 {
		t.Fatalf("filter-log-events returned %d events:\n%s", len(first), strings.Join(first, "\n"))
	}
	if second := run(); strings.Join(second, "\n") != strings.Join(first, "\n") {
		t.Fatal("filter-log-events: events or ids differ between calls")
	}
}

// TestAWSCLITailFollow runs `aws logs tail --follow` (CLI v2) while a build
// writes, as a user watching a build does: every line shows once.
func TestAWSCLITailFollow(t *testing.T) {
	cli := awsCLI(t, "aws-cli/2")
	f := newFixture(t)
	ctx := context.Background()
	lw, err := logstore.NewLineWriter(ctx, f.store, "/aws/codebuild/app", "build-1", logstore.NewMasker("s3cr3t-token"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lw.Close()
	for i := range 20 {
		fmt.Fprintf(lw, "before %d s3cr3t-token\n", i)
	}
	lw.Flush()

	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, cli, "logs", "tail", "/aws/codebuild/app", "--follow", "--format", "short",
		"--endpoint-url", f.url, "--region", "us-east-1")
	cmd.Env = cliEnv(t)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var got []string
	want := 20
	wroteMore := false
	timeout := time.After(90 * time.Second)
	for len(got) < want {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("tail exited after %d lines: %s", len(got), stderr.String())
			}
			// "<timestamp> <message>"
			_, msg, _ := strings.Cut(l, " ")
			got = append(got, msg)
		case <-timeout:
			t.Fatalf("tail showed %d of %d lines: %q\n%s", len(got), want, got, stderr.String())
		}
		if len(got) == 20 && !wroteMore {
			// Written after tail has polled once: it must pick these up on
			// a later poll (every 5 s) without repeating the earlier ones.
			wroteMore = true
			for i := range 5 {
				fmt.Fprintf(lw, "after %d\n", i)
			}
			lw.Flush()
			want = 25
		}
	}
	for i, m := range got {
		w := fmt.Sprintf("before %d ***", i)
		if i >= 20 {
			w = fmt.Sprintf("after %d", i-20)
		}
		if m != w {
			t.Fatalf("line %d = %q, want %q (all: %q)", i, m, w, got)
		}
	}
	// Nothing repeated after another poll.
	select {
	case l := <-lines:
		t.Fatalf("extra line %q", l)
	case <-time.After(6 * time.Second):
	}
}
