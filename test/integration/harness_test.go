// Package integration drives a real `hangar server` process with real
// clients: the AWS SDK for Go v2, the aws CLI and boto3.
package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// hangarBin is the hangar binary built once for the whole package.
var hangarBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hangar-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hangarBin = filepath.Join(dir, "hangar")
	build := exec.Command("go", "build", "-o", hangarBin, "../../cmd/hangar")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hangar:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Runner is a `hangar server` process started by a test.
type Runner struct {
	t        testing.TB
	State    string // state dir
	Endpoint string
	Args     []string // extra server flags
	// Startup is how long the last Start took from starting the process
	// to reading its "endpoint:" line.
	Startup time.Duration
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error // how the process ended, once done is closed
	stderr  *bytes.Buffer
}

// StartRunner starts a runner with a fresh state dir; it is stopped when the
// test ends.
func StartRunner(t testing.TB, args ...string) *Runner {
	t.Helper()
	r := &Runner{t: t, State: t.TempDir(), Args: args}
	r.Start()
	t.Cleanup(r.Stop)
	r.CreateBuildRole(TestRoleName, testRolePolicy)
	return r
}

// TestRoleName is the service role the tests' projects name. Builds assume
// their project's role, so StartRunner makes it, trusting CodeBuild, with
// what a typical CodeBuild role has: reading parameters and secrets for
// build variables.
const TestRoleName = "hangar-test"

const testRolePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:GetParameters","ssm:GetParameter","secretsmanager:GetSecretValue"],"Resource":"*"}]}`

// CodeBuildTrust is the trust policy of a CodeBuild service role.
const CodeBuildTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// CreateBuildRole makes a role CodeBuild may assume, with one inline
// policy (none when policy is empty), and returns its ARN.
func (r *Runner) CreateBuildRole(name, policy string) string {
	r.t.Helper()
	ctx := context.Background()
	c := r.IAM()
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(CodeBuildTrust)})
	if err != nil {
		r.t.Fatalf("create role %s: %v", name, err)
	}
	if policy != "" {
		_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("build"), PolicyDocument: aws.String(policy)})
		if err != nil {
			r.t.Fatalf("put policy of role %s: %v", name, err)
		}
	}
	return aws.ToString(out.Role.Arn)
}

// IAM returns an SDK client for the runner.
func (r *Runner) IAM() *iam.Client { return iam.NewFromConfig(r.AWSConfig()) }

// Start starts (or restarts) the runner process on its state dir.
func (r *Runner) Start() {
	r.t.Helper()
	args := append([]string{"server", "--listen", "127.0.0.1:0", "--state", r.State, "--log-level", "debug"}, r.Args...)
	cmd := exec.Command(hangarBin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	r.stderr = new(bytes.Buffer)
	cmd.Stderr = r.stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start hangar server: %v", err)
	}
	r.cmd = cmd
	r.done = make(chan struct{})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	go func() { r.waitErr = cmd.Wait(); close(r.done) }()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				r.t.Fatalf("hangar server exited before it was ready:\n%s", r.stderr)
			}
			if ep, found := strings.CutPrefix(line, "endpoint: "); found {
				r.Startup = time.Since(began)
				r.Endpoint = ep
				go func() {
					for range lines {
					}
				}()
				return
			}
		case <-deadline:
			r.t.Fatalf("hangar server not ready after 10s:\n%s", r.stderr)
		}
	}
}

// Stop stops the runner with SIGTERM and waits for it; ExitErr then says
// how it ended.
func (r *Runner) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
		r.t.Errorf("hangar server did not stop within 20s of SIGTERM")
	}
	if r.t.Failed() {
		r.t.Logf("runner log:\n%s", r.stderr)
	}
	r.cmd = nil
}

// ExitErr is how the last runner process ended (nil: exit status 0), once
// Stop or Kill9 returned.
func (r *Runner) ExitErr() error { return r.waitErr }

// Kill9 kills the runner with SIGKILL, as a crash would.
func (r *Runner) Kill9() {
	r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// Log returns what the runner process has logged so far.
func (r *Runner) Log() string { return r.stderr.String() }

// CredentialsFile is the shared-credentials file the runner wrote.
func (r *Runner) CredentialsFile() string { return filepath.Join(r.State, "credentials") }

// AWSConfig is an SDK config pointed at the runner with its own key.
func (r *Runner) AWSConfig() aws.Config {
	r.t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithSharedCredentialsFiles([]string{r.CredentialsFile()}),
		config.WithSharedConfigFiles([]string{}),
		config.WithBaseEndpoint(r.Endpoint),
	)
	if err != nil {
		r.t.Fatal(err)
	}
	return cfg
}

// CodeBuild returns an SDK client for the runner.
func (r *Runner) CodeBuild() *codebuild.Client { return codebuild.NewFromConfig(r.AWSConfig()) }

// Logs returns an SDK client for the runner.
func (r *Runner) Logs() *cloudwatchlogs.Client { return cloudwatchlogs.NewFromConfig(r.AWSConfig()) }

// SSM returns an SDK client for the runner.
func (r *Runner) SSM() *ssm.Client { return ssm.NewFromConfig(r.AWSConfig()) }

// Secrets returns an SDK client for the runner.
func (r *Runner) Secrets() *secretsmanager.Client { return secretsmanager.NewFromConfig(r.AWSConfig()) }

// S3 returns an SDK client for the runner (path-style).
func (r *Runner) S3() *s3.Client {
	return s3.NewFromConfig(r.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
}

// CLIEnv is the environment the aws CLI and boto3 need to reach the runner.
func (r *Runner) CLIEnv() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"AWS_SHARED_CREDENTIALS_FILE="+r.CredentialsFile(),
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ENDPOINT_URL="+r.Endpoint,
		"AWS_PAGER=",
	)
}

// AWS runs the aws CLI against the runner and returns stdout, stderr and
// the exit code.
func (r *Runner) AWS(args ...string) (stdout, stderr string, code int) {
	r.t.Helper()
	cmd := exec.Command(awsCommand(), append([]string{"--endpoint-url", r.Endpoint, "--output", "json"}, args...)...)
	cmd.Env = r.CLIEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), errb.String(), ee.ExitCode()
		}
		r.t.Fatalf("run aws %v: %v", args, err)
	}
	return out.String(), errb.String(), 0
}

// awsCommand and python3Command are the aws CLI and python3 on PATH. When
// they are pyenv shims, the programs behind the shims are run instead: the
// shim costs over a second a call on a busy machine.
var (
	awsCommand     = sync.OnceValue(func() string { return unshim("aws") })
	python3Command = sync.OnceValue(func() string { return unshim("python3") })
)

func unshim(name string) string {
	p, err := exec.LookPath(name)
	if err != nil || !strings.Contains(p, "/.pyenv/shims/") {
		return name
	}
	out, err := exec.Command("pyenv", "which", name).Output()
	if err != nil {
		return name
	}
	return strings.TrimSpace(string(out))
}

// Python runs a python3 script (with boto3) against the runner.
func (r *Runner) Python(script string) (stdout, stderr string, code int) {
	r.t.Helper()
	cmd := exec.Command(python3Command(), "-c", script)
	cmd.Env = r.CLIEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), errb.String(), ee.ExitCode()
		}
		r.t.Fatalf("run python3: %v", err)
	}
	return out.String(), errb.String(), 0
}

// Key is an access key pair.
type Key struct{ ID, Secret string }

// Key returns the runner's own access key, read from its credentials file.
func (r *Runner) Key() Key {
	r.t.Helper()
	b, err := os.ReadFile(r.CredentialsFile())
	if err != nil {
		r.t.Fatal(err)
	}
	var k Key
	for _, line := range strings.Split(string(b), "\n") {
		name, v, _ := strings.Cut(line, "=")
		switch strings.TrimSpace(name) {
		case "aws_access_key_id":
			k.ID = strings.TrimSpace(v)
		case "aws_secret_access_key":
			k.Secret = strings.TrimSpace(v)
		}
	}
	if k.ID == "" || k.Secret == "" {
		r.t.Fatalf("no key in %s:\n%s", r.CredentialsFile(), b)
	}
	return k
}

// Raw is a response to a raw HTTP request.
type Raw struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a raw request to the runner, signed with SigV4 for service
// (the signing name) with key unless key is nil, and reads the answer.
func (r *Runner) Do(key *Key, service, method, path string, header http.Header, body []byte) Raw {
	r.t.Helper()
	req, err := http.NewRequest(method, r.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if key != nil {
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
			r.t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("read %s %s: %v", method, path, err)
	}
	return Raw{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// JSONCall sends a JSON 1.1 request (X-Amz-Target target) signed with the
// runner's key for the service the target prefix names.
func (r *Runner) JSONCall(target string, body []byte) Raw {
	r.t.Helper()
	k := r.Key()
	return r.Do(&k, signingName(target), http.MethodPost, "/", JSONHeader(target), body)
}

// JSONHeader is the header of a JSON 1.1 request.
func JSONHeader(target string) http.Header {
	return http.Header{"X-Amz-Target": {target}, "Content-Type": {"application/x-amz-json-1.1"}}
}

// signingName maps an X-Amz-Target prefix to its SigV4 signing name.
func signingName(target string) string {
	prefix, _, _ := strings.Cut(target, ".")
	switch prefix {
	case "CodeBuild_20161006":
		return "codebuild"
	case "Logs_20140328":
		return "logs"
	case "AmazonSSM":
		return "ssm"
	default:
		return "secretsmanager"
	}
}

// Account is the account id a runner puts in ARNs.
const Account = "000000000000"

// WantAPIError fails unless err is an AWS API error with code whose
// message contains msg.
func WantAPIError(t testing.TB, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s error, got %v", code, err)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("want %s containing %q, got %s: %q", code, msg, ae.ErrorCode(), ae.ErrorMessage())
	}
}

// NoClientValidation removes the SDK's client-side input validation, so a
// request missing required members reaches the server.
func NoClientValidation(s *middleware.Stack) error {
	_, err := s.Initialize.Remove("OperationInputValidation")
	return err
}

// altered returns s with its first character changed: a secret or token
// that is certainly wrong.
func altered(s string) string {
	if strings.HasPrefix(s, "x") {
		return "y" + s[1:]
	}
	return "x" + s[1:]
}
