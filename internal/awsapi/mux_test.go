package awsapi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func do(t *testing.T, srv *testServer, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestHealthNeedsNoAuth(t *testing.T) {
	srv := newTestServer(t, false)
	resp, body := do(t, srv, mustRequest(t, "GET", srv.URL+HealthPath, ""))
	if resp.StatusCode != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("health: %d %s", resp.StatusCode, body)
	}
	// Other paths are S3 and need a signature.
	resp, _ = do(t, srv, mustRequest(t, "GET", srv.URL+"/health", ""))
	if resp.StatusCode != 403 {
		t.Fatalf("/health is a bucket and must need auth, got %d", resp.StatusCode)
	}
}

func mustRequest(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func signedJSON(t *testing.T, srv *testServer, target, body string) (*http.Response, string) {
	req := mustRequest(t, "POST", srv.URL+"/", body)
	req.Header.Set("Content-Type", ContentTypeJSON)
	req.Header.Set("X-Amz-Target", target)
	signRaw(t, req, []byte(body), "codebuild", "")
	return do(t, srv, req)
}

func TestMuxJSONRouting(t *testing.T) {
	srv := newTestServer(t, false)
	resp, body := signedJSON(t, srv, "Nope_20200101.DoIt", "{}")
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
		t.Fatalf("unknown target: %d %s", resp.StatusCode, body)
	}
	resp, body = signedJSON(t, srv, "CodeBuild_20161006.DeleteWebhook", "{}")
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
		t.Fatalf("unserved operation: %d %s", resp.StatusCode, body)
	}
	resp, _ = signedJSON(t, srv, "CodeBuild_20161006.ListProjects", "")
	if resp.StatusCode != 200 || resp.Header.Get("X-Amzn-RequestId") == "" {
		t.Fatalf("empty body must be accepted, with a request id: %d %v", resp.StatusCode, resp.Header)
	}

	ctx := context.Background()
	cb := codebuild.NewFromConfig(srv.sdkConfig(testKeyID, testSecret, ""))
	_, err := cb.StopBuild(ctx, &codebuild.StopBuildInput{Id: aws.String("missing")})
	var nf *cbtypes.ResourceNotFoundException
	if !errors.As(err, &nf) || nf.ErrorMessage() != "Build cannot be found: missing" {
		t.Fatalf("handler *Error: %T %v", err, err)
	}
	_, err = cb.StopBuild(ctx, &codebuild.StopBuildInput{Id: aws.String("fail")})
	wantAPIError(t, err, "InternalFailure", 500, "The request processing has failed")
	_, err = cb.StopBuild(ctx, &codebuild.StopBuildInput{Id: aws.String("panic")})
	wantAPIError(t, err, "InternalFailure", 500, "The request processing has failed")
}

func TestMuxPanicsInEachProtocol(t *testing.T) {
	srv := newTestServer(t, false)
	_, err := iam.NewFromConfig(srv.sdkConfig(testKeyID, testSecret, "")).DeleteRole(context.Background(), &iam.DeleteRoleInput{RoleName: aws.String("panic")})
	wantAPIError(t, err, "InternalFailure", 500, "The request processing has failed")

	req := mustRequest(t, "GET", srv.URL+"/bkt/panic", "")
	req.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	signRaw(t, req, nil, "s3", unsignedPayload)
	resp, body := do(t, srv, req)
	if resp.StatusCode != 500 || !strings.Contains(body, "<Code>InternalError</Code>") {
		t.Fatalf("S3 panic: %d %s", resp.StatusCode, body)
	}
	// The server keeps serving.
	if _, err := sts.NewFromConfig(srv.sdkConfig(testKeyID, testSecret, "")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestMuxQueryRouting(t *testing.T) {
	srv := newTestServer(t, false)
	post := func(service, form string) (*http.Response, string) {
		req := mustRequest(t, "POST", srv.URL+"/", form)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		signRaw(t, req, []byte(form), service, "")
		return do(t, srv, req)
	}
	// IAM and STS both use Action: the credential scope decides.
	resp, body := post("sts", "Action=GetCallerIdentity&Version=2011-06-15")
	if resp.StatusCode != 200 || !strings.Contains(body, `<GetCallerIdentityResponse xmlns="`+STSNamespace+`"><GetCallerIdentityResult>`) ||
		!strings.Contains(body, "<ResponseMetadata><RequestId>") {
		t.Fatalf("sts: %d %s", resp.StatusCode, body)
	}
	resp, body = post("iam", "Action=GetCallerIdentity&Version=2010-05-08")
	if resp.StatusCode != 400 || !strings.Contains(body, `<ErrorResponse xmlns="`+IAMNamespace+`">`) ||
		!strings.Contains(body, "<Code>InvalidAction</Code><Message>Could not find operation GetCallerIdentity for version 2010-05-08</Message>") {
		t.Fatalf("iam: %d %s", resp.StatusCode, body)
	}
	resp, body = post("iam", "Action=DeleteRole&Version=2010-05-08&RoleName=r1")
	if resp.StatusCode != 200 || !strings.Contains(body, `<DeleteRoleResponse xmlns="`+IAMNamespace+`"><ResponseMetadata>`) {
		t.Fatalf("DeleteRole: %d %s", resp.StatusCode, body)
	}
	resp, body = post("iam", "Version=2010-05-08")
	if resp.StatusCode != 400 || !strings.Contains(body, "<Code>MissingAction</Code>") {
		t.Fatalf("no Action: %d %s", resp.StatusCode, body)
	}
	resp, body = post("iam", "Action=DeleteRole&Version=2010-05-08")
	if resp.StatusCode != 400 || !strings.Contains(body, "<Code>ValidationError</Code><Message>1 validation error detected: Value null at &#39;roleName&#39; failed to satisfy constraint: Member must not be null</Message>") {
		t.Fatalf("missing RoleName: %d %s", resp.StatusCode, body)
	}
}

func TestMuxWithoutS3(t *testing.T) {
	m := newTestMux(t, nil, nil)
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/bucket/key", nil))
	if rec.Code != 501 || !strings.Contains(rec.Body.String(), "<Code>NotImplemented</Code>") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// A presigned STS GetCallerIdentity is how EKS-style token schemes prove an
// identity: the URL alone must authenticate.
func TestPresignedSTS(t *testing.T) {
	srv := newTestServer(t, false)
	ps := sts.NewPresignClient(sts.NewFromConfig(srv.sdkConfig(testKeyID, testSecret, "")))
	p, err := ps.PresignGetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	req := mustRequest(t, p.Method, p.URL, "")
	for k, v := range p.SignedHeader {
		if k != "Host" {
			req.Header[k] = v
		}
	}
	resp, body := do(t, srv, req)
	if resp.StatusCode != 200 || !strings.Contains(body, "<Arn>arn:aws:iam::"+testAccountID+":user/alice</Arn>") {
		t.Fatalf("presigned %s %s: %d %s", p.Method, p.URL, resp.StatusCode, body)
	}
	srv.clock.shift(16 * time.Minute)
	resp, body = do(t, srv, req)
	if resp.StatusCode != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code><Message>Signature expired") {
		t.Fatalf("expired presigned STS: %d %s", resp.StatusCode, body)
	}
}

// An empty request that expects "100 Continue" gets it before the final
// answer, even when that answer is a refusal: botocore, answered without
// it, reads the next answer on the connection with a stale status line and
// hangs until its read timeout.
func TestEmptyBodyGets100Continue(t *testing.T) {
	srv := newTestServer(t, false)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	read := func() *http.Response {
		t.Helper()
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	io.WriteString(conn, "PUT /bucket/empty HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n")
	if resp := read(); resp.StatusCode != http.StatusContinue {
		t.Fatalf("first answer %d, want 100 Continue", resp.StatusCode)
	}
	if resp := read(); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("final answer %d, want 403 (unsigned)", resp.StatusCode)
	}
	// The connection stays usable; without Expect there is no 100.
	io.WriteString(conn, "GET /bucket/empty HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp := read(); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("next answer %d, want 403", resp.StatusCode)
	}
}
