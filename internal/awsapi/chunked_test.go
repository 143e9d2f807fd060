package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The example of AWS's "Transferring Payload in Multiple Chunks"
// (sigv4-streaming) page: 66560 bytes of 'a' in a 65536-byte and a
// 1024-byte chunk, with the seed, chunk and final signatures AWS lists.
const (
	vectorKeyID  = "AKIAIOSFODNN7EXAMPLE"
	vectorSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	vectorSeed   = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	vectorChunk1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
	vectorChunk2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
	vectorFinal  = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
)

func vectorBody(chunk1Sig string, tamper bool) []byte {
	var b bytes.Buffer
	b.WriteString("10000;chunk-signature=" + chunk1Sig + "\r\n")
	data := bytes.Repeat([]byte("a"), 65536)
	if tamper {
		data[100] = 'b'
	}
	b.Write(data)
	b.WriteString("\r\n400;chunk-signature=" + vectorChunk2 + "\r\n")
	b.Write(bytes.Repeat([]byte("a"), 1024))
	b.WriteString("\r\n0;chunk-signature=" + vectorFinal + "\r\n\r\n")
	return b.Bytes()
}

func vectorRequest(body []byte) *http.Request {
	req := httptest.NewRequest("PUT", "http://s3.amazonaws.com/examplebucket/chunkObject.txt", bytes.NewReader(body))
	req.Host = "s3.amazonaws.com"
	req.Header.Set("X-Amz-Date", "20130524T000000Z")
	req.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+vectorKeyID+"/20130524/us-east-1/s3/aws4_request,"+
		"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"+
		"Signature="+vectorSeed)
	req.Header.Set("X-Amz-Content-Sha256", streamingSigned)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	req.Header.Set("Content-Length", "66824")
	return req
}

func TestSignedChunkedUploadAWSExample(t *testing.T) {
	keys := KeyStoreFunc(func(ctx context.Context, id string) (AccessKey, error) {
		if id != vectorKeyID {
			return AccessKey{}, ErrUnknownAccessKey
		}
		return AccessKey{SecretAccessKey: vectorSecret}, nil
	})
	clock := func() time.Time { return time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC) }
	var got []byte
	var readErr error
	var contentEncoding string
	var contentLength int64
	h := Authenticate(keys, WithClock(clock), WithChunkedDecoding())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, readErr = io.ReadAll(r.Body)
		contentEncoding, contentLength = r.Header.Get("Content-Encoding"), r.ContentLength
		if readErr != nil {
			e, _ := AsError(readErr)
			WriteS3Error(w, r, e)
		}
	}))

	body := vectorBody(vectorChunk1, false)
	if len(body) != 66824 {
		t.Fatalf("example body is %d bytes, AWS says 66824", len(body))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, vectorRequest(body))
	if rec.Code != 200 || readErr != nil {
		t.Fatalf("status %d, read error %v, body %s", rec.Code, readErr, rec.Body)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) {
		t.Fatalf("decoded %d bytes, want 66560 'a'", len(got))
	}
	if contentEncoding != "" || contentLength != 66560 {
		t.Fatalf("handler saw Content-Encoding %q and length %d, want none and 66560", contentEncoding, contentLength)
	}

	for name, b := range map[string][]byte{
		"tampered data":        vectorBody(vectorChunk1, true),
		"wrong chunk sig":      vectorBody(vectorChunk2, false),
		"truncated":            body[:40000],
		"final chunk missing":  body[:len(body)-86],
		"garbage chunk header": append([]byte("zz;chunk-signature="+vectorChunk1+"\r\n"), body[88:]...),
	} {
		readErr = nil
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, vectorRequest(b))
		if readErr == nil {
			t.Errorf("%s: body read without error", name)
			continue
		}
		e, ok := AsError(readErr)
		if !ok {
			t.Errorf("%s: read error %v is not an *Error", name, readErr)
			continue
		}
		want := "IncompleteBody"
		if strings.Contains(name, "sig") || name == "tampered data" {
			want = "SignatureDoesNotMatch"
		}
		if e.Code != want || !strings.Contains(rec.Body.String(), "<Code>"+want+"</Code>") {
			t.Errorf("%s: error %v, response %s; want %s", name, e, rec.Body, want)
		}
	}

	// The seed signature covers the headers: another storage class fails.
	req := vectorRequest(body)
	req.Header.Set("X-Amz-Storage-Class", "STANDARD")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("changed header: %d %s", rec.Code, rec.Body)
	}
}

// Without WithChunkedDecoding the body reaches the handler as sent, with a
// ChunkVerifier that checks the chunks the handler decodes.
func TestChunkVerifierForHandlers(t *testing.T) {
	keys := KeyStoreFunc(func(ctx context.Context, id string) (AccessKey, error) {
		return AccessKey{SecretAccessKey: vectorSecret}, nil
	})
	clock := func() time.Time { return time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC) }
	var raw []byte
	var verifier *ChunkVerifier
	h := Authenticate(keys, WithClock(clock))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ = io.ReadAll(r.Body)
		verifier, _ = ChunkVerifierFrom(r.Context())
	}))
	body := vectorBody(vectorChunk1, false)
	h.ServeHTTP(httptest.NewRecorder(), vectorRequest(body))
	if !bytes.Equal(raw, body) || verifier == nil {
		t.Fatalf("handler got %d bytes and verifier %v; want the body as sent and a verifier", len(raw), verifier)
	}
	sum := func(n int) []byte {
		s := sha256.Sum256(bytes.Repeat([]byte("a"), n))
		return s[:]
	}
	empty := sha256.Sum256(nil)
	if err := verifier.VerifyChunk(vectorChunk2, sum(65536)); err == nil {
		t.Fatal("chunk 1 accepted with chunk 2's signature")
	}
	for i, c := range []struct {
		sig string
		sum []byte
	}{{vectorChunk1, sum(65536)}, {vectorChunk2, sum(1024)}, {vectorFinal, empty[:]}} {
		if err := verifier.VerifyChunk(c.sig, c.sum); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}

	// The seed signature covers the payload hash: a client cannot turn a
	// signed body into an unsigned one.
	req := vectorRequest(body)
	req.Header.Set("X-Amz-Content-Sha256", streamingUnsignedTrailer)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 403 {
		t.Fatalf("changed payload hash: %d", rec.Code)
	}
}
