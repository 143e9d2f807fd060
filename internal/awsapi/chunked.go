package awsapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ChunkVerifier checks the signatures of a signed aws-chunked body
// (x-amz-content-sha256 STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]).
// Authenticate makes one per such request, after verifying the request's
// seed signature, whose signing key and chain it holds. Chunk signatures
// chain, so VerifyChunk must see every chunk in order, ending with the empty
// final chunk; a ChunkVerifier serves one body and is not safe for
// concurrent use. Failures are *Error SignatureDoesNotMatch (403).
type ChunkVerifier struct {
	key     []byte
	amzDate string
	scope   string
	prev    string
}

type chunkVerifierKey struct{}

// ChunkVerifierFrom returns the ChunkVerifier of the signed aws-chunked
// request ctx belongs to.
func ChunkVerifierFrom(ctx context.Context) (*ChunkVerifier, bool) {
	v, ok := ctx.Value(chunkVerifierKey{}).(*ChunkVerifier)
	return v, ok
}

// VerifyChunk checks the signature of the next chunk, given the SHA-256 of
// its data. The signed string is
//
//	AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n<previous signature>\n<sha256("")>\n<hex data SHA-256>
func (v *ChunkVerifier) VerifyChunk(signature string, dataSHA256 []byte) error {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + v.amzDate + "\n" + v.scope + "\n" + v.prev + "\n" +
		emptySHA256 + "\n" + hex.EncodeToString(dataSHA256)
	return v.check(signature, sts)
}

// VerifyTrailer checks the trailer signature (x-amz-trailer-signature)
// after the final chunk, given the trailing headers as signed: "name:value\n"
// for each, in the order sent.
func (v *ChunkVerifier) VerifyTrailer(signature string, trailer []byte) error {
	sum := sha256.Sum256(trailer)
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + v.amzDate + "\n" + v.scope + "\n" + v.prev + "\n" + hex.EncodeToString(sum[:])
	return v.check(signature, sts)
}

func (v *ChunkVerifier) check(signature, stringToSign string) error {
	want := hex.EncodeToString(hmacSHA256(v.key, []byte(stringToSign)))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(signature))) {
		return chunkSigMismatch()
	}
	v.prev = want
	return nil
}

// wrapS3Body replaces the body of a verified S3 request with one that
// checks what the signature promised (see Authenticate), and returns the
// ChunkVerifier of a signed aws-chunked body.
func (cfg *authConfig) wrapS3Body(r *http.Request, sr *sigRequest, payloadHash string, signingKey []byte) (*ChunkVerifier, *authError) {
	var verifier *ChunkVerifier
	if payloadHash == streamingSigned || payloadHash == streamingSignedTrailer {
		verifier = &ChunkVerifier{key: signingKey, amzDate: sr.amzDate, scope: sr.credentialScope(), prev: strings.ToLower(sr.signature)}
	}
	if r.Body == nil || r.Body == http.NoBody {
		if isHex64(payloadHash) && payloadHash != emptySHA256 {
			r.Body = io.NopCloser(&errReader{contentSHA256Mismatch(payloadHash, emptySHA256)})
		}
		return verifier, nil
	}
	switch payloadHash {
	case unsignedPayload:
		return nil, nil
	case streamingUnsignedTrailer, streamingSigned, streamingSignedTrailer:
		if !cfg.decodeChunked {
			return verifier, nil
		}
		cr := &chunkedReader{
			br:       bufio.NewReaderSize(r.Body, 4096),
			body:     r.Body,
			verifier: verifier,
			want:     -1,
			trailer:  make(http.Header),
		}
		if v := r.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, malformed(sr.presigned, "x-amz-decoded-content-length must be a non-negative integer.")
			}
			cr.want = n
		}
		for _, t := range r.Header.Values("X-Amz-Trailer") {
			for _, name := range strings.Split(t, ",") {
				if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
					cr.declared = append(cr.declared, name)
				}
			}
		}
		r.Body = cr
		r.Trailer = cr.trailer
		r.ContentLength = cr.want
		if cr.want >= 0 {
			r.Header.Set("Content-Length", strconv.FormatInt(cr.want, 10))
		} else {
			r.Header.Del("Content-Length")
		}
		var enc []string
		for _, v := range r.Header.Values("Content-Encoding") {
			for _, e := range strings.Split(v, ",") {
				if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
					enc = append(enc, e)
				}
			}
		}
		r.Header.Del("Content-Encoding")
		if len(enc) > 0 {
			r.Header.Set("Content-Encoding", strings.Join(enc, ","))
		}
		return nil, nil // the body checks itself
	default:
		r.Body = &sha256Reader{r: r.Body, h: sha256.New(), want: payloadHash}
		return nil, nil
	}
}

func contentSHA256Mismatch(client, computed string) *Error {
	return Errorf("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.").
		WithField("ClientComputedContentSHA256", client).
		WithField("S3ComputedContentSHA256", computed)
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// sha256Reader passes the body through and, at its end, fails with
// XAmzContentSHA256Mismatch instead of io.EOF if the body is not what the
// client hashed and signed.
type sha256Reader struct {
	r    io.ReadCloser
	h    hash.Hash
	want string
	err  error
}

func (s *sha256Reader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(s.h.Sum(nil)); got != s.want {
			s.err = contentSHA256Mismatch(s.want, got)
			return n, s.err
		}
		s.err = io.EOF
	} else if err != nil {
		s.err = err
	}
	return n, err
}

func (s *sha256Reader) Close() error { return s.r.Close() }

// maxChunkLine bounds a chunk header or trailer line, so a client cannot
// make us buffer without end.
const maxChunkLine = 4096

// chunkedReader decodes an aws-chunked body:
//
//	<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n[<trailer>:<value>\r\n...]\r\n
//
// verifying each chunk's signature and the trailer's
// (x-amz-trailer-signature) with a ChunkVerifier when the payload is signed. Chunk data
// is passed on as it arrives; a chunk whose signature fails makes that Read
// return an error, so data is trustworthy only once Read returns io.EOF.
type chunkedReader struct {
	br       *bufio.Reader
	body     io.Closer
	verifier *ChunkVerifier // nil for unsigned bodies

	want     int64 // decoded length promised, -1 when not given
	got      int64
	declared []string
	trailer  http.Header

	remaining int64     // bytes left in the current chunk
	inChunk   bool      // a chunk header has been read
	chunkSig  string    // signature of the current chunk
	chunkHash hash.Hash // hash of the current chunk's data (signed only)
	err       error
}

func (c *chunkedReader) Close() error { return c.body.Close() }

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for !c.inChunk {
		if err := c.readChunkHeader(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.br.Read(p)
	c.remaining -= int64(n)
	c.got += int64(n)
	if c.verifier != nil {
		c.chunkHash.Write(p[:n])
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		c.err = incompleteBody("the aws-chunked body ended inside a chunk")
		return n, c.err
	}
	if c.remaining == 0 {
		if err := c.endChunk(); err != nil {
			c.err = err
			return n, err
		}
	}
	return n, nil
}

func incompleteBody(why string) *Error {
	return Errorf("IncompleteBody", "The request body is not a valid aws-chunked body: %s.", why)
}

func chunkSigMismatch() *Error {
	return status("SignatureDoesNotMatch", http.StatusForbidden, msgS3SigMismatch)
}

// readLine reads one CRLF-terminated line without the CRLF.
func (c *chunkedReader) readLine() (string, error) {
	line, err := c.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return "", incompleteBody("a chunk header or trailer line is too long")
	case err == io.EOF && len(line) == 0:
		return "", io.EOF
	case err != nil:
		return "", incompleteBody("unexpected end of the body")
	}
	if len(line) > maxChunkLine {
		return "", incompleteBody("a chunk header or trailer line is too long")
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
	return s, nil
}

func (c *chunkedReader) readChunkHeader() error {
	line, err := c.readLine()
	if err == io.EOF {
		return incompleteBody("unexpected end of the body")
	}
	if err != nil {
		return err
	}
	sizeHex, ext, _ := strings.Cut(line, ";")
	size, perr := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
	if perr != nil || size < 0 {
		return incompleteBody("bad chunk size " + strconv.Quote(sizeHex))
	}
	if c.verifier != nil {
		sig, ok := strings.CutPrefix(strings.TrimSpace(ext), "chunk-signature=")
		if !ok || !isHex64(sig) {
			return incompleteBody("a chunk has no chunk-signature")
		}
		c.chunkSig = strings.ToLower(sig)
		c.chunkHash = sha256.New()
	}
	if size == 0 {
		if err := c.verifyChunk(); err != nil {
			return err
		}
		return c.finish()
	}
	c.remaining = size
	c.inChunk = true
	return nil
}

// endChunk consumes the CRLF after a chunk's data and checks its signature.
func (c *chunkedReader) endChunk() error {
	crlf := make([]byte, 2)
	if _, err := io.ReadFull(c.br, crlf); err != nil || !bytes.Equal(crlf, []byte("\r\n")) {
		return incompleteBody("chunk data is not followed by CRLF")
	}
	c.inChunk = false
	return c.verifyChunk()
}

func (c *chunkedReader) verifyChunk() error {
	if c.verifier == nil {
		return nil
	}
	return c.verifier.VerifyChunk(c.chunkSig, c.chunkHash.Sum(nil))
}

// finish reads the trailers after the last chunk and the closing CRLF, and
// checks the trailer signature and the decoded length.
func (c *chunkedReader) finish() error {
	var canonical strings.Builder
	var trailerSig string
	for {
		line, err := c.readLine()
		if err == io.EOF {
			break // some encoders leave out the final CRLF
		}
		if err != nil {
			return err
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return incompleteBody("bad trailer line")
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if name == "x-amz-trailer-signature" {
			trailerSig = strings.ToLower(value)
			continue
		}
		c.trailer.Add(name, value)
		canonical.WriteString(name + ":" + value + "\n")
	}
	for _, d := range c.declared {
		if _, ok := c.trailer[http.CanonicalHeaderKey(d)]; !ok {
			return incompleteBody("trailer " + d + " was declared in x-amz-trailer but not sent")
		}
	}
	if c.verifier != nil && len(c.declared) > 0 {
		if err := c.verifier.VerifyTrailer(trailerSig, []byte(canonical.String())); err != nil {
			return err
		}
	}
	if c.want >= 0 && c.got != c.want {
		return incompleteBody("x-amz-decoded-content-length is " + strconv.FormatInt(c.want, 10) +
			" but the chunks hold " + strconv.FormatInt(c.got, 10) + " bytes")
	}
	return io.EOF
}
