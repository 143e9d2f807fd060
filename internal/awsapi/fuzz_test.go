package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// FuzzJSONRequest drives the JSON path end to end: model validation, then
// lenient decoding into a handler's struct. Whatever the body, the answer is
// a 200 or a well-formed 400 error, never a panic or a 500.
func FuzzJSONRequest(f *testing.F) {
	for _, s := range []string{
		`{"projectName":"p","environmentVariablesOverride":[{"name":"A","value":"1","type":"PLAINTEXT"}],"timeoutInMinutesOverride":60}`,
		`{"name":"p!","source":{"type":"NO_SOURCE"},"tags":[{"key":"k","value":"v"}]}`,
		`{"ids":["a:b"]}`, `{"projectName":null}`, `[]`, ``, `{"a":{"b":[1,2,{"c":null}]}}`, `{"timeoutInMinutesOverride":1e400}`,
	} {
		f.Add([]byte(s), uint8(0))
	}
	v, err := NewValidator("codebuild")
	if err != nil {
		f.Fatal(err)
	}
	ops := make([]string, 0, len(v.model.Operations))
	for op := range v.model.Operations {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	s := &JSONService{TargetPrefix: "CodeBuild_20161006", Validate: v.Validate}
	type envVar struct {
		Name  string `json:"name"`
		Value string `json:"value"`
		Type  string `json:"type"`
	}
	for _, op := range ops {
		Handle(s, op, func(ctx context.Context, in *struct {
			ProjectName string   `json:"projectName"`
			Name        string   `json:"name"`
			IDs         []string `json:"ids"`
			Env         []envVar `json:"environmentVariablesOverride"`
			Timeout     *int32   `json:"timeoutInMinutesOverride"`
			Tags        []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"tags"`
		}) (*struct{}, error) {
			return &struct{}{}, nil
		})
	}
	f.Fuzz(func(t *testing.T, body []byte, opIndex uint8) {
		op := ops[int(opIndex)%len(ops)]
		if e := v.Validate(op, body); e != nil && (e.Code == "" || e.Message == "" || e.Status != 400) {
			t.Fatalf("malformed error %+v", e)
		}
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "CodeBuild_20161006."+op)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
		case 400:
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Type == "" || rec.Header().Get("X-Amzn-ErrorType") != e.Type {
				t.Fatalf("bad error body %q: %v", rec.Body, err)
			}
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}

// FuzzParseAuthorization checks the Authorization header parser never
// panics and only accepts what it promises.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("ab", 32))
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/codebuild/aws4_request,SignedHeaders=content-type;host,Signature=" + strings.Repeat("0", 64))
	f.Add("AWS4-HMAC-SHA256 Credential=a/b")
	f.Add("AWS AKID:sig")
	f.Add("AWS4-HMAC-SHA256 ,,,=,Credential==/////")
	f.Fuzz(func(t *testing.T, h string) {
		sr, err := parseAuthorization(h)
		if err != nil {
			if err.kind != authMalformed && err.kind != authUnsupported {
				t.Fatalf("unexpected error kind %d", err.kind)
			}
			_ = err.forProtocol(ProtocolS3)
			_ = err.forProtocol(ProtocolJSON)
			return
		}
		if sr.accessKey == "" || sr.scope.Region == "" || sr.scope.Service == "" || len(sr.scope.Date) != 8 {
			t.Fatalf("accepted a bad credential: %+v", sr)
		}
		if len(sr.signature) != 64 {
			t.Fatalf("accepted signature %q", sr.signature)
		}
		host := false
		for _, h := range sr.signedHeaders {
			host = host || h == "host"
		}
		if !host {
			t.Fatalf("accepted SignedHeaders without host: %v", sr.signedHeaders)
		}
	})
}

// FuzzPresignedQuery runs arbitrary query strings through the presigned-URL
// parser and the whole verification: no panics, only 403/400 answers
// (nothing fuzzed can carry a valid signature), and a canonical query that
// is stable.
func FuzzPresignedQuery(f *testing.F) {
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + testKeyID + "%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=" + strings.Repeat("ab", 32))
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=99999999")
	f.Add("AWSAccessKeyId=" + testKeyID + "&Signature=abc%3D&Expires=1")
	f.Add("a=1&a=0&b&=x&%zz=%%&X-Amz-Signature=1")
	now := func() time.Time { return time.Date(2024, 1, 1, 0, 0, 30, 0, time.UTC) }
	h := Authenticate(testKeys(now), WithClock(now))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(299) // nothing fuzzed carries a valid signature
	}))
	f.Fuzz(func(t *testing.T, raw string) {
		if q, err := url.ParseQuery(raw); err == nil {
			if sr, err := parsePresigned(q); err == nil && (sr.accessKey == "" || len(sr.signature) != 64 || sr.expires > maxPresignExpiry) {
				t.Fatalf("accepted %+v", sr)
			}
		}
		if c1, c2 := canonicalQuery(raw, true), canonicalQuery(raw, true); c1 != c2 {
			t.Fatalf("canonical query not stable: %q %q", c1, c2)
		}
		req, err := http.NewRequest("GET", "http://h/bkt/key?"+raw, nil)
		if err != nil {
			return
		}
		req.RequestURI = "/bkt/key?" + raw
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 400 && rec.Code != 403 {
			t.Fatalf("status %d for %q: %s", rec.Code, raw, rec.Body)
		}
	})
}

// FuzzQueryForm decodes arbitrary Query parameters into a struct and
// validates them against the IAM model.
func FuzzQueryForm(f *testing.F) {
	f.Add("Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=%7B%7D&Tags.member.1.Key=k&Tags.member.1.Value=v&MaxSessionDuration=3600")
	f.Add("Tags.member.999999999999999999999.Key=k&Tags.member.-1.Key=x&Tags.member.1=&Attrs.entry.1.key=a")
	f.Add("Policy.Version=1&Policy.Name=n&When=2024-01-01T00:00:00Z&Blob=aGk=&Names.member.2=b&Names.member.1=a")
	f.Add("Path=%2F&MaxItems=1001&Marker=")
	v, err := NewValidator("iam")
	if err != nil {
		f.Fatal(err)
	}
	ops := []string{"CreateRole", "TagRole", "ListRoles", "PutRolePolicy", "CreateAccessKey"}
	f.Fuzz(func(t *testing.T, raw string) {
		form, _ := url.ParseQuery(raw)
		var in formInput
		if err := DecodeForm(form, &in); err != nil {
			if e, ok := AsError(err); !ok || e.Code != "ValidationError" {
				t.Fatalf("decode error %v is not a ValidationError", err)
			}
		}
		for _, op := range ops {
			if e := v.ValidateForm(op, form); e != nil && (e.Code != "ValidationError" || e.Status != 400) {
				t.Fatalf("%s: %+v", op, e)
			}
		}
	})
}
