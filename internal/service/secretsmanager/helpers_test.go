package secretsmanager

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/seal"
	"github.com/hangarci/hangar/internal/store"
)

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type env struct {
	dir    string
	db     *store.DB
	svc    *Service
	url    string
	client *awssm.Client
	logs   *syncBuffer
	clock  *clock
}

// clock is a settable time source, so that recovery windows can pass.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var testNames = model.Names{Region: "us-east-1", Account: model.Account}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "hangar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := seal.LoadOrCreateKey(filepath.Join(t.TempDir(), "seal.key"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	clk := &clock{now: time.Now()}
	svc := New(Config{DB: db, Sealer: key, Names: testNames, Log: slogTo(logs), Now: clk.Now})
	srv := httptest.NewServer(svc.API(nil))
	t.Cleanup(srv.Close)
	client := awssm.New(awssm.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDHANGARTEST", "hangar-test-secret", ""),
		RetryMaxAttempts: 1,
	})
	return &env{dir: dir, db: db, svc: svc, url: srv.URL, client: client, logs: logs, clock: clk}
}

// wantAPIError checks that err is the AWS error code and that its message
// contains msg.
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v; want %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("err = %s: %q; want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// awsEnv returns the environment for the aws CLI and boto3: this process's
// (pyenv needs it) without any AWS settings of the machine.
func awsEnv(t *testing.T) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	dir := t.TempDir()
	return append(env,
		"AWS_ACCESS_KEY_ID=AKIDHANGARTEST",
		"AWS_SECRET_ACCESS_KEY=hangar-test-secret",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_MAX_ATTEMPTS=1",
	)
}

// runAWS runs the aws CLI against url and returns stdout, stderr and the
// exit code.
func runAWS(t *testing.T, url string, args ...string) (string, string, int) {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append(args, "--endpoint-url", url, "--region", "us-east-1")
	if !slices.Contains(args, "--output") {
		args = append(args, "--output", "json")
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = awsEnv(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run aws %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// runPython runs a python3 script with the endpoint URL as argv[1] and
// returns its stdout; boto3 must be importable.
func runPython(t *testing.T, url, script string) string {
	t.Helper()
	path, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-c", script, url)
	cmd.Env = awsEnv(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(stderr.String(), "No module named 'boto3'") {
			t.Skip("boto3 not installed")
		}
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	return stdout.String()
}

// dbBytes returns the bytes of every file of the SQLite database in dir
// (main file, WAL, shared memory).
func dbBytes(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "hangar.db") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
	}
	return all
}
