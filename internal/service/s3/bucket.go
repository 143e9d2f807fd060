package s3

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hangarci/hangar/internal/blobstore"
	"github.com/hangarci/hangar/internal/store"
)

type listAllMyBucketsResult struct {
	XMLName           xml.Name      `xml:"ListAllMyBucketsResult"`
	Xmlns             string        `xml:"xmlns,attr"`
	Owner             *owner        `xml:"Owner"`
	Buckets           []bucketEntry `xml:"Buckets>Bucket"`
	ContinuationToken string        `xml:"ContinuationToken,omitempty"`
	Prefix            string        `xml:"Prefix,omitempty"`
}

type bucketEntry struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion"`
}

func (s *Service) listBuckets(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	max := 10000
	if v := q.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return errInvalidArgument("Provided max-buckets not an integer or within integer range", "max-buckets", v)
		}
		max = n
	}
	after := ""
	if tok := q.Get("continuation-token"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return errInvalidArgument("The continuation token provided is incorrect", "continuation-token", tok)
		}
		after = string(b)
	}
	prefix := q.Get("prefix")
	buckets, err := s.db.ListBuckets(r.Context())
	if err != nil {
		return err
	}
	res := listAllMyBucketsResult{Xmlns: xmlns, Owner: s.owner(), Prefix: prefix, Buckets: []bucketEntry{}}
	for _, b := range buckets {
		if b.Name <= after || !strings.HasPrefix(b.Name, prefix) {
			continue
		}
		if len(res.Buckets) == max {
			res.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(res.Buckets[max-1].Name))
			break
		}
		res.Buckets = append(res.Buckets, bucketEntry{Name: b.Name, CreationDate: xmlTime(b.Created), BucketRegion: s.names.Region})
	}
	return s.writeXML(w, http.StatusOK, res)
}

type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

func (s *Service) createBucket(w http.ResponseWriter, r *http.Request, bucket string) error {
	if strings.EqualFold(r.Header.Get("X-Amz-Bucket-Object-Lock-Enabled"), "true") {
		return errNotImplemented("x-amz-bucket-object-lock-enabled")
	}
	body, err := s.readSmall(r, false)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var cfg createBucketConfiguration
		if err := decodeXML(body, &cfg); err != nil {
			return err
		}
		// As at a regional S3 endpoint: the constraint must name this
		// region, and us-east-1 is spelled by leaving it out.
		switch lc := cfg.LocationConstraint; {
		case lc == "" && s.names.Region != "us-east-1":
			return newErr("IllegalLocationConstraintException", http.StatusBadRequest, "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
		case lc == "":
		case lc == "us-east-1" && s.names.Region == "us-east-1":
			return newErr("InvalidLocationConstraint", http.StatusBadRequest, "The specified location-constraint is not valid", "LocationConstraint", lc)
		case lc != s.names.Region:
			return newErr("IllegalLocationConstraintException", http.StatusBadRequest, "The "+lc+" location constraint is incompatible for the region specific endpoint this request was sent to.")
		}
	} else if s.names.Region != "us-east-1" {
		return newErr("IllegalLocationConstraintException", http.StatusBadRequest, "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
	}
	err = s.db.CreateBucket(r.Context(), bucket, time.Now())
	if errors.Is(err, store.ErrExists) {
		// us-east-1 answers 200 to its owner, for legacy compatibility;
		// every other region BucketAlreadyOwnedByYou.
		if s.names.Region != "us-east-1" {
			return errBucketAlreadyOwnedByYou(bucket)
		}
	} else if err != nil {
		return err
	}
	w.Header().Set("Location", "/"+bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) headBucket(w http.ResponseWriter, r *http.Request, bucket string) error {
	if err := s.needBucket(r.Context(), bucket); err != nil {
		return err
	}
	w.Header().Set("X-Amz-Bucket-Region", s.names.Region)
	w.Header().Set("X-Amz-Access-Point-Alias", "false")
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) deleteBucket(w http.ResponseWriter, r *http.Request, bucket string) error {
	parts, err := s.db.DeleteBucket(r.Context(), bucket)
	switch {
	case errors.Is(err, store.ErrNotEmpty):
		return errBucketNotEmpty(bucket)
	case err != nil:
		return bucketErr(err, bucket, "")
	}
	s.release(r.Context(), parts...)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	Xmlns   string   `xml:"xmlns,attr"`
	Value   string   `xml:",chardata"`
}

func (s *Service) getBucketLocation(w http.ResponseWriter, r *http.Request, bucket string) error {
	if err := s.needBucket(r.Context(), bucket); err != nil {
		return err
	}
	lc := s.names.Region
	if lc == "us-east-1" {
		lc = "" // S3 reports us-east-1 as no constraint
	}
	return s.writeXML(w, http.StatusOK, locationConstraint{Xmlns: xmlns, Value: lc})
}

// readSmall reads a small request body (an XML document) whole, checking
// the digests and checksum the client sent; needDigest makes Content-MD5
// or a checksum mandatory, as S3 does for DeleteObjects.
func (s *Service) readSmall(r *http.Request, needDigest bool) ([]byte, error) {
	p, err := s.openPayload(r, maxXMLBody)
	if err != nil {
		return nil, err
	}
	if needDigest && p.md5 == nil && p.algo == nil {
		return nil, errInvalidRequest("Missing required header for this request: Content-MD5")
	}
	data, err := io.ReadAll(p)
	if err != nil {
		return nil, p.readError(err)
	}
	if int64(len(data)) > maxXMLBody {
		return nil, errMalformedXML()
	}
	m := md5.Sum(data)
	sh := sha256.Sum256(data)
	if _, err := p.finish(blobstore.Blob{SHA256: hex.EncodeToString(sh[:]), MD5: hex.EncodeToString(m[:]), Size: int64(len(data))}); err != nil {
		return nil, err
	}
	return data, nil
}

// decodeXML decodes one XML document into v, refusing anything but
// whitespace after it.
func decodeXML(data []byte, v any) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(v); err != nil {
		return errMalformedXML()
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errMalformedXML()
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errMalformedXML()
			}
		case xml.Comment:
		default:
			return errMalformedXML()
		}
	}
}
