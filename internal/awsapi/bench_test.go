package awsapi

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
)

// benchStartBuild is a StartBuild request as `hangar run` sends one.
const benchStartBuild = `{"projectName":"app","sourceTypeOverride":"S3","sourceLocationOverride":"hangar-artifacts/sources/4f2a.zip",` +
	`"buildspecOverride":"version: 0.2\nphases:\n  build:\n    commands:\n      - make test\n",` +
	`"environmentVariablesOverride":[{"name":"GOFLAGS","value":"-mod=readonly","type":"PLAINTEXT"},` +
	`{"name":"DB_PASSWORD","value":"/app/db","type":"PARAMETER_STORE"},{"name":"TOKEN","value":"prod/token","type":"SECRETS_MANAGER"},` +
	`{"name":"HANGAR_RUN","value":"1"},{"name":"CI","value":"true"}],` +
	`"timeoutInMinutesOverride":60,"idempotencyToken":"0b9a4c1e-58d2-4b8f-9a43-3f6f0ad1d2c7","debugSessionEnabled":false}`

// startBuildInput is the part of StartBuild a handler declares; the model
// validates the rest.
type startBuildInput struct {
	ProjectName                  string `json:"projectName"`
	SourceVersion                string `json:"sourceVersion"`
	BuildspecOverride            string `json:"buildspecOverride"`
	EnvironmentVariablesOverride []struct {
		Name, Value, Type string
	} `json:"environmentVariablesOverride"`
	TimeoutInMinutesOverride *int `json:"timeoutInMinutesOverride"`
}

// BenchmarkValidate measures checking a request body against the service
// model, alone.
func BenchmarkValidate(b *testing.B) {
	v, err := NewValidator("codebuild")
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(benchStartBuild)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if e := v.Validate("StartBuild", body); e != nil {
			b.Fatal(e)
		}
	}
}

// BenchmarkJSONRequest measures one request through a model-validated
// JSONService without the network: read, validate, decode, handle (a
// no-op) and encode the answer.
func BenchmarkJSONRequest(b *testing.B) {
	s, err := NewJSONService("codebuild", nil)
	if err != nil {
		b.Fatal(err)
	}
	Handle(s, "StartBuild", func(_ context.Context, in *startBuildInput) (*struct {
		ID string `json:"id"`
	}, error) {
		return &struct {
			ID string `json:"id"`
		}{in.ProjectName + ":0b9a4c1e"}, nil
	})
	b.SetBytes(int64(len(benchStartBuild)))
	for b.Loop() {
		req := httptest.NewRequest("POST", "/", strings.NewReader(benchStartBuild))
		req.Header.Set("X-Amz-Target", "CodeBuild_20161006.StartBuild")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body)
		}
	}
}

// BenchmarkDecodeJSON measures decoding alone, leniently as a validated
// service does.
func BenchmarkDecodeJSON(b *testing.B) {
	body := []byte(benchStartBuild)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var in startBuildInput
		if err := decodeJSON(body, &in, false); err != nil {
			b.Fatal(err)
		}
	}
}
