package runner

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/hangarci/hangar/internal/blobpack"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/pack"
)

// Content-addressed sources: the client uploads each distinct file once as
// s3://<bucket>/blobs/<sha256> (package blobpack: small ones many to a
// request, which the S3 service stores as separate blobs) and a manifest
// of the tree as s3://<bucket>/sources/<sha256>.hangar-manifest.json; the
// build's source location names the manifest, and the runner rebuilds the
// tree from the blobs it already holds.
const (
	manifestSuffix = ".hangar-manifest.json"
	// maxManifest bounds what is read before parsing (about 1M entries).
	maxManifest = 256 << 20
)

// fetchManifest assembles the tree a manifest describes into dir.
func (run *buildRun) fetchManifest(ctx context.Context, bucket, key, dir string) outcome {
	loc := bucket + "/" + key
	f, err := run.r.cfg.Objects.OpenObject(ctx, bucket, key)
	var oe *ObjectError
	if errors.As(err, &oe) {
		return outcome{model.StatusFailed, codeClient, fmt.Sprintf("%s: %s for primary source and source version %s", oe.Code, oe.Message, loc)}
	}
	if err != nil {
		return fault("fetch source manifest %s: %v", loc, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	f.Close()
	if err != nil {
		return fault("read source manifest %s: %v", loc, err)
	}
	if len(data) > maxManifest {
		return outcome{model.StatusFailed, codeClient, fmt.Sprintf("source manifest %s is larger than %d bytes", loc, maxManifest)}
	}
	if data, err = gunzipManifest(data); err != nil {
		return outcome{model.StatusFailed, codeClient, fmt.Sprintf("invalid source manifest %s: %v", loc, err)}
	}
	blob := func(hash string) (string, error) {
		return run.r.cfg.Objects.BlobFile(ctx, bucket, blobpack.BlobKey(hash), hash)
	}
	// Lambda builds get a copy of their own: their user must own the source
	// (the cached trees are root's, and an overlay keeps that).
	if c := run.r.cfg.Sources; c != nil && run.r.cfg.Sandboxes.Isolated() && !run.lambda {
		// The cache is keyed by the hash of the bytes read, never by the
		// object's name, which the client chose.
		sum := sha256.Sum256(data)
		parse := func() (*pack.Manifest, error) { return pack.ParseManifest(data) }
		root, release, err := c.Get(ctx, hex.EncodeToString(sum[:]), parse, blob)
		if err != nil {
			if ctx.Err() != nil {
				return interrupted(ctx)
			}
			return outcome{model.StatusFailed, codeClient, fmt.Sprintf("invalid source %s: %v", loc, err)}
		}
		run.tree, run.releaseTree = root, release
		return succeeded
	}
	m, err := pack.ParseManifest(data)
	if err != nil {
		return outcome{model.StatusFailed, codeClient, fmt.Sprintf("invalid source manifest %s: %v", loc, err)}
	}
	if err := pack.Assemble(ctx, m, dir, blob); err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return outcome{model.StatusFailed, codeClient, fmt.Sprintf("assemble source %s: %v", loc, err)}
	}
	return succeeded
}

// gunzipManifest returns a manifest sent gzipped (clients compress it) as
// JSON, within the size bound; JSON passes through.
func gunzipManifest(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxManifest+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxManifest {
		return nil, fmt.Errorf("larger than %d bytes uncompressed", maxManifest)
	}
	return out, nil
}
