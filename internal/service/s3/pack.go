package s3

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hangarci/hangar/internal/blobpack"
	"github.com/hangarci/hangar/internal/blobstore"
	"github.com/hangarci/hangar/internal/store"
)

// Blob packs (package blobpack): a PutObject to a pack key is not stored.
// The tar it carries is checked, the whole body as any PutObject's (length,
// Content-MD5, x-amz-content-sha256, flexible checksum) and each entry
// against its name, and every entry becomes the object blobs/<sha256> of
// the same bucket, as if put on its own with its SHA-256 checksum: one
// request and one database transaction for thousands of small blobs. A
// pack with any bad entry is refused whole (400) and nothing of it is
// stored.

// bodySum hashes a request body as a blobstore.Writer would, for
// payload.finish: the size, and the digests it checks (the MD5 always, as
// it is the ETag; the SHA-256 only against an x-amz-content-sha256 digest).
type bodySum struct {
	sha, md5 hash.Hash
	size     int64
}

func newBodySum(p *payload) *bodySum {
	b := &bodySum{md5: md5.New()}
	if p.sha256 != "" {
		b.sha = sha256.New()
	}
	return b
}

func (b *bodySum) Write(p []byte) (int, error) {
	if b.sha != nil {
		b.sha.Write(p)
	}
	b.md5.Write(p)
	b.size += int64(len(p))
	return len(p), nil
}

func (b *bodySum) blob() blobstore.Blob {
	out := blobstore.Blob{MD5: hex.EncodeToString(b.md5.Sum(nil)), Size: b.size}
	if b.sha != nil {
		out.SHA256 = hex.EncodeToString(b.sha.Sum(nil))
	}
	return out
}

// packBlob is one entry of a pack, written to the blob store but not yet
// committed.
type packBlob struct {
	w    *blobstore.Writer
	blob blobstore.Blob
}

func (s *Service) putPack(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	if err := s.needBucket(ctx, bucket); err != nil {
		return err
	}
	p, err := s.openPayload(r, min(s.MaxObjectSize, blobpack.MaxSize))
	if err != nil {
		return err
	}
	sum := newBodySum(p)
	body := io.TeeReader(p, sum)

	var blobs []packBlob
	committed := false
	defer func() {
		if !committed {
			for _, b := range blobs {
				b.w.Abort()
			}
		}
	}()
	seen := make(map[string]bool)
	buf := make([]byte, 64<<10)
	entries := 0
	err = blobpack.Read(body, func(name string, size int64, content io.Reader) error {
		entries++
		if seen[name] {
			return nil // checked by Read all the same, stored once
		}
		seen[name] = true
		if s.Authorize != nil {
			// The pack's key was authorised; the keys it writes are others.
			if err := s.Authorize(ctx, "s3:PutObject", "arn:aws:s3:::"+bucket+"/"+blobpack.BlobKey(name)); err != nil {
				return err
			}
		}
		bw, err := s.blobs.NewWriter()
		if err != nil {
			return err
		}
		blobs = append(blobs, packBlob{w: bw})
		if err := ctx.Err(); err != nil {
			return err
		}
		// One buffer for all entries: Writer.ReadFrom's own is sized for
		// one big object, and allocating it per small blob shows.
		if _, err := io.CopyBuffer(struct{ io.Writer }{bw}, content, buf); err != nil {
			return err
		}
		// Closed now: a pack may hold thousands of entries, and a file
		// descriptor each until the commit would be too many.
		if err := bw.Close(); err != nil {
			return err
		}
		blobs[len(blobs)-1].blob = bw.Sum()
		return nil
	})
	if err == nil {
		// Past the tar trailer: the rest of the body counts for its checks.
		_, err = io.Copy(io.Discard, body)
	}
	if err != nil {
		return packError(p, key, err)
	}
	c, err := p.finish(sum.blob())
	if err != nil {
		return err
	}

	now := time.Now()
	objs := make([]store.Object, len(blobs))
	for i, b := range blobs {
		raw, _ := hex.DecodeString(b.blob.SHA256)
		objs[i] = store.Object{
			Bucket: bucket, Key: blobpack.BlobKey(b.blob.SHA256), Blob: b.blob.SHA256, Size: b.blob.Size, ETag: b.blob.MD5,
			ChecksumAlgorithm: "SHA256", ChecksumType: "FULL_OBJECT", Checksum: base64.StdEncoding.EncodeToString(raw),
			Modified: now,
		}
	}
	var prev []string
	err = s.commit(func() error {
		committed = true
		for i, b := range blobs {
			if _, err := b.w.Commit(); err != nil {
				for _, rest := range blobs[i+1:] {
					rest.w.Abort()
				}
				return err
			}
		}
		_, prev, err = s.db.AddObjects(ctx, objs)
		return err
	})
	if err != nil {
		// Some blobs may be committed with nothing referring to them.
		hashes := make([]string, len(objs))
		for i, o := range objs {
			hashes[i] = o.Blob
		}
		s.release(ctx, hashes...)
		return bucketErr(err, bucket, "")
	}
	s.release(ctx, prev...)
	h := w.Header()
	h.Set("ETag", quote(sum.blob().MD5))
	if c.algo != nil {
		setChecksumHeaders(h, c.algo.name, "FULL_OBJECT", c.checksum)
	}
	h.Set(blobpack.ResponseHeader, strconv.Itoa(entries))
	w.WriteHeader(http.StatusOK)
	return nil
}

// packError turns an error met while reading a pack into what the client
// should see.
func packError(p *payload, key string, err error) error {
	var he *blobpack.HashError
	var fe *blobpack.FormatError
	switch {
	case p.body.err != nil || errors.Is(err, context.Canceled):
		// The body did not arrive whole; what the tar reader made of
		// that is beside the point.
		return p.readError(err)
	case errors.As(err, &he):
		return newErr("BadDigest", http.StatusBadRequest, he.Error(), "Key", blobpack.BlobKey(he.Name), "CalculatedDigest", he.Got)
	case errors.As(err, &fe):
		return errInvalidArgument(fe.Error(), "key", key)
	}
	return p.readError(err)
}
