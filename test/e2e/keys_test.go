package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// TestKeys drives `hangar keys` against a server: a key made for a user
// works with that user's policies only, its secret is printed once and
// is nowhere in the runner's database or log, and a removed key is
// refused.
func TestKeys(t *testing.T) {
	srv := StartServer(t, "--log-level", "debug")
	tg := srv.Target()
	tr := NewTree(t, nil, "")

	r := Hangar(t, tg, tr.Dir, nil, "keys", "create", "alice", "--policy", "ReadOnlyAccess")
	WantCode(t, r, 0)
	m := regexp.MustCompile(`(?m)^\[alice\]\naws_access_key_id = (AKIA[A-Z2-7]{16})\naws_secret_access_key = (\S{40})\n$`).FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("keys create output:\n%s", r)
	}
	id, secret := m[1], m[2]
	if !strings.Contains(r.Stderr, "created user alice") || !strings.Contains(r.Stderr, "attached arn:aws:iam::aws:policy/ReadOnlyAccess") {
		t.Errorf("keys create said:\n%s", r.Stderr)
	}

	cfg := srv.sdk(t)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
	cfg.RetryMaxAttempts = 1
	ctx := context.Background()
	me, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(me.Arn) != "arn:aws:iam::000000000000:user/alice" {
		t.Fatalf("alice's identity: %v %+v", err, me)
	}
	cb := codebuild.NewFromConfig(cfg)
	if _, err := cb.ListProjects(ctx, &codebuild.ListProjectsInput{}); err != nil {
		t.Errorf("ReadOnlyAccess cannot list projects: %v", err)
	}
	_, err = cb.CreateProject(ctx, &codebuild.CreateProjectInput{
		Name: aws.String("alices"), Source: &cbtypes.ProjectSource{Type: cbtypes.SourceTypeNoSource, Buildspec: aws.String("version: 0.2\n")},
		Artifacts:   &cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeNoArtifacts},
		Environment: &cbtypes.ProjectEnvironment{Type: cbtypes.EnvironmentTypeLinuxContainer, Image: aws.String("x"), ComputeType: cbtypes.ComputeTypeBuildGeneral1Small},
		ServiceRole: aws.String("r"),
	})
	var ae smithy.APIError
	want := "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: codebuild:CreateProject on resource: arn:aws:codebuild:us-east-1:000000000000:project/alices because no identity-based policy allows the codebuild:CreateProject action"
	logAttack(t, "hangar keys user with ReadOnlyAccess calls CreateProject (Go SDK)", apiErrString(err))
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || ae.ErrorMessage() != want {
		t.Errorf("CreateProject as alice: %v", err)
	}

	// A user without policies can do nothing but ask who it is.
	r = Hangar(t, tg, tr.Dir, nil, "keys", "create", "bob")
	WantCode(t, r, 0)
	r = Hangar(t, tg, tr.Dir, nil, "keys", "ls")
	WantCode(t, r, 0)
	for _, want := range []string{"alice", id, "bob", "hangar", "Active"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("keys ls lacks %q:\n%s", want, r.Stdout)
		}
	}
	logAttack(t, "hangar keys ls searched for the secret it printed at create", fmt.Sprintf("found: %v", strings.Contains(r.Stdout, secret)))
	if strings.Contains(r.Stdout, secret) {
		t.Error("keys ls printed a secret")
	}

	// Secrets are sealed at rest and never logged.
	files, _ := filepath.Glob(filepath.Join(srv.State, "hangar.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	inClear := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			inClear++
			t.Errorf("%s holds the secret in the clear", f)
		}
	}
	logAttack(t, fmt.Sprintf("the %d database files searched for a user's secret key", len(files)), fmt.Sprintf("found in %d", inClear))
	logAttack(t, "the runner's debug log searched for a user's secret key", fmt.Sprintf("found: %v", strings.Contains(srv.Log(), secret)))
	if strings.Contains(srv.Log(), secret) {
		t.Errorf("the runner's log holds the secret")
	}
	if fi, err := os.Stat(filepath.Join(srv.State, "credentials")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the runner's own key file: %v %v", err, fi)
	}

	r = Hangar(t, tg, tr.Dir, nil, "keys", "rm", id)
	WantCode(t, r, 0)
	_, err = cb.ListProjects(ctx, &codebuild.ListProjectsInput{})
	logAttack(t, "a key removed with hangar keys rm (Go SDK ListProjects)", apiErrString(err))
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnrecognizedClientException" {
		t.Errorf("a removed key still works: %v", err)
	}
	r = Hangar(t, tg, tr.Dir, nil, "keys", "rm", id)
	WantCode(t, r, 1)
	// The runner's own key is not IAM's to delete.
	k := regexp.MustCompile(`(?m)^hangar\s+(AKIA\S+)`).FindStringSubmatch(Hangar(t, tg, tr.Dir, nil, "keys", "ls", "hangar").Stdout)
	if k == nil {
		t.Fatal("no runner key listed")
	}
	r = Hangar(t, tg, tr.Dir, nil, "keys", "rm", k[1], "--user", "hangar")
	logAttack(t, "hangar keys rm of the runner's own key", fmt.Sprintf("exit %d %s", r.Code, strings.TrimSpace(r.Stderr)))
	if r.Code != 1 || !strings.Contains(r.Stderr, "the runner's own") { // refused, not a runner failure (125)
		t.Errorf("deleting the runner's key: %s", r)
	}
}

// TestRunMasksSecrets checks that `hangar run` shows a parameter-store
// variable masked, whole or written in two pieces, and never its value.
func TestRunMasksSecrets(t *testing.T) {
	srv := StartServer(t)
	tg := srv.Target()
	tr := NewTree(t, nil, "codebuild:\n  project:\n    env:\n      vars:\n        PW: \"SSM:/${ssm_env}/PW\"\n")
	WantCode(t, Hangar(t, tg, tr.Dir, nil, "param", "put", "/dev/PW", "s3cr3t-Pa55w0rd", "--secure"), 0)
	r := Hangar(t, tg, tr.Dir, nil, "run", "--", "sh", "-c", `echo "pw=$PW"; printf 'split=%s' "$(echo "$PW" | cut -c1-6)"; printf '%s\n' "$(echo "$PW" | cut -c7-)"; echo "b64=$(printf %s "$PW" | base64)"`)
	WantCode(t, r, 0)
	for _, l := range strings.Split(r.Stdout, "\n") {
		if p, _, ok := strings.Cut(l, "="); ok && (p == "pw" || p == "split" || p == "b64") {
			logAttack(t, "hangar run output of a build printing an SSM SecureString as "+p, l)
		}
	}
	if strings.Contains(r.Stdout+r.Stderr, "s3cr3t-Pa55w0rd") {
		t.Fatalf("hangar run printed the secret:\n%s", r)
	}
	for _, want := range []string{"pw=***", "split=***", "b64=czNjcjN0LVBhNTV3MHJk"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r)
		}
	}
}

// Log returns what the server has logged so far.
func (s *Server) Log() string {
	lb, ok := s.cmd.Stderr.(*lockedBuffer)
	if !ok {
		return ""
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.b.String()
}

// apiErrString is an SDK error as "Code: Message".
func apiErrString(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return fmt.Sprint(err)
	}
	return ae.ErrorCode() + ": " + ae.ErrorMessage()
}

// logAttack logs one attempt and the runner's answer (the security
// note's table collects these lines).
func logAttack(t *testing.T, attack, answer string) {
	t.Helper()
	answer = strings.TrimSpace(answer)
	if i := strings.IndexByte(answer, '\n'); i >= 0 {
		answer = answer[:i]
	}
	t.Logf("attack: %s -> %s", attack, answer)
}
