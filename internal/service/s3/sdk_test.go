package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestSDKBuckets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false)
	c := f.client()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Fatal(err)
	}
	// us-east-1 answers 200 to the owner re-creating a bucket.
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Fatalf("re-create in us-east-1: %v", err)
	}
	if _, err := c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Fatal(err)
	}
	var nf *types.NotFound
	if _, err := c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("missing")}); !errors.As(err, &nf) {
		t.Fatalf("HeadBucket missing: %v", err)
	}
	out, err := c.ListBuckets(ctx, &awss3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 1 || *out.Buckets[0].Name != "alpha" || out.Owner == nil {
		t.Fatalf("ListBuckets = %+v, %v", out, err)
	}
	loc, err := c.GetBucketLocation(ctx, &awss3.GetBucketLocationInput{Bucket: aws.String("alpha")})
	if err != nil || loc.LocationConstraint != "" {
		t.Fatalf("GetBucketLocation = %+v, %v", loc, err)
	}
	_, err = c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("beta"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintUsWest2}})
	if apiCode(err) != "IllegalLocationConstraintException" {
		t.Fatalf("create with another region: %v", err)
	}
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("alpha")}); apiCode(err) != "BucketNotEmpty" {
		t.Fatalf("delete non-empty: %v", err)
	}
	c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k")})
	if _, err := c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("alpha")}); apiCode(err) != "NoSuchBucket" {
		t.Fatalf("delete missing: %v", err)
	}
	if f.blobCount() != 0 {
		t.Fatalf("%d blobs left after deleting everything", f.blobCount())
	}
}

func TestSDKObjects(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) { testSDKObjects(t, useTLS) })
	}
}

func testSDKObjects(t *testing.T, useTLS bool) {
	ctx := context.Background()
	f := newFixture(t, useTLS)
	c := f.client()
	f.mustBucket("bkt")
	key := "dir/ä ö+%2F/../x y?z#frag"
	body := "hello, hangar"
	put, err := c.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: aws.String("bkt"), Key: aws.String(key), Body: strings.NewReader(body),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"Color": "blue"},
		CacheControl: aws.String("no-cache"),
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum([]byte(body))
	if want := `"` + hex.EncodeToString(sum[:]) + `"`; aws.ToString(put.ETag) != want {
		t.Fatalf("ETag = %s, want %s", aws.ToString(put.ETag), want)
	}
	if put.ChecksumCRC32 == nil {
		t.Fatalf("PutObject returned no checksum (the SDK sends CRC32 by default)")
	}
	get, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if string(got) != body || aws.ToString(get.ContentType) != "text/plain" || get.Metadata["color"] != "blue" ||
		aws.ToString(get.CacheControl) != "no-cache" || aws.ToInt64(get.ContentLength) != int64(len(body)) || get.LastModified == nil {
		t.Fatalf("GetObject = %q %+v", got, get)
	}
	if aws.ToString(get.ChecksumCRC32) != aws.ToString(put.ChecksumCRC32) {
		t.Fatalf("GetObject checksum %q, put %q", aws.ToString(get.ChecksumCRC32), aws.ToString(put.ChecksumCRC32))
	}

	rng, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Range: aws.String("bytes=7-12")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(rng.Body)
	rng.Body.Close()
	if string(got) != "hangar" || aws.ToString(rng.ContentRange) != fmt.Sprintf("bytes 7-12/%d", len(body)) {
		t.Fatalf("range = %q, %s", got, aws.ToString(rng.ContentRange))
	}
	rng, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Range: aws.String("bytes=-6")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(rng.Body)
	rng.Body.Close()
	if string(got) != "hangar" {
		t.Fatalf("suffix range = %q", got)
	}
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Range: aws.String("bytes=100-")})
	if apiCode(err) != "InvalidRange" {
		t.Fatalf("range past the end: %v", err)
	}

	head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key)})
	if err != nil || aws.ToString(head.ETag) != aws.ToString(put.ETag) || aws.ToInt64(head.ContentLength) != int64(len(body)) {
		t.Fatalf("HeadObject = %+v, %v", head, err)
	}
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), IfNoneMatch: put.ETag})
	if !strings.Contains(fmt.Sprint(err), "304") {
		t.Fatalf("If-None-Match: %v", err)
	}
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), IfMatch: aws.String(`"nope"`)})
	if apiCode(err) != "PreconditionFailed" {
		t.Fatalf("If-Match: %v", err)
	}
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), IfModifiedSince: aws.Time(time.Now().Add(time.Hour))})
	if !strings.Contains(fmt.Sprint(err), "304") {
		t.Fatalf("If-Modified-Since: %v", err)
	}

	var nsk *types.NoSuchKey
	if _, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("missing")}); !errors.As(err, &nsk) {
		t.Fatalf("GetObject missing key: %v", err)
	}
	if _, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("k")}); apiCode(err) != "NoSuchBucket" {
		t.Fatalf("GetObject missing bucket: %v", err)
	}
	var nf *types.NotFound
	if _, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("missing")}); !errors.As(err, &nf) {
		t.Fatalf("HeadObject missing: %v", err)
	}

	// Copy by reference, then replace the source: the copy keeps its bytes.
	cp, err := c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy"), CopySource: aws.String("bkt/" + urlPathEscape(key))})
	if err != nil || aws.ToString(cp.CopyObjectResult.ETag) != aws.ToString(put.ETag) {
		t.Fatalf("CopyObject = %+v, %v", cp, err)
	}
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Body: strings.NewReader("replaced")}); err != nil {
		t.Fatal(err)
	}
	if got := getString(t, c, "bkt", "copy"); got != body {
		t.Fatalf("copy = %q", got)
	}
	_, err = c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy"), CopySource: aws.String("bkt/copy")})
	if apiCode(err) != "InvalidRequest" {
		t.Fatalf("copy onto itself: %v", err)
	}

	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key)}); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy")}); err != nil {
		t.Fatal(err)
	}
	if n := f.blobCount(); n != 0 {
		t.Fatalf("%d blobs left", n)
	}
}

func urlPathEscape(key string) string {
	var b strings.Builder
	for _, seg := range strings.Split(key, "/") {
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(
			strings.ReplaceAll(seg, "%", "%25"), " ", "%20"), "+", "%2B"), "?", "%3F"), "#", "%23"))
	}
	return b.String()
}

func getString(t *testing.T, c *awss3.Client, bucket, key string) string {
	t.Helper()
	out, err := c.GetObject(context.Background(), &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// randReader is an unseekable stream of n pseudo-random bytes, so the SDK
// must stream it (aws-chunked over TLS) instead of hashing it up front.
type randReader struct {
	r *rand.ChaCha8
	n int64
}

func (r *randReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	r.r.Read(p)
	r.n -= int64(len(p))
	return len(p), nil
}

func TestSDKLargeStreamedPut(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true)
	c := f.client()
	f.mustBucket("big")
	const size = 50 << 20
	seed := [32]byte{1, 2, 3}
	want := sha256.New()
	io.Copy(want, &randReader{r: rand.NewChaCha8(seed), n: size})
	_, err := c.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: aws.String("big"), Key: aws.String("blob.bin"),
		Body: &randReader{r: rand.NewChaCha8(seed), n: size}, ContentLength: aws.Int64(size),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !f.sawRequest("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "aws-chunked") {
		t.Fatal("the SDK did not stream the body as aws-chunked with a trailer")
	}
	out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("big"), Key: aws.String("blob.bin")})
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, out.Body)
	out.Body.Close()
	if err != nil || n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("got %d bytes, err %v, hash match %v", n, err, bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
	// The blob is named by the content's SHA-256.
	if !f.blobs.Has(hex.EncodeToString(want.Sum(nil))) {
		t.Fatal("blob not stored under its sha256")
	}
	rng, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("big"), Key: aws.String("blob.bin"), Range: aws.String("bytes=40000000-40000009")})
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(rng.Body)
	rng.Body.Close()
	all := make([]byte, 40000010)
	io.ReadFull(&randReader{r: rand.NewChaCha8(seed), n: size}, all)
	if !bytes.Equal(part, all[40000000:]) {
		t.Fatal("range of a large object differs")
	}
}

func TestSDKListObjectsV2(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false)
	c := f.client()
	f.mustBucket("list")
	keys := []string{"a.txt", "dir/1", "dir/2", "dir/sub/3", "dir/sub/4", "other/5", "z", "ü", "sp ace/6"}
	for _, k := range keys {
		if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("list"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	pages := 0
	p := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: aws.String("list"), MaxKeys: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range out.Contents {
			all = append(all, *o.Key)
			if aws.ToInt64(o.Size) != int64(len(*o.Key)) || o.ETag == nil || o.LastModified == nil {
				t.Fatalf("entry %+v", o)
			}
		}
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	if !slices.Equal(all, sorted) || pages != 5 {
		t.Fatalf("paged listing = %q in %d pages", all, pages)
	}

	out, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("list"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var objs, prefixes []string
	for _, o := range out.Contents {
		objs = append(objs, *o.Key)
	}
	for _, cp := range out.CommonPrefixes {
		prefixes = append(prefixes, *cp.Prefix)
	}
	if !slices.Equal(objs, []string{"a.txt", "z", "ü"}) || !slices.Equal(prefixes, []string{"dir/", "other/", "sp ace/"}) || aws.ToInt32(out.KeyCount) != 6 {
		t.Fatalf("delimiter listing: %q %q %d", objs, prefixes, aws.ToInt32(out.KeyCount))
	}

	out, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("list"), Prefix: aws.String("dir/"), Delimiter: aws.String("/"), FetchOwner: aws.Bool(true)})
	if err != nil || len(out.Contents) != 2 || len(out.CommonPrefixes) != 1 || *out.CommonPrefixes[0].Prefix != "dir/sub/" || out.Contents[0].Owner == nil {
		t.Fatalf("prefix listing: %+v %v", out, err)
	}
	out, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("list"), StartAfter: aws.String("other/5")})
	if err != nil || len(out.Contents) != 3 || *out.Contents[0].Key != "sp ace/6" {
		t.Fatalf("start-after listing: %+v %v", out, err)
	}
	out, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("list"), Prefix: aws.String("sp "), EncodingType: types.EncodingTypeUrl})
	if err != nil || len(out.Contents) != 1 || *out.Contents[0].Key != "sp+ace%2F6" {
		t.Fatalf("url-encoded listing: %+v %v", out, err)
	}
	v1, err := c.ListObjects(ctx, &awss3.ListObjectsInput{Bucket: aws.String("list"), Marker: aws.String("dir/sub/4"), MaxKeys: aws.Int32(2)})
	if err != nil || len(v1.Contents) != 2 || *v1.Contents[0].Key != "other/5" || !aws.ToBool(v1.IsTruncated) {
		t.Fatalf("v1 listing: %+v %v", v1, err)
	}
	var nsb *types.NoSuchBucket
	if _, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("nobucket")}); !errors.As(err, &nsb) {
		t.Fatalf("list missing bucket: %v", err)
	}
}

func TestSDKDeleteObjects(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false)
	c := f.client()
	f.mustBucket("deletes")
	for _, k := range []string{"a", "b", "c"} {
		c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("deletes"), Key: aws.String(k), Body: strings.NewReader(k)})
	}
	out, err := c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String("deletes"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("a")}, {Key: aws.String("b")}, {Key: aws.String("missing")}, {Key: aws.String(strings.Repeat("k", 1025))},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 3 || len(out.Errors) != 1 || aws.ToString(out.Errors[0].Code) != "KeyTooLongError" {
		t.Fatalf("DeleteObjects = %d deleted, errors %+v", len(out.Deleted), out.Errors)
	}
	lst, _ := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("deletes")})
	if len(lst.Contents) != 1 || *lst.Contents[0].Key != "c" {
		for _, o := range lst.Contents {
			t.Log(*o.Key)
		}
		t.Fatalf("left: %d", len(lst.Contents))
	}
	if f.blobCount() != 1 {
		t.Fatalf("%d blobs, want 1", f.blobCount())
	}
}

func TestSDKMultipart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true)
	c := f.client()
	f.mustBucket("multi")
	create, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("multi"), Key: aws.String("whole"),
		ContentType: aws.String("application/x-tar"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.NewChaCha8([32]byte{9})
	part1 := make([]byte, 5<<20)
	r.Read(part1)
	part2 := []byte("the last part may be small")
	var completed []types.CompletedPart
	var md5s []byte
	for i, data := range [][]byte{part1, part2} {
		up, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("multi"), Key: aws.String("whole"), UploadId: create.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(data), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
		if err != nil {
			t.Fatal(err)
		}
		completed = append(completed, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag, ChecksumCRC32: up.ChecksumCRC32})
		s := md5.Sum(data)
		md5s = append(md5s, s[:]...)
	}
	parts, err := c.ListParts(ctx, &awss3.ListPartsInput{Bucket: aws.String("multi"), Key: aws.String("whole"), UploadId: create.UploadId})
	if err != nil || len(parts.Parts) != 2 || aws.ToInt64(parts.Parts[0].Size) != int64(len(part1)) {
		t.Fatalf("ListParts = %+v, %v", parts, err)
	}
	// Out of order parts are refused.
	_, err = c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("multi"), Key: aws.String("whole"), UploadId: create.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{completed[1], completed[0]}}})
	if apiCode(err) != "InvalidPartOrder" {
		t.Fatalf("out of order: %v", err)
	}
	done, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("multi"), Key: aws.String("whole"), UploadId: create.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed}})
	if err != nil {
		t.Fatal(err)
	}
	s := md5.Sum(md5s)
	if want := `"` + hex.EncodeToString(s[:]) + `-2"`; aws.ToString(done.ETag) != want {
		t.Fatalf("ETag = %s, want %s", aws.ToString(done.ETag), want)
	}
	if got := getString(t, c, "multi", "whole"); got != string(part1)+string(part2) {
		t.Fatalf("assembled object differs (%d bytes)", len(got))
	}
	// Only the assembled blob is left: the part blobs were released.
	if n := f.blobCount(); n != 1 {
		t.Fatalf("%d blobs after complete, want 1", n)
	}
	var nsu *types.NoSuchUpload
	if _, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("multi"), Key: aws.String("whole"), UploadId: create.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("x")}); apiCode(err) != "NoSuchUpload" {
		t.Fatalf("part of a completed upload: %v", err)
	}

	// Abort drops the parts and their blobs.
	create2, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("multi"), Key: aws.String("aborted")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("multi"), Key: aws.String("aborted"), UploadId: create2.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("some part")}); err != nil {
		t.Fatal(err)
	}
	ups, err := c.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: aws.String("multi")})
	if err != nil || len(ups.Uploads) != 1 || aws.ToString(ups.Uploads[0].UploadId) != aws.ToString(create2.UploadId) {
		t.Fatalf("ListMultipartUploads = %+v, %v", ups, err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: aws.String("multi"), Key: aws.String("aborted"), UploadId: create2.UploadId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: aws.String("multi"), Key: aws.String("aborted"), UploadId: create2.UploadId}); !errors.As(err, &nsu) {
		t.Fatalf("abort twice: %v", err)
	}
	if n := f.blobCount(); n != 1 {
		t.Fatalf("%d blobs after abort, want 1", n)
	}
}

// TestConcurrentSameContent races puts and deletes of identical content
// under many keys: blobs are shared, and one must never be removed while an
// object still points at it.
func TestConcurrentSameContent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false)
	c := f.client()
	f.mustBucket("race")
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 15 {
				key := fmt.Sprintf("k%d", (g+i)%4)
				body := []string{"same", "other"}[i%2]
				var err error
				if i%3 == 2 {
					_, err = c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("race"), Key: aws.String(key)})
				} else {
					_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("race"), Key: aws.String(key), Body: strings.NewReader(body)})
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	res, err := f.db.ListObjects(ctx, "race", storeAll())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, o := range res.Objects {
		if !f.blobs.Has(o.Blob) {
			t.Fatalf("object %s points at missing blob %s", o.Key, o.Blob)
		}
		want[o.Blob] = true
		getString(t, c, "race", o.Key)
	}
	if n := f.blobCount(); n != len(want) {
		t.Fatalf("%d blobs for %d distinct contents", n, len(want))
	}
}

func TestRemoveOrphanBlobs(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false)
	f.mustBucket("orphans")
	if _, err := f.client().PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("orphans"), Key: aws.String("k"), Body: strings.NewReader("kept")}); err != nil {
		t.Fatal(err)
	}
	// What a crash between a blob's commit and its row leaves.
	if _, err := f.blobs.Put(ctx, strings.NewReader("orphan")); err != nil {
		t.Fatal(err)
	}
	n, err := f.svc.RemoveOrphanBlobs(ctx)
	if err != nil || n != 1 || f.blobCount() != 1 {
		t.Fatalf("RemoveOrphanBlobs = %d, %v; %d blobs left", n, err, f.blobCount())
	}
	if got := getString(t, f.client(), "orphans", "k"); got != "kept" {
		t.Fatalf("object = %q", got)
	}
}
