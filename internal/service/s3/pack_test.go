package s3

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/hangarci/hangar/internal/blobpack"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// packOf writes a pack of contents with blobpack.Writer.
func packOf(t *testing.T, contents ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	pw := blobpack.NewWriter(&buf)
	for _, c := range contents {
		if err := pw.Add(sha(c), int64(len(c)), bytes.NewReader(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawPack writes a tar of hdrs (with the bodies for regular files) as is.
func rawPack(t *testing.T, hdrs []*tar.Header, bodies [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bodies[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// putPack sends body to a new pack key the way the client does: its
// SHA-256 as the checksum, the payload unsigned.
func putPack(ctx context.Context, c *awss3.Client, bucket string, body []byte) (*awss3.PutObjectOutput, error) {
	s := sha256.Sum256(body)
	return c.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(blobpack.PackKey()),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(s[:])),
	}, awss3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
}

func (f *fixture) keys(bucket string) []string {
	f.t.Helper()
	res, err := f.db.ListObjects(context.Background(), bucket, storeAll())
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, o := range res.Objects {
		out = append(out, o.Key)
	}
	return out
}

func TestBlobPackExplodesIntoBlobObjects(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false)
	f.mustBucket("src")
	c := f.client()
	a, b, empty := []byte("package main\n"), bytes.Repeat([]byte("b"), 300_000), []byte{}
	body := packOf(t, a, b, empty, a) // a twice: stored once
	out, err := putPack(ctx, c, "src", body)
	if err != nil {
		t.Fatal(err)
	}
	if out.ChecksumSHA256 == nil {
		t.Error("no checksum in the response")
	}
	for _, want := range [][]byte{a, b, empty} {
		g, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("src"), Key: aws.String(blobpack.BlobKey(sha(want))), ChecksumMode: "ENABLED"})
		if err != nil {
			t.Fatalf("get blob %s: %v", sha(want), err)
		}
		got, _ := io.ReadAll(g.Body)
		g.Body.Close()
		if !bytes.Equal(got, want) {
			t.Errorf("blob %s: got %d bytes, want %d", sha(want), len(got), len(want))
		}
		s := sha256.Sum256(want)
		if aws.ToString(g.ChecksumSHA256) != base64.StdEncoding.EncodeToString(s[:]) {
			t.Errorf("blob %s: checksum %q", sha(want), aws.ToString(g.ChecksumSHA256))
		}
	}
	keys := f.keys("src")
	if len(keys) != 3 {
		t.Errorf("objects %v, want the 3 blobs and no pack", keys)
	}
	for _, k := range keys {
		if blobpack.IsPackKey(k) {
			t.Errorf("pack stored as object %s", k)
		}
	}
	if n := f.blobCount(); n != 3 {
		t.Errorf("%d blobs in the store, want 3", n)
	}
	if n := f.tempCount(); n != 0 {
		t.Errorf("%d temp files left", n)
	}
}

func TestBlobPackKeepsExistingBlobs(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false)
	f.mustBucket("src")
	c := f.client()
	a, b := []byte("already there"), []byte("new")
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String(blobpack.BlobKey(sha(a))), Body: bytes.NewReader(a)}); err != nil {
		t.Fatal(err)
	}
	before, err := f.db.Object(ctx, "src", blobpack.BlobKey(sha(a)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := putPack(ctx, c, "src", packOf(t, a, b)); err != nil {
		t.Fatal(err)
	}
	after, err := f.db.Object(ctx, "src", blobpack.BlobKey(sha(a)))
	if err != nil {
		t.Fatal(err)
	}
	// The row is left as it was (no checksum was sent with the first PUT).
	if after.Checksum != before.Checksum || !after.Modified.Equal(before.Modified) {
		t.Errorf("existing blob object rewritten: %+v, was %+v", after, before)
	}
	if n := f.blobCount(); n != 2 {
		t.Errorf("%d blobs in the store, want 2", n)
	}
	if got := len(f.keys("src")); got != 2 {
		t.Errorf("%d objects, want 2", got)
	}
	if n := f.tempCount(); n != 0 {
		t.Errorf("%d temp files left", n)
	}
}

func TestBlobPackRefused(t *testing.T) {
	good := []byte("good content")
	bad := []byte("other content")
	reg := func(name string, size int) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(size), Mode: 0o444}
	}
	truncated := packOf(t, good, bytes.Repeat([]byte("x"), 5000))
	for _, tc := range []struct {
		name, code, msg string
		body            []byte
	}{
		{"wrong hash", "BadDigest", "holds content whose sha256", rawPack(t,
			[]*tar.Header{reg(sha(good), len(good)), reg(sha(good[:4]), len(bad))}, [][]byte{good, bad})},
		{"uppercase name", "InvalidArgument", "not a lowercase sha256", rawPack(t,
			[]*tar.Header{reg(sha(good), len(good)), reg(strings.ToUpper(sha(bad)), len(bad))}, [][]byte{good, bad})},
		{"path name", "InvalidArgument", "not a lowercase sha256", rawPack(t,
			[]*tar.Header{reg("x/"+sha(good), len(good))}, [][]byte{good})},
		{"symlink", "InvalidArgument", "not a regular file", rawPack(t,
			[]*tar.Header{reg(sha(good), len(good)), {Typeflag: tar.TypeSymlink, Name: sha(bad), Linkname: "/etc/passwd"}}, [][]byte{good, nil})},
		{"directory", "InvalidArgument", "not a regular file", rawPack(t,
			[]*tar.Header{{Typeflag: tar.TypeDir, Name: "d/", Mode: 0o755}}, [][]byte{nil})},
		{"hard link", "InvalidArgument", "not a regular file", rawPack(t,
			[]*tar.Header{reg(sha(good), len(good)), {Typeflag: tar.TypeLink, Name: sha(bad), Linkname: sha(good)}}, [][]byte{good, nil})},
		{"truncated", "InvalidArgument", "invalid blob pack", truncated[:len(good)+1024+2000]},
		{"not a tar", "InvalidArgument", "invalid blob pack", bytes.Repeat([]byte("junk"), 300)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, false)
			f.mustBucket("src")
			_, err := putPack(ctx, f.client(), "src", tc.body)
			var re interface{ HTTPStatusCode() int }
			var ae smithy.APIError
			if err == nil || !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadRequest || !errors.As(err, &ae) {
				t.Fatalf("put pack: %v, want a 400", err)
			}
			if ae.ErrorCode() != tc.code || !strings.Contains(ae.ErrorMessage(), tc.msg) {
				t.Errorf("got %s %q, want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), tc.code, tc.msg)
			}
			if keys := f.keys("src"); len(keys) != 0 {
				t.Errorf("objects stored: %v", keys)
			}
			if n := f.blobCount(); n != 0 {
				t.Errorf("%d blobs stored", n)
			}
			if n := f.tempCount(); n != 0 {
				t.Errorf("%d temp files left", n)
			}
		})
	}
}

// A pack whose body does not match the checksum sent with it is refused
// even though each entry is sound.
func TestBlobPackChecksumMismatch(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false)
	f.mustBucket("src")
	body := packOf(t, []byte("one"), []byte("two"))
	wrong := sha256.Sum256([]byte("something else"))
	_, err := f.client().PutObject(ctx, &awss3.PutObjectInput{
		Bucket: aws.String("src"), Key: aws.String(blobpack.PackKey()),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(wrong[:])),
	}, awss3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if code := apiCode(err); code != "BadDigest" {
		t.Fatalf("put pack: %v, want BadDigest", err)
	}
	if keys := f.keys("src"); len(keys) != 0 {
		t.Errorf("objects stored: %v", keys)
	}
	if n := f.blobCount(); n != 0 {
		t.Errorf("%d blobs stored", n)
	}
}
