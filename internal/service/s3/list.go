package s3

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hangarci/hangar/internal/store"
)

type objectEntry struct {
	Key               string `xml:"Key"`
	LastModified      string `xml:"LastModified"`
	ETag              string `xml:"ETag"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
	Size              int64  `xml:"Size"`
	Owner             *owner `xml:"Owner,omitempty"`
	StorageClass      string `xml:"StorageClass"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listBucketResultV2 struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	Xmlns                 string         `xml:"xmlns,attr"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	KeyCount              int            `xml:"KeyCount"`
	IsTruncated           bool           `xml:"IsTruncated"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	Contents              []objectEntry  `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

type listBucketResultV1 struct {
	XMLName        xml.Name       `xml:"ListBucketResult"`
	Xmlns          string         `xml:"xmlns,attr"`
	Name           string         `xml:"Name"`
	Prefix         string         `xml:"Prefix"`
	Marker         string         `xml:"Marker"`
	NextMarker     string         `xml:"NextMarker,omitempty"`
	Delimiter      string         `xml:"Delimiter,omitempty"`
	MaxKeys        int            `xml:"MaxKeys"`
	IsTruncated    bool           `xml:"IsTruncated"`
	EncodingType   string         `xml:"EncodingType,omitempty"`
	Contents       []objectEntry  `xml:"Contents"`
	CommonPrefixes []commonPrefix `xml:"CommonPrefixes"`
}

// listParams are the query parameters both ListObjects versions share.
type listParams struct {
	prefix, delimiter string
	maxKeys           int
	encode            func(string) string
	encodingType      string
}

func parseListParams(r *http.Request) (listParams, error) {
	q := r.URL.Query()
	p := listParams{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), maxKeys: 1000, encode: func(s string) string { return s }}
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, errInvalidArgument("Provided max-keys not an integer or within integer range", "max-keys", v)
		}
		p.maxKeys = min(n, 1000)
	}
	switch et := q.Get("encoding-type"); et {
	case "":
	case "url":
		// url.QueryEscape is what S3's "url" encoding decodes with
		// (botocore uses unquote_plus; Go callers url.QueryUnescape).
		p.encode, p.encodingType = url.QueryEscape, "url"
	default:
		return p, errInvalidArgument("Invalid Encoding Method specified in Request", "encoding-type", et)
	}
	return p, nil
}

func (s *Service) entries(res store.ListResult, p listParams, withOwner bool) ([]objectEntry, []commonPrefix) {
	objs := make([]objectEntry, 0, len(res.Objects))
	for _, o := range res.Objects {
		e := objectEntry{
			Key: p.encode(o.Key), LastModified: xmlTime(o.Modified), ETag: quote(o.ETag),
			ChecksumAlgorithm: o.ChecksumAlgorithm, ChecksumType: o.ChecksumType,
			Size: o.Size, StorageClass: "STANDARD",
		}
		if withOwner {
			e.Owner = s.owner()
		}
		objs = append(objs, e)
	}
	var cps []commonPrefix
	for _, cp := range res.CommonPrefixes {
		cps = append(cps, commonPrefix{Prefix: p.encode(cp)})
	}
	return objs, cps
}

func (s *Service) listObjectsV2(w http.ResponseWriter, r *http.Request, bucket string) error {
	q := r.URL.Query()
	p, err := parseListParams(r)
	if err != nil {
		return err
	}
	after := q.Get("start-after")
	token := q.Get("continuation-token")
	if _, ok := q["continuation-token"]; ok {
		b, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(b) == 0 {
			return errInvalidArgument("The continuation token provided is incorrect", "continuation-token", token)
		}
		after = string(b)
	}
	res, err := s.db.ListObjects(r.Context(), bucket, store.ListOptions{Prefix: p.prefix, Delimiter: p.delimiter, After: after, Max: p.maxKeys})
	if err != nil {
		return bucketErr(err, bucket, "")
	}
	out := listBucketResultV2{
		Xmlns: xmlns, Name: bucket, Prefix: p.encode(p.prefix), Delimiter: p.encode(p.delimiter),
		MaxKeys: p.maxKeys, IsTruncated: res.Truncated, ContinuationToken: token,
		StartAfter: p.encode(q.Get("start-after")), EncodingType: p.encodingType,
	}
	out.Contents, out.CommonPrefixes = s.entries(res, p, q.Get("fetch-owner") == "true")
	out.KeyCount = len(out.Contents) + len(out.CommonPrefixes)
	if res.Truncated {
		out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(res.Next))
	}
	return s.writeXML(w, http.StatusOK, out)
}

func (s *Service) listObjectsV1(w http.ResponseWriter, r *http.Request, bucket string) error {
	q := r.URL.Query()
	p, err := parseListParams(r)
	if err != nil {
		return err
	}
	marker := q.Get("marker")
	res, err := s.db.ListObjects(r.Context(), bucket, store.ListOptions{Prefix: p.prefix, Delimiter: p.delimiter, After: marker, Max: p.maxKeys})
	if err != nil {
		return bucketErr(err, bucket, "")
	}
	out := listBucketResultV1{
		Xmlns: xmlns, Name: bucket, Prefix: p.encode(p.prefix), Marker: p.encode(marker),
		Delimiter: p.encode(p.delimiter), MaxKeys: p.maxKeys, IsTruncated: res.Truncated,
		EncodingType: p.encodingType,
	}
	// S3 sends NextMarker only with a delimiter; without one clients
	// continue from the last key.
	if res.Truncated && p.delimiter != "" {
		out.NextMarker = p.encode(res.Next)
	}
	out.Contents, out.CommonPrefixes = s.entries(res, p, true)
	return s.writeXML(w, http.StatusOK, out)
}
