package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hangarci/hangar/internal/archive"
	"github.com/hangarci/hangar/internal/buildspec"
	"github.com/hangarci/hangar/internal/model"
)

// fetchSource puts the build's source into dir.
func (run *buildRun) fetchSource(ctx context.Context, dir string) outcome {
	src := run.b.Source
	if src == nil || src.Type == model.SourceNoSource || src.Type == "" {
		return succeeded
	}
	if src.Type != model.SourceS3 {
		return outcome{model.StatusFailed, codeClient, fmt.Sprintf("Hangar fetches S3 and NO_SOURCE sources; a %s source cannot be fetched here", src.Type)}
	}
	bucket, key, ok := splitS3Location(src.Location)
	if !ok {
		return outcome{model.StatusFailed, codeClient, fmt.Sprintf("Invalid S3 source location %q: expected bucket/key", src.Location)}
	}
	if strings.HasSuffix(key, manifestSuffix) {
		return run.fetchManifest(ctx, bucket, key, dir)
	}
	f, err := run.r.cfg.Objects.OpenObject(ctx, bucket, key)
	var oe *ObjectError
	if errors.As(err, &oe) {
		return outcome{model.StatusFailed, codeClient, fmt.Sprintf("%s: %s for primary source and source version %s", oe.Code, oe.Message, src.Location)}
	}
	if err != nil {
		return fault("fetch source %s: %v", src.Location, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fault("stat source %s: %v", src.Location, err)
	}
	if _, err := archive.Unpack(ctx, f, fi.Size(), dir, archive.Options{}); err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return outcome{model.StatusFailed, codeClient, fmt.Sprintf("unpack source %s: %v", src.Location, err)}
	}
	return succeeded
}

// splitS3Location splits "bucket/key" or "arn:aws:s3:::bucket/key".
func splitS3Location(loc string) (bucket, key string, ok bool) {
	loc = strings.TrimPrefix(loc, "arn:aws:s3:::")
	bucket, key, ok = strings.Cut(loc, "/")
	return bucket, key, ok && bucket != "" && key != ""
}

// inlineYAMLPath is where CodeBuild says an inline buildspec lives.
const inlineYAMLPath = "/codebuild/readonly/buildspec.yml"

// loadBuildspec finds and parses the buildspec: inline YAML, an S3 ARN, or
// a path in the source (buildspec.yml by default).
func (run *buildRun) loadBuildspec(ctx context.Context, p paths) (*buildspec.Spec, string, outcome) {
	ref := ""
	if run.b.Source != nil {
		ref = run.b.Source.Buildspec
	}
	var data []byte
	where := inlineYAMLPath
	switch {
	case strings.HasPrefix(ref, "arn:aws:s3:::"):
		bucket, key, ok := splitS3Location(ref)
		if !ok {
			return nil, ref, outcome{model.StatusFailed, codeYAML, fmt.Sprintf("Invalid buildspec location %s", ref)}
		}
		f, err := run.r.cfg.Objects.OpenObject(ctx, bucket, key)
		if err != nil {
			return nil, ref, outcome{model.StatusFailed, codeYAML, fmt.Sprintf("YAML file does not exist: %v", err)}
		}
		data, err = io.ReadAll(io.LimitReader(f, buildspec.MaxSize+1))
		f.Close()
		if err != nil {
			return nil, ref, fault("read buildspec %s: %v", ref, err)
		}
		where = ref
	case isInlineBuildspec(ref):
		data = []byte(ref)
	default:
		if ref == "" {
			ref = "buildspec.yml"
		}
		rel := filepath.Clean("/" + ref)[1:]
		where = filepath.Join(p.src, rel)
		var err error
		data, err = readInTree(p.hostSrc, rel)
		if err != nil {
			return nil, where, outcome{model.StatusFailed, codeYAML, buildspecReadError(where, err)}
		}
	}
	// CodeBuild names the file once it has it, before parsing: a YAML
	// error follows this line, a missing file does not.
	run.agent("YAML location is %s", where)
	spec, err := buildspec.Parse(data)
	if err != nil {
		return nil, where, outcome{model.StatusFailed, codeYAML, err.Error()}
	}
	return spec, where, succeeded
}

// buildspecReadError is the YAML_FILE_ERROR message for a buildspec that
// cannot be read from the source, named by where the build sees it. A
// missing file reads as in current CodeBuild logs ("stat /codebuild/output/
// src…/src/buildspec.yml: no such file or directory"; the old agent's "YAML
// file does not exist" is gone); anything else (a directory, a link out of
// the source) says what was wrong with that path.
func buildspecReadError(where string, err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "stat " + where + ": no such file or directory"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Sprintf("read %s: %v", where, err)
}

// isInlineBuildspec tells inline YAML from a path: a path is one line
// without "key: value".
func isInlineBuildspec(s string) bool {
	return strings.Contains(s, "\n") || strings.Contains(s, ": ") || strings.HasPrefix(s, "{")
}

// readInTree reads rel inside root without following links out of it.
func readInTree(root, rel string) ([]byte, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.ReadFile(rel)
}
