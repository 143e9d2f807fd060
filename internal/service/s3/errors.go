package s3

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hangarci/hangar/internal/awsapi"
)

// newErr returns an S3 error. extra are name, value pairs of the elements
// S3 puts beside Code and Message in its XML error documents (BucketName,
// Key, Condition …), in order: the Fields of an *awsapi.Error, so errors
// made here and in awsapi (XAmzContentSHA256Mismatch) are written alike.
func newErr(code string, status int, msg string, extra ...string) *awsapi.Error {
	e := &awsapi.Error{Code: code, Message: msg, Status: status}
	for i := 0; i+1 < len(extra); i += 2 {
		e.Fields = append(e.Fields, awsapi.Field{Name: extra[i], Value: extra[i+1]})
	}
	return e
}

// The errors S3 sends, with its own messages.

func errNoSuchBucket(bucket string) error {
	return newErr("NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist", "BucketName", bucket)
}

func errNoSuchKey(key string) error {
	return newErr("NoSuchKey", http.StatusNotFound, "The specified key does not exist.", "Key", key)
}

func errNoSuchUpload(id string) error {
	return newErr("NoSuchUpload", http.StatusNotFound, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", "UploadId", id)
}

func errInvalidBucketName(bucket string) error {
	return newErr("InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid.", "BucketName", bucket)
}

func errBucketAlreadyOwnedByYou(bucket string) error {
	return newErr("BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it.", "BucketName", bucket)
}

func errBucketNotEmpty(bucket string) error {
	return newErr("BucketNotEmpty", http.StatusConflict, "The bucket you tried to delete is not empty", "BucketName", bucket)
}

func errKeyTooLong(size int) error {
	return newErr("KeyTooLongError", http.StatusBadRequest, "Your key is too long", "Size", strconv.Itoa(size), "MaxSizeAllowed", strconv.Itoa(maxKeyLen))
}

func errMethodNotAllowed(method, resourceType string) error {
	return newErr("MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource.", "Method", method, "ResourceType", resourceType)
}

func errNotImplemented(what string) error {
	return newErr("NotImplemented", http.StatusNotImplemented, "A header you provided implies functionality that is not implemented", "Header", what)
}

func errEntityTooLarge(size, max int64) error {
	return newErr("EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed size", "ProposedSize", strconv.FormatInt(size, 10), "MaxSizeAllowed", strconv.FormatInt(max, 10))
}

func errEntityTooSmall(size, min int64) error {
	return newErr("EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed size", "ProposedSize", strconv.FormatInt(size, 10), "MinSizeAllowed", strconv.FormatInt(min, 10))
}

func errInvalidArgument(msg, name, value string) error {
	return newErr("InvalidArgument", http.StatusBadRequest, msg, "ArgumentName", name, "ArgumentValue", value)
}

func errInvalidRequest(format string, a ...any) error {
	return newErr("InvalidRequest", http.StatusBadRequest, fmt.Sprintf(format, a...))
}

func errBadDigest(expected, calculated string) error {
	return newErr("BadDigest", http.StatusBadRequest, "The Content-MD5 you specified did not match what we received.", "ExpectedDigest", expected, "CalculatedDigest", calculated)
}

func errInvalidDigest(md5 string) error {
	return newErr("InvalidDigest", http.StatusBadRequest, "The Content-MD5 you specified was invalid.", "Content-MD5", md5)
}

func errChecksumMismatch(algo string) error {
	return newErr("BadDigest", http.StatusBadRequest, fmt.Sprintf("The %s you specified did not match the calculated checksum.", algo))
}

func errSHA256Mismatch(client, computed string) error {
	return newErr("XAmzContentSHA256Mismatch", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed.",
		"ClientComputedContentSHA256", client, "S3ComputedContentSHA256", computed)
}

func errIncompleteBody() error {
	return newErr("IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header")
}

func errMalformedXML() error {
	return newErr("MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema")
}

func errInvalidRange(requested string, size int64) error {
	return newErr("InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable", "RangeRequested", requested, "ActualObjectSize", strconv.FormatInt(size, 10))
}

func errPreconditionFailed(condition string) error {
	return newErr("PreconditionFailed", http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold", "Condition", condition)
}

func errInvalidPart(part int) error {
	return newErr("InvalidPart", http.StatusBadRequest, "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.", "PartNumber", strconv.Itoa(part))
}

func errInvalidPartOrder() error {
	return newErr("InvalidPartOrder", http.StatusBadRequest, "The list of parts was not in ascending order. The parts list must be specified in order by part number.")
}

func errMetadataTooLarge(size, max int) error {
	return newErr("MetadataTooLarge", http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size", "Size", strconv.Itoa(size), "MaxSizeAllowed", strconv.Itoa(max))
}

func errInternal() *awsapi.Error {
	return &awsapi.Error{Code: "InternalError", Message: "We encountered an internal error. Please try again.", Status: http.StatusInternalServerError}
}

// errorDoc is S3's XML error document.
type errorDoc struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	Extra     []xmlElem
	Resource  string `xml:",omitempty"`
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
}

type xmlElem struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// writeError sends err as S3 does: an XML document with the right status,
// or, for HEAD, the status alone.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae, ok := awsapi.AsError(err)
	if !ok {
		s.log.Error("s3 request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = errInternal()
	}
	h := w.Header()
	// Headers set for a success that failed later (ETag, checksum …) must
	// not leak into the error.
	for k := range h {
		if k != "X-Amz-Request-Id" && k != "X-Amz-Id-2" {
			delete(h, k)
		}
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(ae.Status)
		return
	}
	doc := errorDoc{Code: ae.Code, Message: ae.Message, RequestID: h.Get("X-Amz-Request-Id"), HostID: h.Get("X-Amz-Id-2")}
	for _, f := range ae.Fields {
		doc.Extra = append(doc.Extra, xmlElem{XMLName: xml.Name{Local: f.Name}, Value: f.Value})
	}
	body, merr := xml.Marshal(doc)
	if merr != nil {
		body = []byte("<Error><Code>InternalError</Code></Error>")
	}
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	w.WriteHeader(ae.Status)
	w.Write([]byte(xml.Header))
	w.Write(body)
}
