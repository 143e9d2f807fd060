// Package s3 serves the S3 REST-XML API, path-style, over the runner's
// object metadata (store) and content-addressed blobs (blobstore): enough of
// S3 for `aws s3`, boto3 and the AWS SDK for Go v2 to upload build sources
// and fetch artifacts.
//
// Objects are never files named after their keys: a key is an opaque
// string in the database, and its bytes are the blob named by their SHA-256.
// A write streams the body into a temporary blob, checks every digest and
// checksum the client declared, and only then commits the blob and the
// object row, so a failed or interrupted upload leaves the previous object
// (or none) and no stray blob.
package s3

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/blobpack"
	"github.com/hangarci/hangar/internal/blobstore"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/store"
)

// Limits S3 applies.
const (
	DefaultMaxObjectSize = 5 << 30 // largest single PUT (and part)
	DefaultMinPartSize   = 5 << 20 // smallest part but the last
	maxObjectSizeTotal   = 5 << 40 // largest multipart object
	maxXMLBody           = 2 << 20 // DeleteObjects, CompleteMultipartUpload …
	maxMetadataSize      = 2 << 10 // user metadata, names and values
	maxParts             = 10000   // parts of a multipart upload
	xmlns                = "http://s3.amazonaws.com/doc/2006-03-01/"
	timeFormatXML        = "2006-01-02T15:04:05.000Z"
	defaultContentType   = "binary/octet-stream"
	ownerDisplayName     = "hangar"
)

// Service is the S3 API of one runner. Create it with New.
type Service struct {
	db    *store.DB
	blobs *blobstore.Store
	names model.Names
	log   *slog.Logger

	// ChunkVerifier, when set, returns the verifier of a request's signed
	// aws-chunked body (its seed signature already checked by the SigV4
	// layer). When nil, chunk signatures are parsed but not checked.
	ChunkVerifier func(*http.Request) (ChunkVerifier, error)
	// Authorize, when set, decides an action on one resource for the
	// caller of ctx: nil when allowed, an *awsapi.Error to refuse it.
	// DeleteObjects asks it for every key, as S3 authorises each object of
	// a multi-object delete and reports refusals per key, and a blob pack
	// for every blob key it writes; every other operation is authorised
	// before it gets here.
	Authorize func(ctx context.Context, action, resource string) error
	// MaxObjectSize is the largest PutObject or UploadPart body.
	MaxObjectSize int64
	// MinPartSize is the smallest part allowed but the last one.
	MinPartSize int64

	// refs orders blob commits against blob removal: a commit and the row
	// that references its blob happen under the read lock, a check that a
	// blob is unreferenced and its removal under the write lock. Without
	// it a blob could be removed between being (re)committed and being
	// referenced.
	refs    sync.RWMutex
	ownerID string
}

// New returns the S3 service over db and blobs; names gives its region.
func New(db *store.DB, blobs *blobstore.Store, names model.Names, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if names.Region == "" {
		names.Region = "us-east-1"
	}
	if names.Account == "" {
		names.Account = model.Account
	}
	id := sha256.Sum256([]byte("hangar-s3-owner:" + names.Account))
	return &Service{
		db: db, blobs: blobs, names: names, log: log,
		MaxObjectSize: DefaultMaxObjectSize,
		MinPartSize:   DefaultMinPartSize,
		ownerID:       hex.EncodeToString(id[:]),
	}
}

// ServeHTTP serves one S3 request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := awsapi.RequestID(ctx)
	r = r.WithContext(awsapi.WithRequestID(ctx, id))
	hid := sha256.Sum256([]byte(id))
	w.Header().Set("X-Amz-Request-Id", id)
	w.Header().Set("X-Amz-Id-2", base64.StdEncoding.EncodeToString(hid[:]))
	if err := s.route(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

// notImplemented lists the sub-resources (query parameters) that select an
// S3 operation this service does not serve.
func notImplemented(q map[string][]string) string {
	for _, k := range []string{
		"accelerate", "acl", "analytics", "attributes", "cors", "encryption",
		"intelligent-tiering", "inventory", "legal-hold", "lifecycle", "logging",
		"metadataConfiguration", "metadataTable", "metrics", "notification",
		"object-lock", "ownershipControls", "policy", "policyStatus",
		"publicAccessBlock", "renameObject", "replication", "requestPayment",
		"restore", "retention", "select", "session", "tagging", "torrent",
		"versioning", "versions", "website",
	} {
		if _, ok := q[k]; ok {
			return k
		}
	}
	return ""
}

func (s *Service) route(w http.ResponseWriter, r *http.Request) error {
	req, err := Classify(r)
	if err != nil {
		return err
	}
	bucket, key := req.Bucket, req.Key
	switch req.Op {
	case OpListBuckets:
		return s.listBuckets(w, r)
	case OpGetBucketLocation:
		return s.getBucketLocation(w, r, bucket)
	case OpListMultipartUploads:
		return s.listUploads(w, r, bucket)
	case OpListObjectsV2:
		return s.listObjectsV2(w, r, bucket)
	case OpListObjects:
		return s.listObjectsV1(w, r, bucket)
	case OpHeadBucket:
		return s.headBucket(w, r, bucket)
	case OpCreateBucket:
		return s.createBucket(w, r, bucket)
	case OpDeleteBucket:
		return s.deleteBucket(w, r, bucket)
	case OpDeleteObjects:
		return s.deleteObjects(w, r, bucket)
	case OpListParts:
		return s.listParts(w, r, bucket, key)
	case OpGetObject, OpHeadObject:
		return s.getObject(w, r, bucket, key)
	case OpUploadPart:
		return s.uploadPart(w, r, bucket, key)
	case OpCopyObject:
		return s.copyObject(w, r, bucket, key, req.CopySource)
	case OpPutObject:
		if blobpack.IsPackKey(key) {
			return s.putPack(w, r, bucket, key)
		}
		return s.putObject(w, r, bucket, key)
	case OpAbortMultipartUpload:
		return s.abortUpload(w, r, bucket, key)
	case OpDeleteObject:
		return s.deleteObject(w, r, bucket, key)
	case OpCreateMultipartUpload:
		return s.createUpload(w, r, bucket, key)
	case OpCompleteMultipartUpload:
		return s.completeUpload(w, r, bucket, key)
	}
	return fmt.Errorf("s3 operation %s has no handler", req.Op)
}

// bucketErr maps a store error about bucket (and key) to S3's.
func bucketErr(err error, bucket, key string) error {
	switch {
	case errors.Is(err, store.ErrNoSuchBucket):
		return errNoSuchBucket(bucket)
	case errors.Is(err, store.ErrNotFound) && key != "":
		return errNoSuchKey(key)
	}
	return err
}

// needBucket fails with NoSuchBucket unless bucket exists.
func (s *Service) needBucket(ctx context.Context, bucket string) error {
	if _, err := s.db.Bucket(ctx, bucket); err != nil {
		return bucketErr(err, bucket, "")
	}
	return nil
}

// commit runs fn, which commits a blob and the row referencing it, so that
// no release runs in between.
func (s *Service) commit(fn func() error) error {
	s.refs.RLock()
	defer s.refs.RUnlock()
	return fn()
}

// release removes the blobs among hashes that nothing references any more.
// It runs even when the request's context is done: the database change that
// dropped the references has been made.
func (s *Service) release(ctx context.Context, hashes ...string) {
	ctx = context.WithoutCancel(ctx)
	slices.Sort(hashes)
	hashes = slices.Compact(hashes)
	s.refs.Lock()
	defer s.refs.Unlock()
	for _, h := range hashes {
		if h == "" {
			continue
		}
		inUse, err := s.db.BlobInUse(ctx, h)
		if err != nil {
			s.log.Error("release blob", "blob", h, "err", err)
			continue
		}
		if !inUse {
			if err := s.blobs.Remove(h); err != nil {
				s.log.Error("release blob", "blob", h, "err", err)
			}
		}
	}
}

// RemoveOrphanBlobs removes the blobs that no object or multipart part
// references: what a crash between a blob's commit and its row (or between
// a row's deletion and its blob's removal) leaves behind. Call it at
// startup, only when the S3 service is the blob store's only user.
func (s *Service) RemoveOrphanBlobs(ctx context.Context) (int, error) {
	var orphans []string
	err := s.blobs.Walk(ctx, func(h string) error {
		inUse, err := s.db.BlobInUse(ctx, h)
		if err != nil {
			return err
		}
		if !inUse {
			orphans = append(orphans, h)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("remove orphan blobs: %w", err)
	}
	s.release(ctx, orphans...)
	return len(orphans), nil
}

// writeXML sends v as an S3 XML response.
func (s *Service) writeXML(w http.ResponseWriter, status int, v any) error {
	body, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(body)
	return nil
}

func xmlTime(t time.Time) string { return t.UTC().Format(timeFormatXML) }

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

func (s *Service) owner() *owner { return &owner{ID: s.ownerID, DisplayName: ownerDisplayName} }

// quote returns an ETag as it travels: in double quotes.
func quote(etag string) string { return `"` + etag + `"` }
