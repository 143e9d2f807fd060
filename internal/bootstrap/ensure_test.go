package bootstrap

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hangarci/hangar/internal/target"
)

// fakeRunner answers BatchGetProjects with one project and refuses
// everything else, recording what was asked.
type fakeRunner struct {
	mu      sync.Mutex
	calls   []string
	project map[string]any
}

func (f *fakeRunner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	op := r.Header.Get("X-Amz-Target")
	if op == "" {
		op = string(body) // Query protocol: Action=…
	}
	f.mu.Lock()
	f.calls = append(f.calls, op)
	f.mu.Unlock()
	if op == "CodeBuild_20161006.BatchGetProjects" {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{"projects": []any{f.project}, "projectsNotFound": []string{}})
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	io.WriteString(w, `{"__type":"InvalidAction","message":"not in this test"}`)
}

func fakeTarget(t *testing.T, h http.Handler) *target.Target {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &target.Target{Kind: target.Server, Endpoint: srv.URL, Config: aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}}
}

func taggedProject(name string, tags map[string]string, fleetArn string) map[string]any {
	var tl []any
	for k, v := range tags {
		tl = append(tl, map[string]string{"key": k, "value": v})
	}
	p := map[string]any{"name": name, "tags": tl, "environment": map[string]any{"type": "LINUX_CONTAINER", "image": "i", "computeType": "BUILD_GENERAL1_SMALL"}}
	if fleetArn != "" {
		p["environment"].(map[string]any)["fleet"] = map[string]string{"fleetArn": fleetArn}
	}
	return p
}

func TestEnsureFastPathIsOneCall(t *testing.T) {
	cfg := loadConfig(t, "project: demo\ncodebuild:\n  lambda:\n    enable: true\n  fleet:\n    enable: true\n")
	d, err := NewDesired(cfg, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRunner{project: taggedProject("demo-dev-remote", map[string]string{
		TagManaged: "true", TagState: d.Hash(), TagBucket: "demo-dev-000000000000-us-east-1",
	}, fakeFleetArn)}
	var out strings.Builder
	res, err := Ensure(context.Background(), fakeTarget(t, f), cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := Resources{Bucket: "demo-dev-000000000000-us-east-1", Project: "demo-dev-remote", LambdaProject: "demo-dev-remote-lambda", FleetArn: fakeFleetArn}
	if *res != want {
		t.Errorf("resources %+v, want %+v", *res, want)
	}
	if len(f.calls) != 1 {
		t.Errorf("calls %q, want only BatchGetProjects", f.calls)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q on the fast path", out.String())
	}
}

func TestEnsureStaleHashReconciles(t *testing.T) {
	cfg := loadConfig(t, "project: demo\n")
	for name, tags := range map[string]map[string]string{
		"stale hash":  {TagManaged: "true", TagState: "0123", TagBucket: "b"},
		"no bucket":   {TagManaged: "true", TagState: "", TagBucket: ""},
		"not managed": {TagState: "x", TagBucket: "b"},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeRunner{project: taggedProject("demo-dev-remote", tags, "")}
			_, err := Ensure(context.Background(), fakeTarget(t, f), cfg, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "GetCallerIdentity") {
				t.Fatalf("err %v, want the slow path to start with STS", err)
			}
			if len(f.calls) != 2 || !strings.Contains(f.calls[1], "Action=GetCallerIdentity") {
				t.Errorf("calls %q", f.calls)
			}
		})
	}
}

func TestEnsureConfigError(t *testing.T) {
	cfg := loadConfig(t, `
project: demo
codebuild:
  fleet:
    enable: true
  project:
    compute_type:
      ComputeType: BUILD_LAMBDA_1GB
      Image: aws/codebuild/amazonlinux-x86_64-lambda-standard:go1.24
      Type: LINUX_LAMBDA_CONTAINER
`)
	f := &fakeRunner{}
	if _, err := Ensure(context.Background(), fakeTarget(t, f), cfg, io.Discard); err == nil {
		t.Fatal("no error")
	}
	if len(f.calls) != 0 {
		t.Errorf("a bad configuration reached the runner: %q", f.calls)
	}
}
