package main

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The peer of source sync is what the Jets remote runner does on every
// run (rubyonjets/jets lib/jets/code.rb): `zip --symlinks -rq code.zip .`
// of the staged tree, then one upload of the whole zip to S3. Here the zip
// is of the tree itself (Jets first copies it with rsync, left out, which
// flatters the peer) and the upload is a PutObject with the Go SDK to the
// S3 of a runner on this machine; the build that would follow is not
// started, so the peer's wall time is zip + upload only.

// zipBucket holds the uploaded zips.
const zipBucket = "bench-code"

// zipUpload is one full zip upload: the object's size and where the time
// went.
type zipUpload struct {
	bytes       int64
	zip, upload time.Duration
	tool        string // what made the zip
}

func (z zipUpload) wall() time.Duration { return z.zip + z.upload }

// uploadZip zips tree into a temporary file and puts it into zipBucket on
// e's S3, as Jets does for every run.
func uploadZip(ctx context.Context, e *env, tree string) (zipUpload, error) {
	tmp, err := os.MkdirTemp("", "hangarbench-zip-")
	if err != nil {
		return zipUpload{}, err
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "code.zip")
	var z zipUpload
	began := time.Now()
	if z.tool, err = zipTree(ctx, tree, path); err != nil {
		return z, err
	}
	z.zip = time.Since(began)

	f, err := os.Open(path)
	if err != nil {
		return z, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return z, err
	}
	z.bytes = st.Size()
	cl := s3.NewFromConfig(e.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if err := ensureBucket(ctx, cl, zipBucket); err != nil {
		return z, err
	}
	key := "jets/code/" + time.Now().UTC().Format("2006-01-02T15-04-05.000Z") + ".zip"
	began = time.Now()
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(zipBucket), Key: aws.String(key), Body: f, ContentLength: aws.Int64(z.bytes)})
	z.upload = time.Since(began)
	if err != nil {
		return z, fmt.Errorf("put s3://%s/%s: %w", zipBucket, key, err)
	}
	return z, nil
}

func ensureBucket(ctx context.Context, cl *s3.Client, name string) error {
	_, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	return nil
}

// zipTree writes tree as a zip at out with Info-ZIP's zip, as Jets runs
// it, or, where zip is not installed, with archive/zip at the same
// (default) deflate level. It returns which one made it.
func zipTree(ctx context.Context, tree, out string) (string, error) {
	if bin, err := exec.LookPath("zip"); err == nil {
		cmd := exec.CommandContext(ctx, bin, "--symlinks", "-rq", out, ".")
		cmd.Dir = tree
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("zip %s: %v: %s", tree, err, lastLine(string(b)))
		}
		return "zip -rq", nil
	}
	f, err := os.Create(out)
	if err != nil {
		return "", err
	}
	zw := zip.NewWriter(f)
	err = filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(tree, p)
		if err != nil {
			return err
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: filepath.ToSlash(rel), Method: zip.Deflate})
		if err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		return err
	})
	if err := errors.Join(err, zw.Close(), f.Close()); err != nil {
		return "", fmt.Errorf("zip %s: %w", tree, err)
	}
	return "archive/zip (zip not installed)", nil
}
