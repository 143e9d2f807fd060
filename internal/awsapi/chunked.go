package awsapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
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

func chunkSigMismatch() *Error {
	return status("SignatureDoesNotMatch", http.StatusForbidden, msgS3SigMismatch)
}

// wrapS3Body replaces the body of a verified S3 request with one that
// checks a hex payload hash while it is read (see Authenticate), and
// returns the ChunkVerifier of a signed aws-chunked body. aws-chunked
// bodies are left as sent: the S3 service decodes them.
func wrapS3Body(r *http.Request, sr *sigRequest, payloadHash string, signingKey []byte) *ChunkVerifier {
	var verifier *ChunkVerifier
	if payloadHash == streamingSigned || payloadHash == streamingSignedTrailer {
		verifier = &ChunkVerifier{key: signingKey, amzDate: sr.amzDate, scope: sr.credentialScope(), prev: strings.ToLower(sr.signature)}
	}
	if !isHex64(payloadHash) {
		return verifier
	}
	if r.Body == nil || r.Body == http.NoBody {
		if payloadHash != emptySHA256 {
			r.Body = io.NopCloser(&errReader{contentSHA256Mismatch(payloadHash, emptySHA256)})
		}
		return verifier
	}
	r.Body = &sha256Reader{r: r.Body, h: sha256.New(), want: payloadHash}
	return verifier
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
