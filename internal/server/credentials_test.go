package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/runner"
	"github.com/hangarci/hangar/internal/seal"
	iamsvc "github.com/hangarci/hangar/internal/service/iam"
	stssvc "github.com/hangarci/hangar/internal/service/sts"
	"github.com/hangarci/hangar/internal/store"
)

func newCredsEnv(t *testing.T, d time.Duration) (*buildCredentials, *stssvc.Service) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := seal.LoadOrCreateKey(filepath.Join(dir, sealFile))
	if err != nil {
		t.Fatal(err)
	}
	names := model.Names{Region: "us-east-1", Account: model.Account}
	is, err := iamsvc.New(iamsvc.Config{DB: db, Sealer: key, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := is.CreateRole(ctx, &iamsvc.CreateRoleInput{RoleName: "build", AssumeRolePolicyDocument: trust}); err != nil {
		t.Fatal(err)
	}
	sts := stssvc.New(stssvc.Config{IAM: is, DB: db, Sealer: key, Names: names})
	c := newBuildCredentials(sts, names, slog.New(slog.DiscardHandler))
	c.duration = d
	c.setListener(&net.TCPAddr{IP: net.IPv4zero, Port: 4480})
	return c, sts
}

func get(c *buildCredentials, path, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		r.Header.Set("Authorization", token)
	}
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	return w
}

func envOf(bc *runner.BuildCredentials, name string) string {
	for _, kv := range bc.Env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// TestBuildCredentialsEndpoint checks what a build's SDK sees: the session
// for its token only, a new one near expiry (masked too), none after the
// build.
func TestBuildCredentialsEndpoint(t *testing.T) {
	ctx := context.Background()
	// 15 minutes is under the refresh margin: every fetch refreshes.
	c, sts := newCredsEnv(t, 15*time.Minute)
	var masked []string
	bc, err := c.Issue(ctx, runner.CredentialsRequest{Build: "b-1", RoleArn: "arn:aws:iam::000000000000:role/build",
		SessionName: "AWSCodeBuild-b-1", Mask: func(v ...string) { masked = append(masked, v...) }})
	if err != nil {
		t.Fatal(err)
	}
	uri, token := envOf(bc, "AWS_CONTAINER_CREDENTIALS_FULL_URI"), envOf(bc, "AWS_CONTAINER_AUTHORIZATION_TOKEN")
	if uri != "http://127.0.0.1:4480/_hangar/credentials/b-1" || envOf(bc, "AWS_ENDPOINT_URL") != "http://127.0.0.1:4480" || len(token) < 40 {
		t.Fatalf("env %q", bc.Env)
	}
	if bc.Caller.ARN != "arn:aws:sts::000000000000:assumed-role/build/AWSCodeBuild-b-1" || bc.Caller.Admin {
		t.Fatalf("caller %+v", bc.Caller)
	}
	if !slices.Contains(bc.Secrets, token) || !slices.Contains(bc.Secrets, bc.Caller.AccessKeyID) || len(bc.Secrets) != 4 {
		t.Fatalf("secrets to mask: %d", len(bc.Secrets))
	}
	for _, bad := range []struct{ path, token string }{
		{"/_hangar/credentials/b-1", ""},
		{"/_hangar/credentials/b-1", token + "x"},
		{"/_hangar/credentials/b-2", token},
		{"/_hangar/credentials/", token},
		{"/_hangar/credentials/b-1/../b-1", token},
	} {
		if w := get(c, bad.path, bad.token); w.Code != http.StatusForbidden {
			t.Errorf("GET %s (token given: %v): %d", bad.path, bad.token != "", w.Code)
		}
	}
	w := get(c, "/_hangar/credentials/b-1", token)
	var cr struct{ AccessKeyId, SecretAccessKey, Token, Expiration, RoleArn string }
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &cr) != nil {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
	exp, err := time.Parse(time.RFC3339, cr.Expiration)
	if err != nil || time.Until(exp) < 14*time.Minute || cr.RoleArn != "arn:aws:iam::000000000000:role/build" || !strings.HasPrefix(cr.AccessKeyId, "ASIA") {
		t.Fatalf("credentials %+v", cr)
	}
	if cr.AccessKeyId == bc.Caller.AccessKeyID || !slices.Contains(masked, cr.AccessKeyId) || !slices.Contains(masked, cr.SecretAccessKey) || !slices.Contains(masked, cr.Token) {
		t.Fatalf("a refreshed session must be new and masked: %v", masked)
	}
	// Both sessions work until the build ends, and neither after.
	for _, id := range []string{bc.Caller.AccessKeyID, cr.AccessKeyId} {
		if _, err := sts.LookupAccessKey(ctx, id); err != nil {
			t.Fatalf("session %s: %v", id, err)
		}
	}
	bc.Release(ctx)
	for _, id := range []string{bc.Caller.AccessKeyID, cr.AccessKeyId} {
		if _, err := sts.LookupAccessKey(ctx, id); !errors.Is(err, awsapi.ErrUnknownAccessKey) {
			t.Errorf("session %s after the build: %v", id, err)
		}
	}
	if w := get(c, "/_hangar/credentials/b-1", token); w.Code != http.StatusForbidden {
		t.Errorf("GET after the build: %d", w.Code)
	}

	// A role that is missing or does not trust CodeBuild is CodeBuild's
	// CLIENT_ERROR, not a fault.
	_, err = c.Issue(ctx, runner.CredentialsRequest{Build: "b-2", RoleArn: "arn:aws:iam::000000000000:role/nope", SessionName: "AWSCodeBuild-b-2"})
	var ce *runner.CredentialsError
	if !errors.As(err, &ce) || ce.Message != "CodeBuild is not authorized to perform: sts:AssumeRole on arn:aws:iam::000000000000:role/nope" {
		t.Errorf("missing role: %v", err)
	}
}
