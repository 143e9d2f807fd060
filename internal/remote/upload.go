package remote

import (
	"bytes"
	"compress/gzip"
	"context"
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
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/hangarci/hangar/internal/pack"
)

// Key layout of the content-addressed upload to a Hangar runner. The
// runner assembles a source whose location ends in ManifestSuffix from the
// manifest and the blobs it names (DOWNLOAD_SOURCE).
const (
	BlobPrefix     = "blobs/"
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
			if name := strings.TrimPrefix(aws.ToString(o.Key), BlobPrefix); isSHA256(name) {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
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
// every blob of m not in have as BlobPrefix+<sha256> (in parallel), then the
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

// putBlobs uploads blobs with at most uploadParallel in flight; the first
// error stops the rest.
func (c *Client) putBlobs(ctx context.Context, bucket, root string, blobs []pack.Blob) (int64, error) {
	if len(blobs) == 0 {
		return 0, nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var sent atomic.Int64
	work := make(chan pack.Blob)
	var wg sync.WaitGroup
	for range min(uploadParallel, len(blobs)) {
		wg.Go(func() {
			for b := range work {
				if err := c.putBlob(ctx, bucket, root, b); err != nil {
					cancel(err)
					continue
				}
				sent.Add(b.Size)
			}
		})
	}
feed:
	for _, b := range blobs {
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
	if err := c.put(ctx, bucket, BlobPrefix+b.SHA256, f, b.Size, base64.StdEncoding.EncodeToString(raw)); err != nil {
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
