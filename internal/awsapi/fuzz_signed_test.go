package awsapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// FuzzSignedRequest signs arbitrary requests (method, path, query, a
// header value, body; S3 or not; Authorization header or presigned) with
// the AWS SDK's own signer and sends them through Authenticate as a
// server reads them off the wire. Each must be accepted, or legitimate
// clients would be refused, and refused once a byte of its signature or
// its body differs from what was signed.
func FuzzSignedRequest(f *testing.F) {
	f.Add("POST", "/", "", "application/x-amz-json-1.1", []byte(`{"name":"p"}`), false, false)
	f.Add("GET", "/bkt/a b/%2e%2e/ü/c+d", "prefix=x y&list-type=2&delimiter=%2F", "  two  spaces  ", []byte{}, true, false)
	f.Add("PUT", "/bkt/key", "partNumber=1&uploadId=abc~", "v", []byte("body"), true, false)
	f.Add("GET", "/bkt/k%00ey", "response-content-type=text/plain", "", []byte{}, true, true)
	f.Add("POST", "/x/../y//z", "a=1&a=0&b=&=x", "tab\there", []byte("Action=ListUsers&Version=2010-05-08"), false, true)
	// A tab inside a value: the Go SDK keeps it, botocore folds it.
	f.Add("PUT", "/bkt/k", "", "a\tb  c", []byte("x"), true, false)
	f.Add("POST", "/", "", "0\t  0", []byte("{}"), false, false)
	now := func() time.Time { return time.Date(2024, 1, 1, 0, 0, 30, 0, time.UTC) }
	const handled = 299 // the request reached the service
	h := Authenticate(testKeys(now), WithClock(now))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			w.WriteHeader(498) // an S3 body that is not what was signed
			return
		}
		w.WriteHeader(handled)
	}))
	signer := v4.NewSigner()
	s3Signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}

	f.Fuzz(func(t *testing.T, method, path, query, value string, body []byte, s3, presign bool) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || !validHeaderValue(value) {
			return
		}
		req, err := http.NewRequest(method, "http://runner.test"+path+"?"+query, bytes.NewReader(body))
		if err != nil || req.URL.Host != "runner.test" || req.URL.Fragment != "" {
			return
		}
		service, sg := "codebuild", signer
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])
		if s3 {
			service, sg = "s3", s3Signer
			if presign {
				hash = unsignedPayload
				q := req.URL.Query()
				q.Set("X-Amz-Expires", "60")
				req.URL.RawQuery = q.Encode()
			} else {
				req.Header.Set("X-Amz-Content-Sha256", hash)
			}
		}
		// net/http sends a value trimmed of spaces and tabs; the SDK signs
		// it trimmed of spaces only, so a client's value never starts or
		// ends with a tab.
		value = strings.Trim(value, " \t")
		if value != "" {
			req.Header.Set("X-Amz-Meta-Fuzz", value)
		}
		ctx := context.Background()
		if presign {
			u, hdr, err := sg.PresignHTTP(ctx, creds, req, hash, service, "us-east-1", now())
			if err != nil {
				return
			}
			if req, err = http.NewRequest(method, u, bytes.NewReader(body)); err != nil {
				t.Fatalf("presigned URL %q: %v", u, err)
			}
			for k, v := range hdr {
				req.Header[k] = v
			}
		} else if err := sg.SignHTTP(ctx, creds, req, hash, service, "us-east-1", now()); err != nil {
			return
		}
		var lastBody string
		serve := func(req *http.Request, body []byte) int {
			// As the server reads it: request line, headers, body.
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.ContentLength = int64(len(body))
			var wire bytes.Buffer
			if err := req.Write(&wire); err != nil {
				t.Fatalf("write request: %v", err)
			}
			in, err := http.ReadRequest(bufio.NewReader(&wire))
			if err != nil {
				return -1 // net/http would refuse it before any handler
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, in)
			lastBody = rec.Body.String()
			return rec.Code
		}
		code := serve(req, body)
		if code == -1 {
			return
		}
		if code != handled {
			t.Fatalf("SDK-signed %s %s?%s (s3=%v presign=%v) refused: %d %s", method, path, req.URL.RawQuery, s3, presign, code, lastBody)
		}

		// The same request with its signature changed.
		forged := req.Clone(ctx)
		if presign {
			forged.URL.RawQuery = flipLastHex(forged.URL.RawQuery)
		} else {
			forged.Header.Set("Authorization", flipLastHex(forged.Header.Get("Authorization")))
		}
		if code := serve(forged, body); code == handled {
			t.Fatalf("forged signature accepted: %s %s", method, forged.URL)
		}
		// The same request with another body, where the body is signed.
		if len(body) > 0 && !(s3 && presign) {
			other := append([]byte(nil), body...)
			other[0] ^= 1
			if code := serve(req.Clone(ctx), other); code == handled {
				t.Fatalf("changed body accepted: %s %s", method, req.URL)
			}
		}
	})
}

func validMethod(m string) bool {
	if m == "" || m == "CONNECT" || m == "HEAD" {
		return false // HEAD answers carry no body; CONNECT is no API call
	}
	for _, c := range []byte(m) {
		if !('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func validHeaderValue(v string) bool {
	for _, c := range []byte(v) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// flipLastHex changes the last hex digit of s (a signature's).
func flipLastHex(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if '0' <= c && c <= '9' || 'a' <= c && c <= 'f' {
			r := byte('0')
			if c == '0' {
				r = '1'
			}
			return s[:i] + string(r) + s[i+1:]
		}
	}
	return s + "0"
}
