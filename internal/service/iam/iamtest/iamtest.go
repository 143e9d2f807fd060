// Package iamtest runs the IAM and STS services behind SigV4 verification
// on a test listener, with the key store a runner uses (its own admin key,
// IAM users' keys, temporary credentials), for tests that drive them with
// the AWS SDK, the aws CLI and boto3.
package iamtest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/seal"
	"github.com/hangarci/hangar/internal/service/iam"
	"github.com/hangarci/hangar/internal/service/sts"
	"github.com/hangarci/hangar/internal/store"
)

// The runner's own (admin) key, as `hangar server` makes it.
const (
	AdminKeyID  = "AKIAHANGARTESTADMIN1"
	AdminSecret = "hangar/test+admin/secret/000000000000000"
	AdminUser   = "hangar"
)

// Names returns the test runner's ARN parts.
func Names() model.Names { return model.Names{Region: "us-east-1", Account: model.Account} }

// Clock is the services' clock (not request verification's); tests move
// it to issue credentials that have expired.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the time, shifted.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Shift moves the clock.
func (c *Clock) Shift(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Env is a running IAM and STS endpoint.
type Env struct {
	Dir   string // holds the database
	DB    *store.DB
	Seal  *seal.Key
	IAM   *iam.Service
	STS   *sts.Service
	URL   string
	Clock *Clock
}

// Options adjust an Env.
type Options struct {
	// Authorize is handed to sts.Config.
	Authorize func(ctx context.Context, c awsapi.Caller, action, resource string) (bool, error)
}

// New starts an Env; everything stops when the test ends.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, "hangar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := seal.LoadOrCreateKey(filepath.Join(t.TempDir(), "seal.key"))
	if err != nil {
		t.Fatal(err)
	}
	err = db.PutAccessKey(ctx, store.AccessKey{ID: AdminKeyID, Secret: key.Seal([]byte(AdminSecret)), User: AdminUser,
		Status: "Active", Created: time.Now().UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	clock := &Clock{}
	iamSvc, err := iam.New(iam.Config{DB: db, Sealer: key, Names: Names(), Log: log, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	stsSvc := sts.New(sts.Config{IAM: iamSvc, DB: db, Sealer: key, Names: Names(), Log: log, Now: clock.Now, Authorize: opts.Authorize})
	e := &Env{Dir: dir, DB: db, Seal: key, IAM: iamSvc, STS: stsSvc, Clock: clock}
	// Request verification keeps the real time, so that a shifted Clock
	// issues credentials that are expired (or not) by the wall clock
	// clients sign with.
	mux := awsapi.NewMux(log, awsapi.Authenticate(awsapi.KeyStoreFunc(e.lookup), awsapi.WithAuthLogger(log)))
	iamAPI, err := iamSvc.API()
	if err != nil {
		t.Fatal(err)
	}
	stsAPI, err := stsSvc.API()
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleQuery(iamAPI)
	mux.HandleQuery(stsAPI)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
}

// lookup is the key store a runner needs: temporary credentials (ASIA…),
// IAM users' keys, and the runner's own keys, which are admin.
func (e *Env) lookup(ctx context.Context, id string) (awsapi.AccessKey, error) {
	if strings.HasPrefix(id, "ASIA") {
		return e.STS.LookupAccessKey(ctx, id)
	}
	k, err := e.IAM.LookupAccessKey(ctx, id)
	if !errors.Is(err, awsapi.ErrUnknownAccessKey) {
		return k, err
	}
	rk, err := e.DB.IAMAccessKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (rk.UserID != "" || rk.Status != "Active") {
		return awsapi.AccessKey{}, awsapi.ErrUnknownAccessKey
	}
	if err != nil {
		return awsapi.AccessKey{}, err
	}
	secret, err := e.Seal.Open(rk.Secret)
	if err != nil {
		return awsapi.AccessKey{}, err
	}
	return awsapi.AccessKey{SecretAccessKey: string(secret), Caller: awsapi.Caller{
		AccessKeyID: id, AccountID: Names().Account, UserName: rk.UserName, ARN: Names().UserArn("/", rk.UserName), Admin: true,
	}}, nil
}

// Config returns an SDK configuration signing with the given credentials.
func (e *Env) Config(id, secret, token string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, token),
		BaseEndpoint:     aws.String(e.URL),
		RetryMaxAttempts: 1,
	}
}

// AdminIAM returns an IAM client signing with the runner's admin key.
func (e *Env) AdminIAM() *awsiam.Client {
	return awsiam.NewFromConfig(e.Config(AdminKeyID, AdminSecret, ""))
}

// AdminSTS returns an STS client signing with the runner's admin key.
func (e *Env) AdminSTS() *awssts.Client {
	return awssts.NewFromConfig(e.Config(AdminKeyID, AdminSecret, ""))
}

// DBBytes returns every byte of the database files, to check that secrets
// are not in them.
func (e *Env) DBBytes(t testing.TB) []byte {
	t.Helper()
	var all []byte
	ents, err := os.ReadDir(e.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range ents {
		if strings.HasPrefix(ent.Name(), "hangar.db") {
			b, err := os.ReadFile(filepath.Join(e.Dir, ent.Name()))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
	}
	return all
}

// awsEnv is this process's environment (pyenv needs it) without the
// machine's AWS settings, with the given credentials.
func awsEnv(t testing.TB, id, secret, token string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	dir := t.TempDir()
	env = append(env,
		"AWS_ACCESS_KEY_ID="+id,
		"AWS_SECRET_ACCESS_KEY="+secret,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_MAX_ATTEMPTS=1",
	)
	if token != "" {
		env = append(env, "AWS_SESSION_TOKEN="+token)
	}
	return env
}

// Creds are the credentials a CLI or boto3 run signs with.
type Creds struct{ ID, Secret, Token string }

// Admin returns the runner's admin credentials.
func Admin() Creds { return Creds{ID: AdminKeyID, Secret: AdminSecret} }

// AWS runs the aws CLI against the Env in dir and returns stdout, stderr
// and the exit code; it skips the test when the CLI is missing.
func (e *Env) AWS(t testing.TB, c Creds, dir string, args ...string) (string, string, int) {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append(args, "--endpoint-url", e.URL, "--output", "json")
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = awsEnv(t, c.ID, c.Secret, c.Token)
	cmd.Dir = dir
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

// Python runs a python3 script with the endpoint URL as argv[1] and returns
// its stdout; it skips the test when python3 or boto3 is missing.
func (e *Env) Python(t testing.TB, c Creds, script string) string {
	t.Helper()
	path, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-c", script, e.URL)
	cmd.Env = awsEnv(t, c.ID, c.Secret, c.Token)
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
