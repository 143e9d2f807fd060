package s3

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/hangarci/hangar/internal/blobstore"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/store"
)

// fixture is a real S3 service (SQLite file, blob directory) behind a real
// listener.
type fixture struct {
	t       *testing.T
	svc     *Service
	db      *store.DB
	blobs   *blobstore.Store
	blobDir string
	srv     *httptest.Server

	mu   sync.Mutex
	seen []string // "<x-amz-content-sha256> <content-encoding>" of each request
}

func newFixture(t *testing.T, useTLS bool) *fixture {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobDir := filepath.Join(dir, "blobs")
	blobs, err := blobstore.Open(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc := New(db, blobs, model.Names{Region: "us-east-1", Account: model.Account}, log)
	f := &fixture{t: t, svc: svc, db: db, blobs: blobs, blobDir: blobDir}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, r.Header.Get("X-Amz-Content-Sha256")+" "+r.Header.Get("Content-Encoding"))
		f.mu.Unlock()
		svc.ServeHTTP(w, r)
	})
	if useTLS {
		f.srv = httptest.NewTLSServer(h)
	} else {
		f.srv = httptest.NewServer(h)
	}
	t.Cleanup(f.srv.Close)
	return f
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// client returns an AWS SDK for Go v2 S3 client for the fixture, signing
// with dummy keys.
func (f *fixture) client() *awss3.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""),
		HTTPClient:  f.srv.Client(),
		// What config.LoadDefaultConfig sets: checksums on every upload.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
	return awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		o.UsePathStyle = true
		o.BaseEndpoint = aws.String(f.srv.URL)
		o.RetryMaxAttempts = 1
	})
}

// blobCount is the number of committed blobs; tempCount the temp files.
func (f *fixture) blobCount() int {
	f.t.Helper()
	n := 0
	if err := f.blobs.Walk(context.Background(), func(string) error { n++; return nil }); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) tempCount() int {
	f.t.Helper()
	entries, err := os.ReadDir(filepath.Join(f.blobDir, "tmp"))
	if err != nil {
		f.t.Fatal(err)
	}
	return len(entries)
}

// sawRequest reports whether a request with x-amz-content-sha256 payload
// and a Content-Encoding containing enc reached the service.
func (f *fixture) sawRequest(payload, enc string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.seen {
		p, e, _ := strings.Cut(s, " ")
		if p == payload && strings.Contains(e, enc) {
			return true
		}
	}
	return false
}

func (f *fixture) mustBucket(name string) {
	f.t.Helper()
	if _, err := f.client().CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		f.t.Fatal(err)
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func storeAll() store.ListOptions { return store.ListOptions{Max: 100000} }
