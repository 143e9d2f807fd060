package s3

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/blobstore"
	"github.com/hangarci/hangar/internal/store"
)

// storedHeaders are the request headers S3 keeps with an object and sends
// back on GET and HEAD.
func storedHeaders() []string {
	return []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires", "X-Amz-Website-Redirect-Location"}
}

// objectHeaders extracts the user metadata (x-amz-meta-*) and the stored
// headers of a PutObject, CopyObject or CreateMultipartUpload.
func objectHeaders(h http.Header) (meta, headers map[string]string, err error) {
	size := 0
	for k, vs := range h {
		lk := strings.ToLower(k)
		name, ok := strings.CutPrefix(lk, "x-amz-meta-")
		if !ok || name == "" {
			continue
		}
		if meta == nil {
			meta = make(map[string]string)
		}
		v := strings.Join(vs, ",")
		meta[name] = v
		size += len(name) + len(v)
	}
	if size > maxMetadataSize {
		return nil, nil, errMetadataTooLarge(size, maxMetadataSize)
	}
	for _, k := range storedHeaders() {
		v := h.Get(k)
		if k == "Content-Encoding" {
			// aws-chunked describes this request's framing, not the object.
			v = withoutToken(v, "aws-chunked")
		}
		if v != "" {
			if headers == nil {
				headers = make(map[string]string)
			}
			headers[k] = v
		}
	}
	return meta, headers, nil
}

// receive streams a payload into a new blob and checks it. On success the
// blob is written but not committed: the caller commits it together with
// the row that references it.
func (s *Service) receive(ctx context.Context, p *payload) (*blobstore.Writer, blobstore.Blob, checked, error) {
	bw, err := s.blobs.NewWriter()
	if err != nil {
		return nil, blobstore.Blob{}, checked{}, err
	}
	if _, err := bw.ReadFrom(ctx, p); err != nil {
		bw.Abort()
		return nil, blobstore.Blob{}, checked{}, p.readError(err)
	}
	b := bw.Sum()
	c, err := p.finish(b)
	if err != nil {
		bw.Abort()
		return nil, blobstore.Blob{}, checked{}, err
	}
	return bw, b, c, nil
}

func setChecksumHeaders(h http.Header, algo, typ, value string) {
	a, ok := findChecksumAlgo(algo)
	if !ok || value == "" {
		return
	}
	h.Set(a.header(), value)
	if typ != "" {
		h.Set("X-Amz-Checksum-Type", typ)
	}
}

func (s *Service) putObject(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	if key == "" {
		return errInvalidArgument("Object key must not be empty", "key", "")
	}
	if err := s.needBucket(ctx, bucket); err != nil {
		return err
	}
	meta, headers, err := objectHeaders(r.Header)
	if err != nil {
		return err
	}
	p, err := s.openPayload(r, s.MaxObjectSize)
	if err != nil {
		return err
	}
	bw, b, c, err := s.receive(ctx, p)
	if err != nil {
		return err
	}
	o := store.Object{
		Bucket: bucket, Key: key, Blob: b.SHA256, Size: b.Size, ETag: b.MD5,
		ContentType: r.Header.Get("Content-Type"), Metadata: meta, Headers: headers,
		Modified: time.Now(),
	}
	if c.algo != nil {
		o.ChecksumAlgorithm, o.ChecksumType, o.Checksum = c.algo.name, "FULL_OBJECT", c.checksum
	}
	var prev string
	err = s.commit(func() error {
		if _, err := bw.Commit(); err != nil {
			return err
		}
		prev, err = s.db.PutObject(ctx, o)
		return err
	})
	if err != nil {
		bw.Abort()
		s.release(ctx, o.Blob) // committed, but nothing refers to it
		return bucketErr(err, bucket, "")
	}
	if prev != o.Blob {
		s.release(ctx, prev)
	}
	h := w.Header()
	h.Set("ETag", quote(o.ETag))
	setChecksumHeaders(h, o.ChecksumAlgorithm, o.ChecksumType, o.Checksum)
	w.WriteHeader(http.StatusOK)
	return nil
}

// getObject serves GetObject and HeadObject.
func (s *Service) getObject(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	q := r.URL.Query()
	if key == "" {
		return errInvalidArgument("Object key must not be empty", "key", "")
	}
	if v, ok := q["versionId"]; ok && (len(v) != 1 || v[0] != "null") {
		return errInvalidArgument("Invalid version id specified", "versionId", q.Get("versionId"))
	}
	o, err := s.db.Object(ctx, bucket, key)
	if err != nil {
		return bucketErr(err, bucket, key)
	}
	if pn := q.Get("partNumber"); pn != "" {
		n, err := strconv.Atoi(pn)
		if err != nil || n < 1 || n > maxParts {
			return errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", pn)
		}
		if o.Parts > 0 {
			return errNotImplemented("partNumber of a multipart object")
		}
		if n != 1 {
			return newErr("InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable", "PartNumberRequested", pn, "ActualPartCount", "1")
		}
	}
	h := w.Header()
	lastModified := o.Modified.UTC().Truncate(time.Second)
	h.Set("Last-Modified", lastModified.Format(http.TimeFormat))
	h.Set("ETag", quote(o.ETag))
	if status, err := preconditions(r.Header, quote(o.ETag), lastModified, ""); err != nil {
		return err
	} else if status == http.StatusNotModified {
		w.WriteHeader(status)
		return nil
	}

	start, length, status := int64(0), o.Size, http.StatusOK
	rangeHdr := r.Header.Get("Range")
	if rng, ok, err := parseRange(rangeHdr, o.Size); err != nil {
		return err
	} else if ok {
		start, length, status = rng.start, rng.length, http.StatusPartialContent
		h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+length-1, 10)+"/"+strconv.FormatInt(o.Size, 10))
	}
	ct := o.ContentType
	if ct == "" {
		ct = defaultContentType
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	h.Set("Accept-Ranges", "bytes")
	for k, v := range o.Headers {
		h.Set(k, v)
	}
	for k, v := range o.Metadata {
		h["X-Amz-Meta-"+k] = []string{v}
	}
	if status == http.StatusOK && strings.EqualFold(r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		setChecksumHeaders(h, o.ChecksumAlgorithm, o.ChecksumType, o.Checksum)
	}
	for param, header := range map[string]string{
		"response-content-type": "Content-Type", "response-content-language": "Content-Language",
		"response-expires": "Expires", "response-cache-control": "Cache-Control",
		"response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
	} {
		if v := q.Get(param); v != "" {
			h.Set(header, v)
		}
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return nil
	}
	f, err := s.blobs.Open(o.Blob)
	if err != nil {
		return err
	}
	defer f.Close()
	if start > 0 {
		if _, err := f.Seek(start, io.SeekStart); err != nil {
			return err
		}
	}
	w.WriteHeader(status)
	// A LimitedReader over an *os.File lets net/http use sendfile.
	if n, err := io.Copy(w, io.LimitReader(f, length)); err != nil || n != length {
		s.log.Debug("get object: response cut short", "bucket", bucket, "key", key, "sent", n, "of", length, "err", err)
	}
	return nil
}

// preconditions applies If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since (or, with prefix "X-Amz-Copy-Source-", CopyObject's
// source conditions) as S3 does: a failed If-Match or If-Unmodified-Since
// is 412, a matching If-None-Match or an unmodified If-Modified-Since is 304
// (412 for copies).
func preconditions(h http.Header, etag string, modified time.Time, prefix string) (int, error) {
	get := func(k string) string { return h.Get(prefix + k) }
	if v := get("If-Match"); v != "" {
		if !etagMatches(v, etag) {
			return 0, errPreconditionFailed(strings.ToLower(prefix) + "If-Match")
		}
	} else if v := get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && modified.After(t) {
			return 0, errPreconditionFailed(strings.ToLower(prefix) + "If-Unmodified-Since")
		}
	}
	notModified := false
	if v := get("If-None-Match"); v != "" {
		notModified = etagMatches(v, etag)
	} else if v := get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !modified.After(t) {
			notModified = true
		}
	}
	if notModified {
		if prefix != "" {
			return 0, errPreconditionFailed(strings.ToLower(prefix) + "If-None-Match")
		}
		return http.StatusNotModified, nil
	}
	return http.StatusOK, nil
}

func etagMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || t == etag || `"`+t+`"` == etag {
			return true
		}
	}
	return false
}

type byteRange struct{ start, length int64 }

// parseRange reads a Range header as S3 does: one byte range is served,
// anything it cannot parse (or several ranges) is ignored and the whole
// object is sent, and a range starting past the end is InvalidRange.
func parseRange(h string, size int64) (byteRange, bool, error) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return byteRange{}, false, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return byteRange{}, false, nil
	}
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 19 || strings.TrimLeft(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	if first == "" { // suffix: the last n bytes
		n, ok := num(last)
		if !ok {
			return byteRange{}, false, nil
		}
		if n == 0 || size == 0 {
			return byteRange{}, false, errInvalidRange(h, size)
		}
		n = min(n, size)
		return byteRange{start: size - n, length: n}, true, nil
	}
	a, ok := num(first)
	if !ok {
		return byteRange{}, false, nil
	}
	b := size - 1
	if last != "" {
		if b, ok = num(last); !ok || b < a {
			return byteRange{}, false, nil
		}
	}
	if a >= size {
		return byteRange{}, false, errInvalidRange(h, size)
	}
	b = min(b, size-1)
	return byteRange{start: a, length: b - a + 1}, true, nil
}

func (s *Service) deleteObject(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	blob, err := s.db.DeleteObject(r.Context(), bucket, key)
	if err != nil {
		return bucketErr(err, bucket, "")
	}
	s.release(r.Context(), blob)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key       *string `xml:"Key"`
		VersionID string  `xml:"VersionId"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name        `xml:"DeleteResult"`
	Xmlns   string          `xml:"xmlns,attr"`
	Deleted []deletedEntry  `xml:"Deleted"`
	Errors  []deleteErrItem `xml:"Error"`
}

type deletedEntry struct {
	Key string `xml:"Key"`
}

type deleteErrItem struct {
	Key     string `xml:"Key"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func (s *Service) deleteObjects(w http.ResponseWriter, r *http.Request, bucket string) error {
	ctx := r.Context()
	if err := s.needBucket(ctx, bucket); err != nil {
		return err
	}
	body, err := s.readSmall(r, true)
	if err != nil {
		return err
	}
	var req deleteRequest
	if err := decodeXML(body, &req); err != nil {
		return err
	}
	if len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return errMalformedXML()
	}
	res := deleteResult{Xmlns: xmlns}
	var released []string
	for _, o := range req.Objects {
		if o.Key == nil {
			return errMalformedXML()
		}
		key := *o.Key
		fail := func(err error) {
			if e, ok := awsapi.AsError(err); ok {
				res.Errors = append(res.Errors, deleteErrItem{Key: key, Code: e.Code, Message: e.Message})
				return
			}
			s.log.Error("delete objects", "bucket", bucket, "key", key, "err", err)
			res.Errors = append(res.Errors, deleteErrItem{Key: key, Code: "InternalError", Message: errInternal().Message})
		}
		if key == "" {
			fail(errInvalidArgument("Object key must not be empty", "key", ""))
			continue
		}
		if err := checkKey(key); err != nil {
			fail(err)
			continue
		}
		if s.Authorize != nil {
			if err := s.Authorize(ctx, "s3:DeleteObject", "arn:aws:s3:::"+bucket+"/"+key); err != nil {
				fail(err)
				continue
			}
		}
		if o.VersionID != "" && o.VersionID != "null" {
			fail(newErr("NoSuchVersion", http.StatusNotFound, "The specified version does not exist."))
			continue
		}
		blob, err := s.db.DeleteObject(ctx, bucket, key)
		if err != nil {
			fail(bucketErr(err, bucket, ""))
			continue
		}
		released = append(released, blob)
		if !req.Quiet {
			res.Deleted = append(res.Deleted, deletedEntry{Key: key})
		}
	}
	s.release(ctx, released...)
	return s.writeXML(w, http.StatusOK, res)
}

type copyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	Xmlns        string   `xml:"xmlns,attr"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	checksumFields
}

// parseCopySource reads x-amz-copy-source: "[/]bucket/key[?versionId=…]",
// percent-encoded.
func parseCopySource(v string) (bucket, key string, err error) {
	raw, query, _ := strings.Cut(v, "?")
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil || len(q) != 1 || q.Get("versionId") != "null" {
			return "", "", errInvalidArgument("Invalid version id specified", "x-amz-copy-source", v)
		}
	}
	if !strings.HasPrefix(raw, "/") {
		raw = "/" + raw
	}
	bucket, key, err = parsePath(raw)
	if err != nil {
		return "", "", err
	}
	if bucket == "" || key == "" {
		return "", "", errInvalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey", "x-amz-copy-source", v)
	}
	return bucket, key, nil
}

// copyObject copies by reference: the new object points at the source's
// blob, so a copy costs one row whatever the size.
func (s *Service) copyObject(w http.ResponseWriter, r *http.Request, bucket, key, source string) error {
	ctx := r.Context()
	srcBucket, srcKey, err := parseCopySource(source)
	if err != nil {
		return err
	}
	if err := s.needBucket(ctx, bucket); err != nil {
		return err
	}
	directive := r.Header.Get("X-Amz-Metadata-Directive")
	switch directive {
	case "", "COPY", "REPLACE":
	default:
		return errInvalidArgument("Unknown metadata directive.", "x-amz-metadata-directive", directive)
	}
	var meta, headers map[string]string
	if directive == "REPLACE" {
		if meta, headers, err = objectHeaders(r.Header); err != nil {
			return err
		}
	}
	var o store.Object
	var prev string
	err = s.commit(func() error {
		// Read the source under the commit lock: its blob cannot be
		// released before the copy references it.
		src, err := s.db.Object(ctx, srcBucket, srcKey)
		if err != nil {
			return bucketErr(err, srcBucket, srcKey)
		}
		srcModified := src.Modified.UTC().Truncate(time.Second)
		if _, err := preconditions(r.Header, quote(src.ETag), srcModified, "X-Amz-Copy-Source-"); err != nil {
			return err
		}
		if srcBucket == bucket && srcKey == key && directive != "REPLACE" {
			return errInvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
		}
		o = src
		o.Bucket, o.Key, o.Modified = bucket, key, time.Now()
		if directive == "REPLACE" {
			o.Metadata, o.Headers, o.ContentType = meta, headers, r.Header.Get("Content-Type")
		}
		prev, err = s.db.PutObject(ctx, o)
		return bucketErr(err, bucket, "")
	})
	if err != nil {
		return err
	}
	if prev != o.Blob {
		s.release(ctx, prev)
	}
	res := copyObjectResult{Xmlns: xmlns, LastModified: xmlTime(o.Modified), ETag: quote(o.ETag)}
	res.checksumFields = newChecksumFields(o.ChecksumAlgorithm, o.ChecksumType, o.Checksum)
	return s.writeXML(w, http.StatusOK, res)
}
