package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hangarci/hangar/internal/blobpack"
	"github.com/hangarci/hangar/internal/blobstore"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/pack"
	s3svc "github.com/hangarci/hangar/internal/service/s3"
	"github.com/hangarci/hangar/internal/store"
)

// s3Runner is the runner's real S3 service (SQLite file, blob directory)
// behind a real listener; wrap, when set, sits in front of it.
func s3Runner(t *testing.T, wrap func(http.Handler) http.Handler) (*Client, *atomic.Int64) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blobstore.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = s3svc.New(db, blobs, model.Names{Region: "us-east-1", Account: model.Account}, nil)
	if wrap != nil {
		h = wrap(h)
	}
	var puts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			puts.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c := s3.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""),
		HTTPClient:  srv.Client(),
	}, func(o *s3.Options) {
		o.UsePathStyle = true
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1
	})
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("src")}); err != nil {
		t.Fatal(err)
	}
	puts.Store(0)
	return &Client{S3: c, Hangar: true}, &puts
}

// uploadTree writes n small files and one big one and scans them.
func uploadTree(t *testing.T, n int) (string, *pack.Manifest) {
	t.Helper()
	root := t.TempDir()
	for i := range n {
		p := filepath.Join(root, fmt.Sprintf("d%d", i%7), fmt.Sprintf("f%d.txt", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, bytes.Repeat([]byte(fmt.Sprintf("file %d\n", i)), i%500+1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "big.bin"), bytes.Repeat([]byte("big"), 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := pack.Scan(context.Background(), root, pack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return root, m
}

// checkBlobs reads back every blob of m from the bucket.
func checkBlobs(t *testing.T, c *Client, root string, m *pack.Manifest) {
	t.Helper()
	have, err := c.ListBlobs(context.Background(), "src")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range m.Blobs() {
		if !have[b.SHA256] {
			t.Fatalf("blob %s (%s) not listed", b.SHA256, b.Path)
		}
	}
	if len(have) != len(m.Blobs()) {
		t.Errorf("%d blobs listed, want %d", len(have), len(m.Blobs()))
	}
	for _, b := range m.Blobs()[:5] {
		out, err := c.S3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("src"), Key: aws.String(blobpack.BlobKey(b.SHA256))})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		want, _ := os.ReadFile(filepath.Join(root, b.Path))
		if !bytes.Equal(got, want) {
			t.Errorf("blob of %s differs", b.Path)
		}
	}
}

func TestUploadManifestPacksSmallBlobs(t *testing.T) {
	ctx := context.Background()
	c, puts := s3Runner(t, nil)
	root, m := uploadTree(t, 2500)
	_, st, err := c.UploadManifest(ctx, "src", root, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.BlobsSent != len(m.Blobs()) {
		t.Errorf("sent %d blobs of %d", st.BlobsSent, len(m.Blobs()))
	}
	// 2,500 small files go in 3 packs, the big one alone, then the
	// manifest.
	if n := puts.Load(); n > 6 {
		t.Errorf("%d PUTs for %d blobs, want packs", n, len(m.Blobs()))
	}
	checkBlobs(t, c, root, m)

	// Nothing missing the second time: the manifest alone.
	have, err := c.ListBlobs(ctx, "src")
	if err != nil {
		t.Fatal(err)
	}
	puts.Store(0)
	if _, st, err = c.UploadManifest(ctx, "src", root, m, have); err != nil {
		t.Fatal(err)
	}
	if st.BlobsSent != 0 || puts.Load() != 1 {
		t.Errorf("second upload sent %d blobs in %d PUTs", st.BlobsSent, puts.Load())
	}
}

// A runner that predates packs stores the tar as an object (here under
// another key, as the test has only the current service) and says nothing
// of packs: the client sends the blobs one by one.
func TestUploadManifestWithoutPacks(t *testing.T) {
	ctx := context.Background()
	c, _ := s3Runner(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.URL.Path = strings.Replace(r.URL.Path, "/"+blobpack.PackPrefix, "/old-packs/", 1)
			h.ServeHTTP(w, r)
		})
	})
	root, m := uploadTree(t, 50)
	if _, _, err := c.UploadManifest(ctx, "src", root, m, nil); err != nil {
		t.Fatal(err)
	}
	checkBlobs(t, c, root, m)
}

func TestBatchBlobs(t *testing.T) {
	var blobs []pack.Blob
	for i := range 2100 {
		blobs = append(blobs, pack.Blob{SHA256: fmt.Sprint(i), Size: 100})
	}
	blobs = append(blobs, pack.Blob{Size: 5 << 20}, pack.Blob{Size: 900 << 10})
	for range 10 {
		blobs = append(blobs, pack.Blob{Size: 900 << 10})
	}
	got := batchBlobs(blobs)
	total := 0
	for _, b := range got {
		total += len(b)
		var size int64
		for _, x := range b {
			size += x.Size
		}
		if len(b) > packMaxEntries || (len(b) > 1 && size > packMaxBytes) {
			t.Errorf("batch of %d blobs, %d bytes", len(b), size)
		}
		if len(b) > 1 && b[0].Size >= packBlobMax {
			t.Error("big blob in a pack")
		}
	}
	if total != len(blobs) {
		t.Errorf("%d blobs batched of %d", total, len(blobs))
	}
}
