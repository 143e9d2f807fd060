package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/hangarci/hangar/internal/pack"
)

// A content-addressed source: blobs uploaded once under blobs/<sha256>, a
// manifest naming them; the runner rebuilds the tree (modes, links, empty
// dirs) in DOWNLOAD_SOURCE, and a build writing to its files leaves the
// stored blobs unchanged.
func TestManifestSource(t *testing.T) {
	tree := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(tree, "bin"), 0o755))
	must(os.MkdirAll(filepath.Join(tree, "empty"), 0o755))
	must(os.WriteFile(filepath.Join(tree, "bin", "hello.sh"), []byte("#!/bin/sh\necho hello from the tree\n"), 0o755))
	must(os.WriteFile(filepath.Join(tree, "same-a"), []byte("same content\n"), 0o644))
	must(os.WriteFile(filepath.Join(tree, "same-b"), []byte("same content\n"), 0o644))
	must(os.Symlink("bin/hello.sh", filepath.Join(tree, "link")))
	ctx := context.Background()
	m, err := pack.Scan(ctx, tree, pack.Options{})
	must(err)
	data, err := m.Encode()
	must(err)
	sum, err := m.Hash()
	must(err)

	r := StartRunner(t)
	s3c := r.S3()
	_, err = s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("src")})
	must(err)
	for _, b := range m.Blobs() {
		body, err := os.ReadFile(filepath.Join(tree, b.Path))
		must(err)
		_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("blobs/" + b.SHA256), Body: bytes.NewReader(body)})
		must(err)
	}
	key := "sources/" + sum + ".hangar-manifest.json"
	_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String(key), Body: bytes.NewReader(data)})
	must(err)

	cb := r.CodeBuild()
	CreateProject(t, cb, "tree", `version: 0.2
phases:
  build:
    commands:
      - ./bin/hello.sh
      - test -L link && test -d empty && test -x bin/hello.sh
      - echo changed > same-a
`)
	out, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{
		ProjectName: aws.String("tree"), SourceTypeOverride: types.SourceTypeS3, SourceLocationOverride: aws.String("src/" + key),
	})
	must(err)
	b := WaitBuild(t, cb, aws.ToString(out.Build.Id), 30*time.Second)
	log := BuildLog(t, r, b)
	if b.BuildStatus != types.StatusTypeSucceeded || !hasLine(log, "hello from the tree") {
		t.Fatalf("build %s: %+v\n%q", b.BuildStatus, b.Phases, log)
	}
	// The build changed same-a; the blob both files share is intact.
	for _, bl := range m.Blobs() {
		if bl.Path != "same-a" && bl.Path != "same-b" {
			continue
		}
		g, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("src"), Key: aws.String("blobs/" + bl.SHA256)})
		must(err)
		var c bytes.Buffer
		c.ReadFrom(g.Body)
		g.Body.Close()
		if c.String() != "same content\n" {
			t.Errorf("blob of %s changed to %q", bl.Path, c.String())
		}
	}

	// A manifest naming a blob the bucket does not hold fails the source.
	bad := bytes.Replace(data, []byte(m.Blobs()[0].SHA256), []byte("0000000000000000000000000000000000000000000000000000000000000000"), 1)
	_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("sources/bad.hangar-manifest.json"), Body: bytes.NewReader(bad)})
	must(err)
	out, err = cb.StartBuild(ctx, &codebuild.StartBuildInput{
		ProjectName: aws.String("tree"), SourceTypeOverride: types.SourceTypeS3, SourceLocationOverride: aws.String("src/sources/bad.hangar-manifest.json"),
	})
	must(err)
	b = WaitBuild(t, cb, aws.ToString(out.Build.Id), 30*time.Second)
	p := phase(b, types.BuildPhaseTypeDownloadSource)
	if b.BuildStatus != types.StatusTypeFailed || p == nil || p.PhaseStatus != types.StatusTypeFailed || aws.ToString(p.Contexts[0].StatusCode) != "CLIENT_ERROR" {
		t.Errorf("build with a missing blob: %s %+v", b.BuildStatus, p)
	}
}
