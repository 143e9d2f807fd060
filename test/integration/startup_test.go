package integration

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/codebuild"
)

// TestStartup checks how `hangar server` starts and stops: ready in under a
// second, a 0600 credentials file with a [default] profile that clients
// use, an unauthenticated health check, and a clean exit on SIGTERM.
func TestStartup(t *testing.T) {
	r := StartRunner(t)
	t.Logf("fresh state dir: ready %v after the process started", r.Startup)
	if r.Startup >= time.Second {
		t.Errorf("ready after %v on a fresh state dir, want < 1s", r.Startup)
	}
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(r.Endpoint) {
		t.Errorf("endpoint %q", r.Endpoint)
	}

	fi, err := os.Stat(r.CredentialsFile())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", fi.Mode().Perm())
	}
	b, err := os.ReadFile(r.CredentialsFile())
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)\A\[default\]\naws_access_key_id = AKIA[A-Z2-7]{16}\naws_secret_access_key = [A-Za-z0-9+/]{40}\n\z`).Match(b) {
		t.Errorf("credentials file:\n%s", b)
	}
	// The SDK reads that file (the harness points it there).
	if _, err := r.CodeBuild().ListProjects(bg, &codebuild.ListProjectsInput{}); err != nil {
		t.Errorf("SDK with the runner's credentials file: %v", err)
	}

	for _, method := range []string{http.MethodGet, http.MethodHead} {
		raw := r.Do(nil, "", method, "/_hangar/health", nil, nil)
		if raw.Status != 200 || method == http.MethodGet && !strings.Contains(string(raw.Body), `"status":"ok"`) {
			t.Errorf("%s health without auth: %d %s", method, raw.Status, raw.Body)
		}
	}

	// SIGTERM: exit status 0, promptly.
	began := time.Now()
	r.Stop()
	stopped := time.Since(began)
	t.Logf("stopped %v after SIGTERM", stopped)
	if err := r.ExitErr(); err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
	if stopped > 2*time.Second {
		t.Errorf("took %v to stop after SIGTERM", stopped)
	}
	if _, err := http.Get(r.Endpoint + "/_hangar/health"); err == nil {
		t.Errorf("still serving after SIGTERM")
	}

	// A restart on the same state dir is as quick, keeps the key and the
	// file, and stops as cleanly.
	r.Start()
	t.Logf("restart: ready %v after the process started", r.Startup)
	if r.Startup >= time.Second {
		t.Errorf("ready after %v on restart, want < 1s", r.Startup)
	}
	if b2, _ := os.ReadFile(r.CredentialsFile()); string(b2) != string(b) {
		t.Errorf("restart rewrote the credentials file")
	}
	if _, err := r.CodeBuild().ListProjects(bg, &codebuild.ListProjectsInput{}); err != nil {
		t.Errorf("key after restart: %v", err)
	}
	r.Stop()
	if err := r.ExitErr(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// TestStartupDefaults runs `hangar server` with no flags but a state dir
// from the environment: it serves on 127.0.0.1:4480 and keeps its state in
// $XDG_STATE_HOME/hangar.
func TestStartupDefaults(t *testing.T) {
	if c, err := (&http.Client{Timeout: 200 * time.Millisecond}).Get("http://127.0.0.1:4480/_hangar/health"); err == nil {
		c.Body.Close()
		t.Skip("something already listens on 127.0.0.1:4480")
	}
	state := t.TempDir()
	cmd := exec.Command(hangarBin, "server")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		err := cmd.Wait()
		if strings.Contains(stderr.String(), "address already in use") {
			t.Skip("127.0.0.1:4480 was taken meanwhile")
		}
		t.Fatalf("no output: %v\n%s", err, stderr.String())
	}
	ready := time.Since(began)
	if sc.Text() != "endpoint: http://127.0.0.1:4480" {
		t.Errorf("first line %q, want the default endpoint", sc.Text())
	}
	if ready >= time.Second {
		t.Errorf("ready after %v", ready)
	}
	if _, err := os.Stat(state + "/hangar/credentials"); err != nil {
		t.Errorf("no credentials in $XDG_STATE_HOME/hangar: %v", err)
	}
	go func() {
		for sc.Scan() {
		}
	}()
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGINT: %v", err)
	}
}
