package s3

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/hangarci/hangar/internal/awsapi"
)

// ChunkVerifier checks the signatures of a signed aws-chunked body
// (x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]).
// The SigV4 layer implements it: it verified the request's seed signature
// and holds the signing key. Chunk i's signature is the HMAC of
//
//	AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n<previous signature>\n<sha256("")>\n<hex dataSHA256>
//
// and the trailer's of
//
//	AWS4-HMAC-SHA256-TRAILER\n<date>\n<scope>\n<previous signature>\n<hex sha256(trailer)>
//
// so a verifier keeps the previous signature between calls. Chunks are
// passed in order, ending with the empty final chunk. An error stops the
// upload; an *awsapi.Error (SignatureDoesNotMatch, 403) is sent as is.
type ChunkVerifier interface {
	VerifyChunk(signature string, dataSHA256 []byte) error
	// VerifyTrailer gets the trailing headers as signed:
	// "name:value\n" for each, in the order sent.
	VerifyTrailer(signature string, trailer []byte) error
}

const (
	maxChunkLine    = 4096
	maxTrailerBytes = 16 << 10
)

// chunkedReader decodes an aws-chunked body:
//
//	<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n … 0[;chunk-signature=<sig>]\r\n
//	[<trailer name>:<value>\r\n …]\r\n
//
// It returns io.EOF only after the final chunk and trailers were read and
// every signature checked, so a consumer that stops at the first error
// never keeps a body that was cut short or tampered with.
type chunkedReader struct {
	br       *bufio.Reader
	signed   bool          // every chunk must carry a signature
	verifier ChunkVerifier // nil: signatures are not checked here
	limit    int64         // most decoded bytes accepted
	tooLong  error         // returned past limit

	inChunk  bool
	left     int64 // data bytes left in the current chunk
	sig      string
	hash     hash.Hash // of the current chunk, when verifying
	total    int64
	done     bool
	err      error
	trailers map[string]string // lowercase name → value
}

func newChunkedReader(r io.Reader, signed bool, v ChunkVerifier, limit int64, tooLong error) *chunkedReader {
	c := &chunkedReader{br: bufio.NewReaderSize(r, maxChunkLine), signed: signed, verifier: v, limit: limit, tooLong: tooLong}
	if v != nil {
		c.hash = sha256.New()
	}
	return c
}

func errChunked(msg string) error {
	return newErr("InvalidRequest", http.StatusBadRequest, "Invalid aws-chunked encoding: "+msg)
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for !c.inChunk {
		if c.done {
			return 0, io.EOF
		}
		if err := c.readHeader(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	c.total += int64(n)
	if c.hash != nil {
		c.hash.Write(p[:n])
	}
	if c.left == 0 {
		if err := c.endChunk(); err != nil {
			c.err = err
			return n, err
		}
	} else if err == io.EOF {
		err = errIncompleteBody()
	}
	if err != nil && err != io.EOF {
		c.err = err
		return n, err
	}
	return n, nil
}

// readLine reads one CRLF-terminated line and returns it without the CRLF.
func (c *chunkedReader) readLine() (string, error) {
	line, err := c.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return "", errChunked("line too long")
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return "", errIncompleteBody()
	case err != nil:
		return "", err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "", errChunked("line not terminated by CRLF")
	}
	return string(line[:len(line)-2]), nil
}

func (c *chunkedReader) readHeader() error {
	line, err := c.readLine()
	if err != nil {
		return err
	}
	sizeStr, ext, hasExt := strings.Cut(line, ";")
	if len(sizeStr) == 0 || len(sizeStr) > 16 {
		return errChunked("bad chunk size")
	}
	size, err := strconv.ParseInt(sizeStr, 16, 64)
	if err != nil || size < 0 || strings.HasPrefix(sizeStr, "+") || strings.HasPrefix(sizeStr, "-") {
		return errChunked("bad chunk size")
	}
	c.sig = ""
	if hasExt {
		name, value, ok := strings.Cut(ext, "=")
		if !ok || name != "chunk-signature" || !isHex(value) {
			return errChunked("bad chunk extension")
		}
		c.sig = value
	}
	if c.signed && c.sig == "" {
		return errChunked("chunk without chunk-signature in a signed payload")
	}
	if size > c.limit-c.total {
		return c.tooLong
	}
	if size == 0 {
		if err := c.verifyChunk(); err != nil {
			return err
		}
		return c.readTrailers()
	}
	c.left = size
	c.inChunk = true
	return nil
}

func (c *chunkedReader) endChunk() error {
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
		return errIncompleteBody()
	}
	if crlf != [2]byte{'\r', '\n'} {
		return errChunked("chunk data not followed by CRLF")
	}
	c.inChunk = false
	return c.verifyChunk()
}

func (c *chunkedReader) verifyChunk() error {
	if c.verifier == nil || c.sig == "" {
		return nil
	}
	sum := c.hash.Sum(nil)
	c.hash.Reset()
	return sigError(c.verifier.VerifyChunk(c.sig, sum))
}

func sigError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := awsapi.AsError(err); ok {
		return err
	}
	return newErr("SignatureDoesNotMatch", http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
}

func (c *chunkedReader) readTrailers() error {
	var signed bytes.Buffer
	var trailerSig string
	read := 0
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if line == "" {
			break
		}
		read += len(line) + 2
		if read > maxTrailerBytes {
			return errChunked("trailers too long")
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if !ok || name == "" {
			return errChunked("malformed trailer")
		}
		if name == "x-amz-trailer-signature" {
			if !isHex(value) {
				return errChunked("malformed trailer signature")
			}
			trailerSig = value
			continue
		}
		if c.trailers == nil {
			c.trailers = make(map[string]string)
		}
		if _, dup := c.trailers[name]; dup {
			return errChunked("duplicate trailer " + name)
		}
		c.trailers[name] = value
		signed.WriteString(name + ":" + value + "\n")
	}
	if c.signed && len(c.trailers) > 0 && trailerSig == "" {
		return errChunked("trailers without x-amz-trailer-signature in a signed payload")
	}
	if c.verifier != nil && trailerSig != "" {
		if err := sigError(c.verifier.VerifyTrailer(trailerSig, signed.Bytes())); err != nil {
			return err
		}
	}
	// Nothing may follow the body's end.
	if _, err := c.br.ReadByte(); err == nil {
		return errChunked("data after the final chunk")
	} else if err != io.EOF {
		return err
	}
	c.done = true
	return nil
}

func isHex(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
