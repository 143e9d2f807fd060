package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/blobstore"
	"github.com/hangarci/hangar/internal/model"
	s3svc "github.com/hangarci/hangar/internal/service/s3"
	"github.com/hangarci/hangar/internal/store"
)

// s3Env is the S3 service behind Authenticate, wired as open wires them:
// Authenticate verifies the seed signature and a hex payload hash, the
// service decodes aws-chunked bodies and checks their chunk signatures
// with Authenticate's ChunkVerifier.
type s3Env struct {
	t       *testing.T
	handler http.Handler
	svc     *s3svc.Service
	db      *store.DB
	blobs   *blobstore.Store
	blobDir string

	mu   sync.Mutex
	seen []string // x-amz-content-sha256 of each request
}

func newS3Env(t *testing.T, id, secret string, now func() time.Time) *s3Env {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobDir := filepath.Join(dir, blobsDir)
	blobs, err := blobstore.Open(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	svc := s3svc.New(db, blobs, model.Names{Region: "us-east-1", Account: model.Account}, nil)
	svc.ChunkVerifier = s3ChunkVerifier
	keys := awsapi.KeyStoreFunc(func(ctx context.Context, keyID string) (awsapi.AccessKey, error) {
		if keyID != id {
			return awsapi.AccessKey{}, awsapi.ErrUnknownAccessKey
		}
		return awsapi.AccessKey{SecretAccessKey: secret, Caller: awsapi.Caller{AccountID: model.Account, Admin: true}}, nil
	})
	mux := awsapi.NewMux(nil, awsapi.Authenticate(keys, awsapi.WithClock(now)))
	mux.HandleS3(svc)
	e := &s3Env{t: t, svc: svc, db: db, blobs: blobs, blobDir: blobDir}
	e.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.seen = append(e.seen, r.Header.Get("X-Amz-Content-Sha256"))
		e.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
	return e
}

// bucket makes a bucket past Authenticate, so that tests whose requests
// were signed long ago (the AWS example) can have one.
func (e *s3Env) bucket(name string) {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.svc.ServeHTTP(rec, httptest.NewRequest("PUT", "/"+name, nil))
	if rec.Code != 200 {
		e.t.Fatalf("create bucket %s: %d %s", name, rec.Code, rec.Body)
	}
}

// object returns what the service stores at bucket/key, read past
// Authenticate; ok is false when there is nothing.
func (e *s3Env) object(bucket, key string) (body []byte, header http.Header, ok bool) {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.svc.ServeHTTP(rec, httptest.NewRequest("GET", "/"+bucket+"/"+key, nil))
	if rec.Code == http.StatusNotFound {
		return nil, nil, false
	}
	if rec.Code != 200 {
		e.t.Fatalf("get %s/%s: %d %s", bucket, key, rec.Code, rec.Body)
	}
	return rec.Body.Bytes(), rec.Result().Header, true
}

// assertNothingStored checks that a refused upload left no object, blob
// or temp file.
func (e *s3Env) assertNothingStored(what, bucket, key string) {
	e.t.Helper()
	if _, _, ok := e.object(bucket, key); ok {
		e.t.Fatalf("%s: object stored", what)
	}
	n := 0
	if err := e.blobs.Walk(context.Background(), func(string) error { n++; return nil }); err != nil {
		e.t.Fatal(err)
	}
	tmp, err := os.ReadDir(filepath.Join(e.blobDir, "tmp"))
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	if n != 0 || len(tmp) != 0 {
		e.t.Fatalf("%s: %d blobs and %d temp files left", what, n, len(tmp))
	}
}

// The example of AWS's "Transferring Payload in Multiple Chunks"
// (sigv4-streaming) page: 66560 bytes of 'a' in a 65536-byte and a
// 1024-byte chunk, with the seed, chunk and final signatures AWS lists.
const (
	vectorKeyID  = "AKIAIOSFODNN7EXAMPLE"
	vectorSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	vectorSeed   = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	vectorChunk1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
	vectorChunk2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
	vectorFinal  = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
)

func vectorBody(chunk1Sig string, tamper bool) []byte {
	var b bytes.Buffer
	b.WriteString("10000;chunk-signature=" + chunk1Sig + "\r\n")
	data := bytes.Repeat([]byte("a"), 65536)
	if tamper {
		data[100] = 'b'
	}
	b.Write(data)
	b.WriteString("\r\n400;chunk-signature=" + vectorChunk2 + "\r\n")
	b.Write(bytes.Repeat([]byte("a"), 1024))
	b.WriteString("\r\n0;chunk-signature=" + vectorFinal + "\r\n\r\n")
	return b.Bytes()
}

func vectorRequest(body []byte) *http.Request {
	req := httptest.NewRequest("PUT", "http://s3.amazonaws.com/examplebucket/chunkObject.txt", bytes.NewReader(body))
	req.Host = "s3.amazonaws.com"
	req.Header.Set("X-Amz-Date", "20130524T000000Z")
	req.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+vectorKeyID+"/20130524/us-east-1/s3/aws4_request,"+
		"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"+
		"Signature="+vectorSeed)
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	req.Header.Set("Content-Length", "66824")
	return req
}

// AWS's published signatures (seed, both chunks, the final empty chunk)
// pass, through Authenticate's ChunkVerifier and the S3 service's
// aws-chunked decoder, and every tampered or cut variant is refused
// without storing anything.
func TestS3SignedChunkedUploadAWSExample(t *testing.T) {
	clock := func() time.Time { return time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC) }
	e := newS3Env(t, vectorKeyID, vectorSecret, clock)
	e.bucket("examplebucket")
	put := func(req *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		return rec
	}

	body := vectorBody(vectorChunk1, false)
	if len(body) != 66824 {
		t.Fatalf("example body is %d bytes, AWS says 66824", len(body))
	}
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		code   string
	}{
		{"tampered data", vectorBody(vectorChunk1, true), 403, "SignatureDoesNotMatch"},
		{"wrong chunk sig", vectorBody(vectorChunk2, false), 403, "SignatureDoesNotMatch"},
		{"truncated", body[:40000], 400, "IncompleteBody"},
		{"final chunk missing", body[:len(body)-86], 400, "IncompleteBody"},
		// The S3 decoder calls a chunk header it cannot parse an invalid
		// request, as it does for any malformed aws-chunked framing.
		{"garbage chunk header", append([]byte("zz;chunk-signature="+vectorChunk1+"\r\n"), body[88:]...), 400, "InvalidRequest"},
	} {
		rec := put(vectorRequest(tc.body))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), "<Code>"+tc.code+"</Code>") {
			t.Errorf("%s: %d %s; want %d %s", tc.name, rec.Code, rec.Body, tc.status, tc.code)
		}
		e.assertNothingStored(tc.name, "examplebucket", "chunkObject.txt")
	}

	// The seed signature covers the headers: another storage class fails.
	req := vectorRequest(body)
	req.Header.Set("X-Amz-Storage-Class", "STANDARD")
	if rec := put(req); rec.Code != 403 || !strings.Contains(rec.Body.String(), "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("changed header: %d %s", rec.Code, rec.Body)
	}
	// It covers the payload hash too: a client cannot turn a signed body
	// into an unsigned one.
	req = vectorRequest(body)
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	if rec := put(req); rec.Code != 403 || !strings.Contains(rec.Body.String(), "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("changed payload hash: %d %s", rec.Code, rec.Body)
	}
	e.assertNothingStored("changed headers", "examplebucket", "chunkObject.txt")

	if rec := put(vectorRequest(body)); rec.Code != 200 {
		t.Fatalf("example upload: %d %s", rec.Code, rec.Body)
	}
	got, hdr, ok := e.object("examplebucket", "chunkObject.txt")
	if !ok || !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) {
		t.Fatalf("stored %d bytes, want 66560 'a'", len(got))
	}
	if enc := hdr.Get("Content-Encoding"); enc != "" {
		t.Fatalf("stored Content-Encoding %q: aws-chunked describes the request, not the object", enc)
	}
}

const (
	testKeyID  = "AKIDHANGARTEST000001"
	testSecret = "hangar/test+secret/0000000000000000000000"
)

// A body that is not what its signed x-amz-content-sha256 says fails with
// the SigV4 layer's XAmzContentSHA256Mismatch, not as an incomplete body,
// and is not stored.
func TestS3ContentSHA256Mismatch(t *testing.T) {
	e := newS3Env(t, testKeyID, testSecret, time.Now)
	e.bucket("bkt")
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)

	body := []byte("what was sent")
	other := sha256.Sum256([]byte("what was signed"))
	claimed := hex.EncodeToString(other[:])
	req, _ := http.NewRequest("PUT", srv.URL+"/bkt/obj", bytes.NewReader(body))
	req.Header.Set("X-Amz-Content-Sha256", claimed)
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, claimed, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "<Code>XAmzContentSHA256Mismatch</Code>") ||
		!strings.Contains(string(b), "<ClientComputedContentSHA256>"+claimed+"</ClientComputedContentSHA256>") {
		t.Fatalf("status %d body %s", resp.StatusCode, b)
	}
	e.assertNothingStored("hash mismatch", "bkt", "obj")
}

// The Go SDK's uploads pass through both: over HTTP with a hex payload
// hash and the checksum in a header, over TLS as an aws-chunked body
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER) with the checksum in a trailer.
func TestS3SDKThroughAuthenticate(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name, wantPayload := "http", "hex"
		if tls {
			name, wantPayload = "https", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
		}
		t.Run(name, func(t *testing.T) {
			e := newS3Env(t, testKeyID, testSecret, time.Now)
			e.bucket("bkt")
			var srv *httptest.Server
			if tls {
				srv = httptest.NewTLSServer(e.handler)
			} else {
				srv = httptest.NewServer(e.handler)
			}
			t.Cleanup(srv.Close)
			c := awss3.NewFromConfig(aws.Config{
				Region:           "us-east-1",
				Credentials:      credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
				BaseEndpoint:     aws.String(srv.URL),
				HTTPClient:       srv.Client(),
				RetryMaxAttempts: 1,
			}, func(o *awss3.Options) { o.UsePathStyle = true })
			ctx := context.Background()
			body := bytes.Repeat([]byte("hangar "), 20000)
			put, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/a b+c.txt"),
				Body: bytes.NewReader(body), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32})
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			e.mu.Lock()
			sent := e.seen[len(e.seen)-1]
			e.mu.Unlock()
			if sent != wantPayload && !(wantPayload == "hex" && len(sent) == 64) {
				t.Fatalf("the SDK sent x-amz-content-sha256 %q; the test wants %s", sent, wantPayload)
			}
			out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/a b+c.txt"),
				ChecksumMode: s3types.ChecksumModeEnabled})
			if err != nil {
				t.Fatalf("GetObject: %v", err)
			}
			got, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if !bytes.Equal(got, body) {
				t.Fatalf("GetObject returned %d bytes, want %d", len(got), len(body))
			}
			if aws.ToString(put.ChecksumCRC32) == "" || aws.ToString(out.ChecksumCRC32) != aws.ToString(put.ChecksumCRC32) {
				t.Fatalf("checksum put %q, got %q", aws.ToString(put.ChecksumCRC32), aws.ToString(out.ChecksumCRC32))
			}
		})
	}
}
