package s3

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hangarci/hangar/internal/blobstore"
	"github.com/hangarci/hangar/internal/store"
)

// Multipart uploads: each part is a blob of its own, referenced by an
// upload_parts row; completion streams the parts into one new blob, stores
// the object and drops the parts in one transaction, then releases the part
// blobs.

type initiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func newUploadID() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) createUpload(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	if err := s.needBucket(ctx, bucket); err != nil {
		return err
	}
	meta, headers, err := objectHeaders(r.Header)
	if err != nil {
		return err
	}
	u := store.Upload{ID: newUploadID(), Bucket: bucket, Key: key, ContentType: r.Header.Get("Content-Type"),
		Metadata: meta, Headers: headers, Created: time.Now()}
	if v := r.Header.Get("X-Amz-Checksum-Algorithm"); v != "" {
		a, ok := findChecksumAlgo(v)
		if !ok {
			return errInvalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
		}
		u.ChecksumAlgorithm = a.name
		u.ChecksumType = "COMPOSITE"
		if a.fullObjectOnly {
			u.ChecksumType = "FULL_OBJECT"
		}
	}
	switch t := r.Header.Get("X-Amz-Checksum-Type"); t {
	case "":
	case "FULL_OBJECT", "COMPOSITE":
		a, _ := findChecksumAlgo(u.ChecksumAlgorithm)
		switch {
		case u.ChecksumAlgorithm == "":
			return errInvalidRequest("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
		case t == "COMPOSITE" && a.fullObjectOnly,
			t == "FULL_OBJECT" && strings.HasPrefix(a.name, "SHA"):
			return errInvalidRequest("The %s checksum type cannot be used with the %s checksum algorithm.", t, strings.ToLower(a.name))
		}
		u.ChecksumType = t
	default:
		return errInvalidRequest("Value for x-amz-checksum-type header is invalid.")
	}
	if err := s.db.CreateUpload(ctx, u); err != nil {
		return bucketErr(err, bucket, "")
	}
	if u.ChecksumAlgorithm != "" {
		w.Header().Set("X-Amz-Checksum-Algorithm", u.ChecksumAlgorithm)
		w.Header().Set("X-Amz-Checksum-Type", u.ChecksumType)
	}
	return s.writeXML(w, http.StatusOK, initiateMultipartUploadResult{Xmlns: xmlns, Bucket: bucket, Key: key, UploadID: u.ID})
}

// upload returns the upload a request names, or NoSuchBucket/NoSuchUpload.
func (s *Service) upload(ctx context.Context, bucket, key, id string) (store.Upload, error) {
	if err := s.needBucket(ctx, bucket); err != nil {
		return store.Upload{}, err
	}
	u, err := s.db.Upload(ctx, bucket, key, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Upload{}, errNoSuchUpload(id)
	}
	return u, err
}

func parsePartNumber(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxParts {
		return 0, errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", v)
	}
	return n, nil
}

func (s *Service) uploadPart(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	q := r.URL.Query()
	n, err := parsePartNumber(q.Get("partNumber"))
	if err != nil {
		return err
	}
	u, err := s.upload(ctx, bucket, key, q.Get("uploadId"))
	if err != nil {
		return err
	}
	p, err := s.openPayload(r, s.MaxObjectSize)
	if err != nil {
		return err
	}
	if u.ChecksumAlgorithm != "" && p.algo != nil && p.algo.name != u.ChecksumAlgorithm {
		return errInvalidRequest("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s",
			strings.ToLower(u.ChecksumAlgorithm), strings.ToLower(p.algo.name))
	}
	bw, b, c, err := s.receive(ctx, p)
	if err != nil {
		return err
	}
	part := store.Part{Number: n, Blob: b.SHA256, Size: b.Size, ETag: b.MD5, Modified: time.Now()}
	if c.algo != nil && c.algo.name == u.ChecksumAlgorithm {
		part.Checksum = c.checksum
	}
	var prev string
	err = s.commit(func() error {
		if _, err := bw.Commit(); err != nil {
			return err
		}
		prev, err = s.db.PutPart(ctx, u.ID, part)
		return err
	})
	if err != nil {
		bw.Abort()
		s.release(ctx, part.Blob)
		if errors.Is(err, store.ErrNotFound) {
			return errNoSuchUpload(u.ID)
		}
		return err
	}
	if prev != part.Blob {
		s.release(ctx, prev)
	}
	w.Header().Set("ETag", quote(part.ETag))
	if c.algo != nil {
		w.Header().Set(c.algo.header(), c.checksum)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

type completeMultipartUpload struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
		checksumFields
	} `xml:"Part"`
}

type completeMultipartUploadResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksumFields
}

func (s *Service) completeUpload(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	u, err := s.upload(ctx, bucket, key, r.URL.Query().Get("uploadId"))
	if err != nil {
		return err
	}
	body, err := s.readSmall(r, false)
	if err != nil {
		return err
	}
	var req completeMultipartUpload
	if err := decodeXML(body, &req); err != nil {
		return err
	}
	if len(req.Parts) == 0 || len(req.Parts) > maxParts {
		return errMalformedXML()
	}
	stored, err := s.db.Parts(ctx, u.ID, 0, maxParts)
	if err != nil {
		return err
	}
	byNumber := make(map[int]store.Part, len(stored))
	for _, p := range stored {
		byNumber[p.Number] = p
	}
	for i := 1; i < len(req.Parts); i++ {
		if req.Parts[i].PartNumber <= req.Parts[i-1].PartNumber {
			return errInvalidPartOrder()
		}
	}
	parts := make([]store.Part, 0, len(req.Parts))
	var total int64
	for i, rp := range req.Parts {
		p, ok := byNumber[rp.PartNumber]
		if !ok || strings.Trim(strings.TrimSpace(rp.ETag), `"`) != p.ETag {
			return errInvalidPart(rp.PartNumber)
		}
		if v := rp.get(u.ChecksumAlgorithm); v != "" && p.Checksum != "" && v != p.Checksum {
			return errInvalidPart(rp.PartNumber)
		}
		if i < len(req.Parts)-1 && p.Size < s.MinPartSize {
			return errEntityTooSmall(p.Size, s.MinPartSize)
		}
		total += p.Size
		parts = append(parts, p)
	}
	if total > maxObjectSizeTotal {
		return errEntityTooLarge(total, maxObjectSizeTotal)
	}

	bw, o, err := s.assemble(ctx, u, parts)
	if err != nil {
		return err
	}
	var released []string
	err = s.commit(func() error {
		if _, err := bw.Commit(); err != nil {
			return err
		}
		released, err = s.db.CompleteUpload(ctx, u.ID, o)
		return err
	})
	if err != nil {
		bw.Abort()
		s.release(ctx, o.Blob)
		if errors.Is(err, store.ErrNotFound) {
			return errNoSuchUpload(u.ID)
		}
		return bucketErr(err, bucket, "")
	}
	s.release(ctx, released...)

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	res := completeMultipartUploadResult{
		Xmlns: xmlns, Location: scheme + "://" + r.Host + r.URL.EscapedPath(),
		Bucket: bucket, Key: key, ETag: quote(o.ETag),
		checksumFields: newChecksumFields(o.ChecksumAlgorithm, o.ChecksumType, o.Checksum),
	}
	return s.writeXML(w, http.StatusOK, res)
}

// assemble streams parts, in order, into one uncommitted blob and returns
// the object to store: ETag the MD5 of the parts' MD5s, "-N"; checksum the
// full object's, or for COMPOSITE the checksum of the parts' checksums,
// "-N" (only when every part has one).
func (s *Service) assemble(ctx context.Context, u store.Upload, parts []store.Part) (*blobstore.Writer, store.Object, error) {
	bw, err := s.blobs.NewWriter()
	if err != nil {
		return nil, store.Object{}, err
	}
	algo, hasAlgo := findChecksumAlgo(u.ChecksumAlgorithm)
	var full, composite hash.Hash
	if hasAlgo {
		if u.ChecksumType == "FULL_OBJECT" {
			full = algo.new()
		} else {
			composite = algo.new()
		}
	}
	md5s := md5.New()
	for _, p := range parts {
		if err := s.appendPart(ctx, bw, full, p); err != nil {
			bw.Abort()
			return nil, store.Object{}, err
		}
		raw, _ := hex.DecodeString(p.ETag)
		md5s.Write(raw)
		if composite != nil {
			sum, err := base64.StdEncoding.DecodeString(p.Checksum)
			if err != nil || p.Checksum == "" {
				composite = nil // a part without a checksum: none for the whole
			} else {
				composite.Write(sum)
			}
		}
	}
	b := bw.Sum()
	o := store.Object{
		Bucket: u.Bucket, Key: u.Key, Blob: b.SHA256, Size: b.Size,
		ETag:        hex.EncodeToString(md5s.Sum(nil)) + "-" + strconv.Itoa(len(parts)),
		ContentType: u.ContentType, Metadata: u.Metadata, Headers: u.Headers,
		Parts: len(parts), Modified: time.Now(),
	}
	switch {
	case full != nil:
		o.ChecksumAlgorithm, o.ChecksumType, o.Checksum = algo.name, "FULL_OBJECT", encodeSum(full)
	case composite != nil:
		o.ChecksumAlgorithm, o.ChecksumType = algo.name, "COMPOSITE"
		o.Checksum = encodeSum(composite) + "-" + strconv.Itoa(len(parts))
	}
	return bw, o, nil
}

func (s *Service) appendPart(ctx context.Context, bw *blobstore.Writer, full hash.Hash, p store.Part) error {
	f, err := s.blobs.Open(p.Blob)
	if err != nil {
		return fmt.Errorf("assemble part %d: %w", p.Number, err)
	}
	defer f.Close()
	var r io.Reader = f
	if full != nil {
		r = io.TeeReader(f, full)
	}
	n, err := bw.ReadFrom(ctx, r)
	if err != nil {
		return fmt.Errorf("assemble part %d: %w", p.Number, err)
	}
	if n != p.Size {
		return fmt.Errorf("assemble part %d: blob %s has %d bytes, want %d", p.Number, p.Blob, n, p.Size)
	}
	return nil
}

func (s *Service) abortUpload(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	u, err := s.upload(ctx, bucket, key, r.URL.Query().Get("uploadId"))
	if err != nil {
		return err
	}
	released, err := s.db.AbortUpload(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return errNoSuchUpload(u.ID)
	}
	if err != nil {
		return err
	}
	s.release(ctx, released...)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type partEntry struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	checksumFields
}

type listPartsResult struct {
	XMLName              xml.Name    `xml:"ListPartsResult"`
	Xmlns                string      `xml:"xmlns,attr"`
	Bucket               string      `xml:"Bucket"`
	Key                  string      `xml:"Key"`
	UploadID             string      `xml:"UploadId"`
	PartNumberMarker     int         `xml:"PartNumberMarker"`
	NextPartNumberMarker int         `xml:"NextPartNumberMarker"`
	MaxParts             int         `xml:"MaxParts"`
	IsTruncated          bool        `xml:"IsTruncated"`
	Parts                []partEntry `xml:"Part"`
	Initiator            *owner      `xml:"Initiator"`
	Owner                *owner      `xml:"Owner"`
	StorageClass         string      `xml:"StorageClass"`
	ChecksumAlgorithm    string      `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType         string      `xml:"ChecksumType,omitempty"`
}

func (s *Service) listParts(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	q := r.URL.Query()
	u, err := s.upload(ctx, bucket, key, q.Get("uploadId"))
	if err != nil {
		return err
	}
	max := 1000
	if v := q.Get("max-parts"); v != "" {
		if max, err = strconv.Atoi(v); err != nil || max < 0 {
			return errInvalidArgument("Provided max-parts not an integer or within integer range", "max-parts", v)
		}
		max = min(max, 1000)
	}
	marker := 0
	if v := q.Get("part-number-marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			return errInvalidArgument("Provided part-number-marker not an integer or within integer range", "part-number-marker", v)
		}
	}
	parts, err := s.db.Parts(ctx, u.ID, marker, max+1)
	if err != nil {
		return err
	}
	res := listPartsResult{Xmlns: xmlns, Bucket: bucket, Key: key, UploadID: u.ID, PartNumberMarker: marker,
		MaxParts: max, Initiator: s.owner(), Owner: s.owner(), StorageClass: "STANDARD",
		ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType}
	if len(parts) > max {
		parts, res.IsTruncated = parts[:max], true
	}
	for _, p := range parts {
		res.Parts = append(res.Parts, partEntry{PartNumber: p.Number, LastModified: xmlTime(p.Modified), ETag: quote(p.ETag), Size: p.Size,
			checksumFields: newChecksumFields(u.ChecksumAlgorithm, "", p.Checksum)})
		res.NextPartNumberMarker = p.Number
	}
	return s.writeXML(w, http.StatusOK, res)
}

type uploadEntry struct {
	Key               string `xml:"Key"`
	UploadID          string `xml:"UploadId"`
	Initiator         *owner `xml:"Initiator"`
	Owner             *owner `xml:"Owner"`
	StorageClass      string `xml:"StorageClass"`
	Initiated         string `xml:"Initiated"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
}

type listMultipartUploadsResult struct {
	XMLName            xml.Name      `xml:"ListMultipartUploadsResult"`
	Xmlns              string        `xml:"xmlns,attr"`
	Bucket             string        `xml:"Bucket"`
	KeyMarker          string        `xml:"KeyMarker"`
	UploadIDMarker     string        `xml:"UploadIdMarker"`
	NextKeyMarker      string        `xml:"NextKeyMarker,omitempty"`
	NextUploadIDMarker string        `xml:"NextUploadIdMarker,omitempty"`
	Prefix             string        `xml:"Prefix"`
	MaxUploads         int           `xml:"MaxUploads"`
	IsTruncated        bool          `xml:"IsTruncated"`
	Uploads            []uploadEntry `xml:"Upload"`
}

// listUploads serves ListMultipartUploads (without delimiter roll-up: an
// upload is short-lived and a runner has few at a time).
func (s *Service) listUploads(w http.ResponseWriter, r *http.Request, bucket string) error {
	ctx := r.Context()
	q := r.URL.Query()
	if err := s.needBucket(ctx, bucket); err != nil {
		return err
	}
	max := 1000
	if v := q.Get("max-uploads"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errInvalidArgument("Provided max-uploads not an integer or within integer range", "max-uploads", v)
		}
		max = min(n, 1000)
	}
	keyMarker, idMarker := q.Get("key-marker"), q.Get("upload-id-marker")
	ups, err := s.db.ListUploads(ctx, bucket, q.Get("prefix"), 10000)
	if err != nil {
		return err
	}
	res := listMultipartUploadsResult{Xmlns: xmlns, Bucket: bucket, KeyMarker: keyMarker, UploadIDMarker: idMarker,
		Prefix: q.Get("prefix"), MaxUploads: max}
	for _, u := range ups {
		if keyMarker != "" && (u.Key < keyMarker || u.Key == keyMarker && (idMarker == "" || u.ID <= idMarker)) {
			continue
		}
		if len(res.Uploads) == max {
			res.IsTruncated = true
			break
		}
		res.Uploads = append(res.Uploads, uploadEntry{Key: u.Key, UploadID: u.ID, Initiator: s.owner(), Owner: s.owner(),
			StorageClass: "STANDARD", Initiated: xmlTime(u.Created), ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType})
		res.NextKeyMarker, res.NextUploadIDMarker = u.Key, u.ID
	}
	return s.writeXML(w, http.StatusOK, res)
}
