package s3

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/blobstore"
)

// payload is a request body on its way in: decoded from aws-chunked when
// sent that way, hashed with the client's checksum algorithm, and checked
// against everything the client declared once it has been read whole.
type payload struct {
	io.Reader
	body    *clientReader
	chunked *chunkedReader
	size    int64 // decoded size the client declared; -1 if it did not
	max     int64

	md5       []byte // Content-MD5
	md5Header string
	sha256    string // x-amz-content-sha256 when it is a digest

	algo    *checksumAlgo
	hasher  hash.Hash
	want    string // checksum from a header; "" when it comes in a trailer
	trailer string // name of the trailer that carries it
}

// clientReader remembers errors that come from the client's side of the
// connection, so they can be told apart from a failing disk.
type clientReader struct {
	r   io.Reader
	err error
}

func (c *clientReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// knownPayloadHash reports whether v is one of the x-amz-content-sha256
// values that stand for something other than a digest.
func knownPayloadHash(v string) bool {
	switch v {
	case "UNSIGNED-PAYLOAD",
		"STREAMING-UNSIGNED-PAYLOAD-TRAILER",
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
		"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
		"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER":
		return true
	}
	return false
}

// openPayload prepares r's body for reading; max is the most decoded bytes
// accepted. It refuses what can be refused before reading a byte.
func (s *Service) openPayload(r *http.Request, max int64) (*payload, error) {
	h := r.Header
	p := &payload{size: -1, max: max}
	contentSHA := h.Get("X-Amz-Content-Sha256")
	switch {
	case contentSHA == "" || knownPayloadHash(contentSHA):
	case len(contentSHA) == 64 && isHex(contentSHA):
		p.sha256 = strings.ToLower(contentSHA)
	default:
		return nil, errInvalidArgument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.", "x-amz-content-sha256", contentSHA)
	}
	chunked := hasToken(h.Get("Content-Encoding"), "aws-chunked") || strings.HasPrefix(contentSHA, "STREAMING-")
	signed := strings.HasPrefix(contentSHA, "STREAMING-AWS4-")

	if chunked {
		if dl := h.Get("X-Amz-Decoded-Content-Length"); dl != "" {
			n, err := strconv.ParseInt(dl, 10, 64)
			if err != nil || n < 0 {
				return nil, errInvalidArgument("x-amz-decoded-content-length is not a valid length", "x-amz-decoded-content-length", dl)
			}
			p.size = n
		}
	} else if r.ContentLength >= 0 {
		p.size = r.ContentLength
	}
	if p.size > max {
		return nil, errEntityTooLarge(p.size, max)
	}

	if v := h.Get("Content-MD5"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != 16 {
			return nil, errInvalidDigest(v)
		}
		p.md5, p.md5Header = b, v
	}
	if err := p.setChecksum(h, chunked); err != nil {
		return nil, err
	}

	p.body = &clientReader{r: r.Body}
	var rd io.Reader = p.body
	if chunked {
		limit, tooLong := max, errEntityTooLarge(max+1, max)
		if p.size >= 0 {
			limit, tooLong = p.size, errChunked("body longer than x-amz-decoded-content-length")
		}
		var v ChunkVerifier
		if signed && s.ChunkVerifier != nil {
			var err error
			if v, err = s.ChunkVerifier(r); err != nil {
				return nil, sigError(err)
			}
		}
		p.chunked = newChunkedReader(rd, signed, v, limit, tooLong)
		rd = p.chunked
	} else if p.size < 0 {
		rd = io.LimitReader(rd, max+1)
	}
	if p.hasher != nil {
		rd = io.TeeReader(rd, p.hasher)
	}
	p.Reader = rd
	return p, nil
}

// setChecksum picks the flexible checksum the client sent: at most one, in
// a header or, for aws-chunked bodies, a trailer.
func (p *payload) setChecksum(h http.Header, chunked bool) error {
	for _, a := range checksumAlgos() {
		v := h.Get(a.header())
		if v == "" {
			continue
		}
		if p.algo != nil {
			return errInvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		if !a.validValue(v) {
			return errInvalidRequest("Value for %s header is invalid.", strings.ToLower(a.header()))
		}
		p.algo, p.want = &a, v
	}
	if t := strings.TrimSpace(h.Get("X-Amz-Trailer")); t != "" {
		name := strings.ToLower(t)
		a, ok := findChecksumAlgo(strings.TrimPrefix(name, "x-amz-checksum-"))
		if !ok || !strings.HasPrefix(name, "x-amz-checksum-") {
			return errInvalidRequest("The value specified in the x-amz-trailer header is not supported")
		}
		if !chunked {
			return errInvalidRequest("x-amz-trailer is only allowed with Content-Encoding: aws-chunked")
		}
		if p.algo != nil {
			return errInvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		p.algo, p.trailer = &a, name
	}
	if sdk := h.Get("X-Amz-Sdk-Checksum-Algorithm"); sdk != "" {
		a, ok := findChecksumAlgo(sdk)
		if !ok {
			return errInvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
		if p.algo == nil {
			return errInvalidRequest("x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.")
		}
		if a.name != p.algo.name {
			return errInvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
	}
	if p.algo != nil {
		p.hasher = p.algo.new()
	}
	return nil
}

// readError turns an error met while copying the payload into what the
// client should see; errors not caused by the client are returned as is.
// An *awsapi.Error is already what the client should see: this package's
// (a bad chunk) or the one the SigV4 layer's body fails with when it is
// not what x-amz-content-sha256 promised (XAmzContentSHA256Mismatch).
func (p *payload) readError(err error) error {
	if _, ok := awsapi.AsError(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return errIncompleteBody() // the client went away
	}
	if p.body.err != nil && errors.Is(err, p.body.err) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errEntityTooLarge(mbe.Limit+1, p.max)
		}
		return errIncompleteBody()
	}
	return err
}

// checked is what a fully read payload turned out to be.
type checked struct {
	algo     *checksumAlgo
	checksum string // base64, of algo
}

// finish checks the payload, read to its end into blob, against the length,
// digests and checksum the client declared.
func (p *payload) finish(b blobstore.Blob) (checked, error) {
	if p.size >= 0 && b.Size != p.size {
		return checked{}, errIncompleteBody()
	}
	if b.Size > p.max {
		return checked{}, errEntityTooLarge(b.Size, p.max)
	}
	if p.md5 != nil && hex.EncodeToString(p.md5) != b.MD5 {
		got, _ := hex.DecodeString(b.MD5)
		return checked{}, errBadDigest(p.md5Header, base64.StdEncoding.EncodeToString(got))
	}
	if p.sha256 != "" && p.sha256 != b.SHA256 {
		return checked{}, errSHA256Mismatch(p.sha256, b.SHA256)
	}
	if p.algo == nil {
		return checked{}, nil
	}
	want := p.want
	if p.trailer != "" {
		want = p.chunked.trailers[p.trailer]
		if want == "" {
			return checked{}, errInvalidRequest("The %s trailer declared in x-amz-trailer was not sent.", p.trailer)
		}
		if !p.algo.validValue(want) {
			return checked{}, errInvalidRequest("Value for %s trailing header is invalid.", p.trailer)
		}
	}
	got := encodeSum(p.hasher)
	if got != want {
		return checked{}, errChecksumMismatch(p.algo.name)
	}
	return checked{algo: p.algo, checksum: got}, nil
}

func hasToken(list, token string) bool {
	for _, t := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// withoutToken drops token from a comma-separated header value.
func withoutToken(list, token string) string {
	var out []string
	for _, t := range strings.Split(list, ",") {
		if t = strings.TrimSpace(t); t != "" && !strings.EqualFold(t, token) {
			out = append(out, t)
		}
	}
	return strings.Join(out, ", ")
}
