package remote

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/hangarci/hangar/internal/blobpack"
	"github.com/hangarci/hangar/internal/pack"
)

// Key layout of the content-addressed upload to a Hangar runner. The
// runner assembles a source whose location ends in ManifestSuffix from the
// manifest and the blobs it names (DOWNLOAD_SOURCE).
const (
	BlobPrefix     = blobpack.BlobPrefix
	SourcePrefix   = "sources/"
	ManifestSuffix = ".hangar-manifest.json"
	// ArchivePrefix is where the one-archive upload (AWS) goes.
	ArchivePrefix = "hangar/code/"
)

// uploadParallel bounds the blob uploads in flight: enough to hide the
// round trips on loopback and on a LAN without flooding a shared runner.
const uploadParallel = 8

// Source is where a build's source was put.
type Source struct {
	Location string // bucket/key, as sourceLocationOverride takes it
	URI      string // s3://bucket/key
}

// UploadStats says what an upload sent.
type UploadStats struct {
	Blobs      int   `json:"blobs"`      // distinct contents in the tree
	BlobsSent  int   `json:"blobsSent"`  // of those, sent this time
	BlobsKnown int   `json:"blobsKnown"` // blobs the runner listed as held
	BytesSent  int64 `json:"bytesSent"`  // object bodies sent (blobs, manifest or archive)
	// ManifestBytes is the size of the manifest (or archive) object.
	ManifestBytes int64 `json:"manifestBytes"`
}

// ListBlobs lists the blobs the bucket holds (ListObjectsV2 over
// BlobPrefix, every page), as a set of SHA-256 hex names. The key space is
// listed as 16 ranges (blobs/0 … blobs/f) at once: pages of one listing
// come one after the other, and decoding them is what takes the time.
func (c *Client) ListBlobs(ctx context.Context, bucket string) (map[string]bool, error) {
	const hexDigits = "0123456789abcdef"
	parts := make([][]string, len(hexDigits))
	errs := make([]error, len(hexDigits))
	var wg sync.WaitGroup
	for i := range hexDigits {
		wg.Go(func() {
			parts[i], errs[i] = c.listBlobs(ctx, bucket, BlobPrefix+hexDigits[i:i+1])
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("list blobs in bucket %s: %w", bucket, err)
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	have := make(map[string]bool, n)
	for _, p := range parts {
		for _, h := range p {
			have[h] = true
		}
	}
	return have, nil
}

func (c *Client) listBlobs(ctx context.Context, bucket, prefix string) ([]string, error) {
	var out []string
	p := s3.NewListObjectsV2Paginator(c.S3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			if name := strings.TrimPrefix(aws.ToString(o.Key), BlobPrefix); blobpack.ValidHash(name) {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// ManifestKey is the key of m's manifest object.
func ManifestKey(m *pack.Manifest) (string, error) {
	sum, err := m.Hash()
	if err != nil {
		return "", fmt.Errorf("hash manifest: %w", err)
	}
	return SourcePrefix + sum + ManifestSuffix, nil
}

// HasManifest reports whether the runner already holds m's manifest (so
// also every blob it names: the manifest is uploaded last), and the source
// it makes.
func (c *Client) HasManifest(ctx context.Context, bucket string, m *pack.Manifest) (Source, bool, error) {
	key, err := ManifestKey(m)
	if err != nil {
		return Source{}, false, err
	}
	src := Source{Location: bucket + "/" + key, URI: "s3://" + bucket + "/" + key}
	_, err = c.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var nf *s3types.NotFound
	var nk *s3types.NoSuchKey
	switch {
	case err == nil:
		return src, true, nil
	case errors.As(err, &nf), errors.As(err, &nk):
		return src, false, nil
	default:
		return src, false, fmt.Errorf("look for manifest %s: %w", key, err)
	}
}

// UploadManifest sends a Hangar runner what it lacks of the tree at root:
// every blob of m not in have as BlobPrefix+<sha256> (small ones many to a
// request as blob packs, in parallel), then the
// manifest as SourcePrefix+<manifest sha256>+ManifestSuffix, the source
// location the build is started with.
func (c *Client) UploadManifest(ctx context.Context, bucket, root string, m *pack.Manifest, have map[string]bool) (Source, UploadStats, error) {
	plain, err := m.Encode()
	if err != nil {
		return Source{}, UploadStats{}, fmt.Errorf("encode manifest: %w", err)
	}
	// Sent gzipped: a 10,000-file manifest is 1.4 MB of JSON and a third of
	// that compressed, and after a one-file change it is most of what a run
	// sends. The runner tells gzip from JSON by the first bytes.
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	zw.Write(plain)
	if err := zw.Close(); err != nil {
		return Source{}, UploadStats{}, fmt.Errorf("compress manifest: %w", err)
	}
	doc := zbuf.Bytes()
	key, err := ManifestKey(m)
	if err != nil {
		return Source{}, UploadStats{}, err
	}
	missing := m.Missing(func(h string) bool { return have[h] })
	st := UploadStats{Blobs: len(m.Blobs()), BlobsSent: len(missing), BlobsKnown: len(have), ManifestBytes: int64(len(doc))}

	sent, err := c.putBlobs(ctx, bucket, root, missing)
	st.BytesSent = sent
	if err != nil {
		return Source{}, st, err
	}
	if err := c.put(ctx, bucket, key, bytes.NewReader(doc), int64(len(doc)), ""); err != nil {
		return Source{}, st, fmt.Errorf("upload manifest %s: %w", key, err)
	}
	st.BytesSent += int64(len(doc))
	return Source{Location: bucket + "/" + key, URI: "s3://" + bucket + "/" + key}, st, nil
}

// Blob packs (package blobpack): blobs under packBlobMax go to the runner
// many at a time, each pack up to packMaxBytes of content or packMaxEntries
// blobs, since one request per small file costs the runner a temporary
// file, a commit and a signature check apiece. Larger blobs go on their
// own, streamed from the file rather than held in memory.
const (
	packBlobMax    = 1 << 20
	packMaxBytes   = 8 << 20
	packMaxEntries = 1000
)

// batchBlobs splits blobs into what is sent in one request each: a big
// blob alone, small ones in packs. A lone small blob left over is sent on
// its own, as it costs no more that way.
func batchBlobs(blobs []pack.Blob) [][]pack.Blob {
	var out [][]pack.Blob
	var cur []pack.Blob
	var curBytes int64
	for _, b := range blobs {
		if b.Size >= packBlobMax {
			out = append(out, []pack.Blob{b})
			continue
		}
		if len(cur) > 0 && (len(cur) >= packMaxEntries || curBytes+b.Size > packMaxBytes) {
			out = append(out, cur)
			cur, curBytes = nil, 0
		}
		cur = append(cur, b)
		curBytes += b.Size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// putBlobs uploads blobs, in packs and alone, with at most uploadParallel
// requests in flight; the first error stops the rest. It returns the bytes
// of object bodies sent.
func (c *Client) putBlobs(ctx context.Context, bucket, root string, blobs []pack.Blob) (int64, error) {
	if len(blobs) == 0 {
		return 0, nil
	}
	batches := batchBlobs(blobs)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var sent atomic.Int64
	work := make(chan []pack.Blob)
	var wg sync.WaitGroup
	for range min(uploadParallel, len(batches)) {
		wg.Go(func() {
			var buf bytes.Buffer // one per worker, reused pack after pack
			for batch := range work {
				var n int64
				var err error
				if len(batch) == 1 {
					n, err = batch[0].Size, c.putBlob(ctx, bucket, root, batch[0])
				} else {
					n, err = c.putPack(ctx, &buf, bucket, root, batch)
				}
				if err != nil {
					cancel(err)
					continue
				}
				sent.Add(n)
			}
		})
	}
feed:
	for _, b := range batches {
		select {
		case work <- b:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return sent.Load(), err
	}
	return sent.Load(), nil
}

// putPack sends blobs as one blob pack, built in buf, with the pack's
// SHA-256 as its checksum so the runner checks the body as it does a
// blob's (each entry it checks against its name). A runner that does not
// know packs stores the tar as an object: then the pack is deleted and the
// blobs go one by one.
func (c *Client) putPack(ctx context.Context, buf *bytes.Buffer, bucket, root string, blobs []pack.Blob) (int64, error) {
	buf.Reset()
	// Sized once: growing a buffer to megabytes by doubling costs more
	// than filling it. Each entry is a 512-byte header and its content
	// padded to 512 bytes; the tar ends with two zero blocks.
	need := 1024
	for _, b := range blobs {
		need += 512 + int(b.Size+511)&^511
	}
	buf.Grow(need)
	pw := blobpack.NewWriter(buf)
	for _, b := range blobs {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := addToPack(pw, root, b); err != nil {
			return 0, err
		}
	}
	if err := pw.Close(); err != nil {
		return 0, err
	}
	sum := sha256.Sum256(buf.Bytes())
	key := blobpack.PackKey()
	size := int64(buf.Len())
	in := &s3.PutObjectInput{
		Bucket:         aws.String(bucket),
		Key:            aws.String(key),
		Body:           bytes.NewReader(buf.Bytes()),
		ContentLength:  aws.Int64(size),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	}
	out, err := c.S3.PutObject(ctx, in, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if err != nil {
		return 0, fmt.Errorf("upload %d files (%s, …) as blob pack %s: %w", len(blobs), blobs[0].Path, key, err)
	}
	if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok && raw.Header.Get(blobpack.ResponseHeader) != "" {
		return size, nil
	}
	if _, err := c.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		return size, fmt.Errorf("remove blob pack %s the runner stored as an object: %w", key, err)
	}
	for _, b := range blobs {
		if err := c.putBlob(ctx, bucket, root, b); err != nil {
			return size, err
		}
		size += b.Size
	}
	return size, nil
}

// addToPack appends the file of b to a pack.
func addToPack(pw *blobpack.Writer, root string, b pack.Blob) error {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(b.Path)))
	if err != nil {
		return fmt.Errorf("pack %s: %w", b.Path, err)
	}
	defer f.Close()
	if err := pw.Add(b.SHA256, b.Size, f); err != nil {
		// A file shorter than when it was scanned ends here; a longer or
		// different one the runner refuses by its hash.
		return fmt.Errorf("pack %s: %w", b.Path, err)
	}
	return nil
}

// putBlob sends one file as a blob. Its SHA-256 goes along as the object's
// checksum, so the runner refuses the body if the file changed since the
// scan; the SigV4 payload hash is then left out (UNSIGNED-PAYLOAD) so the
// file is read once.
func (c *Client) putBlob(ctx context.Context, bucket, root string, b pack.Blob) error {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(b.Path)))
	if err != nil {
		return fmt.Errorf("upload %s: %w", b.Path, err)
	}
	defer f.Close()
	raw, err := hex.DecodeString(b.SHA256)
	if err != nil {
		return fmt.Errorf("upload %s: bad hash %q", b.Path, b.SHA256)
	}
	if err := c.put(ctx, bucket, blobpack.BlobKey(b.SHA256), f, b.Size, base64.StdEncoding.EncodeToString(raw)); err != nil {
		return fmt.Errorf("upload %s as blob %s: %w", b.Path, b.SHA256, err)
	}
	return nil
}

// put is one PutObject. With a checksum (Hangar targets) the runner checks
// the body against it and the payload is not hashed again for signing.
func (c *Client) put(ctx context.Context, bucket, key string, body io.Reader, size int64, sha256b64 string) error {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          body,
		ContentLength: aws.Int64(size),
	}
	var opts []func(*s3.Options)
	if sha256b64 != "" {
		in.ChecksumSHA256 = aws.String(sha256b64)
		opts = append(opts, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	}
	_, err := c.S3.PutObject(ctx, in, opts...)
	return err
}

// ArchiveKey is the key of the one-archive upload:
// hangar/code/<UTC timestamp>-<branch>-<sha7>[-dirty].zip, the Jets naming
// with characters outside [A-Za-z0-9-_] turned to '-' and runs squeezed.
func ArchiveKey(now time.Time, git pack.Info) string {
	parts := []string{now.UTC().Format("2006-01-02T15-04-05Z")}
	branch := git.Branch
	if branch == "" {
		branch = "nobranch"
		if git.Detached {
			branch = "detached"
		}
	}
	parts = append(parts, branch)
	if sha := git.SHA; len(sha) >= 7 {
		parts = append(parts, sha[:7])
	} else {
		parts = append(parts, "nocommit")
	}
	if git.Dirty {
		parts = append(parts, "dirty")
	}
	name := keyUnsafe.ReplaceAllString(strings.Join(parts, "-"), "-")
	name = strings.Trim(dashes.ReplaceAllString(name, "-"), "-")
	return ArchivePrefix + name + ".zip"
}

var (
	keyUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)
	dashes    = regexp.MustCompile(`-{2,}`)
)

// UploadArchive writes the tree of m as one zip (what CodeBuild's S3 source
// takes) to a temporary file and uploads it to key: the AWS path.
func (c *Client) UploadArchive(ctx context.Context, bucket, key, root string, m *pack.Manifest) (Source, UploadStats, error) {
	st := UploadStats{Blobs: len(m.Blobs())}
	tmp, err := os.CreateTemp("", "hangar-source-*.zip")
	if err != nil {
		return Source{}, st, fmt.Errorf("make source archive: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := pack.WriteArchive(ctx, tmp, root, m, pack.FormatZip); err != nil {
		return Source{}, st, fmt.Errorf("write source archive: %w", err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return Source{}, st, fmt.Errorf("write source archive: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return Source{}, st, fmt.Errorf("write source archive: %w", err)
	}
	if err := c.put(ctx, bucket, key, tmp, size, ""); err != nil {
		return Source{}, st, fmt.Errorf("upload source archive s3://%s/%s: %w", bucket, key, err)
	}
	st.BlobsSent, st.BytesSent, st.ManifestBytes = st.Blobs, size, size
	return Source{Location: bucket + "/" + key, URI: "s3://" + bucket + "/" + key}, st, nil
}

// errNoBucket is returned when a run is asked to upload with no bucket.
var errNoBucket = errors.New("no bucket to upload the source to (bootstrap did not name one)")
