package s3

import (
	"net/http"
	"net/url"
)

// Names of the S3 operations this service serves, as the S3 API names
// them. Operations lists them all.
const (
	OpListBuckets             = "ListBuckets"
	OpGetBucketLocation       = "GetBucketLocation"
	OpListMultipartUploads    = "ListMultipartUploads"
	OpListObjectsV2           = "ListObjectsV2"
	OpListObjects             = "ListObjects"
	OpHeadBucket              = "HeadBucket"
	OpCreateBucket            = "CreateBucket"
	OpDeleteBucket            = "DeleteBucket"
	OpDeleteObjects           = "DeleteObjects"
	OpListParts               = "ListParts"
	OpGetObject               = "GetObject"
	OpHeadObject              = "HeadObject"
	OpUploadPart              = "UploadPart"
	OpCopyObject              = "CopyObject"
	OpPutObject               = "PutObject"
	OpAbortMultipartUpload    = "AbortMultipartUpload"
	OpDeleteObject            = "DeleteObject"
	OpCreateMultipartUpload   = "CreateMultipartUpload"
	OpCompleteMultipartUpload = "CompleteMultipartUpload"
)

// Operations are the operations Classify can name. Read-only.
var Operations = []string{
	OpListBuckets, OpGetBucketLocation, OpListMultipartUploads, OpListObjectsV2, OpListObjects,
	OpHeadBucket, OpCreateBucket, OpDeleteBucket, OpDeleteObjects, OpListParts, OpGetObject,
	OpHeadObject, OpUploadPart, OpCopyObject, OpPutObject, OpAbortMultipartUpload, OpDeleteObject,
	OpCreateMultipartUpload, OpCompleteMultipartUpload,
}

// Request is an S3 request as routing and authorisation see it.
type Request struct {
	// Op is one of Operations.
	Op     string
	Bucket string
	Key    string
	// CopySource is x-amz-copy-source of a CopyObject.
	CopySource string
}

// Classify names the operation of an S3 request and its bucket and key.
// ServeHTTP routes by it, so what authorisation checks is what runs. The
// error is the S3 error the request gets (bad path, unserved
// sub-resource, method not allowed).
func Classify(r *http.Request) (Request, error) {
	bucket, key, err := parsePath(r.URL.EscapedPath())
	if err != nil {
		return Request{}, err
	}
	q := r.URL.Query()
	if sub := notImplemented(q); sub != "" {
		return Request{}, errNotImplemented("?" + sub)
	}
	req := Request{Bucket: bucket, Key: key}
	op, err := classify(r.Method, bucket, key, q, r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return Request{}, err
	}
	req.Op = op
	if op == OpCopyObject {
		req.CopySource = r.Header.Get("X-Amz-Copy-Source")
	}
	return req, nil
}

func classify(method, bucket, key string, q url.Values, copySrc string) (string, error) {
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch {
	case bucket == "":
		if method == http.MethodGet {
			return OpListBuckets, nil
		}
		return "", errMethodNotAllowed(method, "SERVICE")
	case key == "":
		switch method {
		case http.MethodGet:
			switch {
			case has("location"):
				return OpGetBucketLocation, nil
			case has("uploads"):
				return OpListMultipartUploads, nil
			case has("list-type"):
				if q.Get("list-type") != "2" {
					return "", errInvalidArgument("Invalid List Type specified in Request", "list-type", q.Get("list-type"))
				}
				return OpListObjectsV2, nil
			default:
				return OpListObjects, nil
			}
		case http.MethodHead:
			return OpHeadBucket, nil
		case http.MethodPut:
			return OpCreateBucket, nil
		case http.MethodDelete:
			return OpDeleteBucket, nil
		case http.MethodPost:
			if has("delete") {
				return OpDeleteObjects, nil
			}
			return "", errNotImplemented("POST Object (browser form upload)")
		}
		return "", errMethodNotAllowed(method, "BUCKET")
	}
	switch method {
	case http.MethodGet:
		if has("uploadId") {
			return OpListParts, nil
		}
		return OpGetObject, nil
	case http.MethodHead:
		return OpHeadObject, nil
	case http.MethodPut:
		switch {
		case has("uploadId") || has("partNumber"):
			if copySrc != "" {
				return "", errNotImplemented("x-amz-copy-source (UploadPartCopy)")
			}
			return OpUploadPart, nil
		case copySrc != "":
			return OpCopyObject, nil
		default:
			return OpPutObject, nil
		}
	case http.MethodDelete:
		if has("uploadId") {
			return OpAbortMultipartUpload, nil
		}
		return OpDeleteObject, nil
	case http.MethodPost:
		switch {
		case has("uploads"):
			return OpCreateMultipartUpload, nil
		case has("uploadId"):
			return OpCompleteMultipartUpload, nil
		}
	}
	return "", errMethodNotAllowed(method, "OBJECT")
}

// CopySourceObject returns the bucket and key an x-amz-copy-source header
// names, as CopyObject reads it.
func CopySourceObject(v string) (bucket, key string, err error) { return parseCopySource(v) }
