package s3

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hangarci/hangar/internal/awsapi"
)

func decodeChunked(body string, signed bool, v ChunkVerifier, limit int64) (string, map[string]string, error) {
	c := newChunkedReader(strings.NewReader(body), signed, v, limit, errors.New("too long"))
	out, err := io.ReadAll(c)
	return string(out), c.trailers, err
}

func TestChunkedDecode(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		trailers         map[string]string
		ok               bool
	}{
		{"empty", "0\r\n\r\n", "", nil, true},
		{"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello", nil, true},
		{"two chunks upper hex", "A\r\n0123456789\r\n1\r\nx\r\n0\r\n\r\n", "0123456789x", nil, true},
		{"trailer", "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n", "abc", map[string]string{"x-amz-checksum-crc32": "NSRBwg=="}, true},
		{"trailer spaces and case", "0\r\nX-Amz-Checksum-CRC32 : NSRBwg== \r\n\r\n", "", map[string]string{"x-amz-checksum-crc32": "NSRBwg=="}, true},
		{"signed", "3;chunk-signature=" + strings.Repeat("ab", 32) + "\r\nabc\r\n0;chunk-signature=" + strings.Repeat("cd", 32) + "\r\n\r\n", "abc", nil, true},
		{"no terminating blank line", "3\r\nabc\r\n0\r\n", "", nil, false},
		{"bare LF", "3\nabc\r\n0\r\n\r\n", "", nil, false},
		{"data longer than size", "3\r\nabcd\r\n0\r\n\r\n", "", nil, false},
		{"data shorter than size", "5\r\nabc\r\n0\r\n\r\n", "", nil, false},
		{"empty size", "\r\nabc\r\n0\r\n\r\n", "", nil, false},
		{"plus size", "+3\r\nabc\r\n0\r\n\r\n", "", nil, false},
		{"space in size", " 3\r\nabc\r\n0\r\n\r\n", "", nil, false},
		{"17 hex digits", "00000000000000003\r\nabc\r\n0\r\n\r\n", "", nil, false},
		{"unknown extension", "3;foo=bar\r\nabc\r\n0\r\n\r\n", "", nil, false},
		{"non-hex signature", "3;chunk-signature=xyz\r\nabc\r\n0\r\n\r\n", "", nil, false},
		{"malformed trailer", "0\r\nnocolon\r\n\r\n", "", nil, false},
		{"duplicate trailer", "0\r\na:1\r\na:2\r\n\r\n", "", nil, false},
		{"over limit", "20\r\n" + strings.Repeat("x", 32) + "\r\n0\r\n\r\n", "", nil, false},
		{"garbage after end", "0\r\n\r\nx", "", nil, false},
		{"eof in data", "5\r\nab", "", nil, false},
		{"nothing", "", "", nil, false},
	} {
		got, trailers, err := decodeChunked(tc.body, false, nil, 16)
		if tc.ok != (err == nil) {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if tc.ok && (got != tc.want || fmt.Sprint(trailers) != fmt.Sprint(tc.trailers)) {
			t.Errorf("%s: got %q %v, want %q %v", tc.name, got, trailers, tc.want, tc.trailers)
		}
	}
	// A signed payload needs every chunk signed.
	if _, _, err := decodeChunked("3\r\nabc\r\n0\r\n\r\n", true, nil, 16); err == nil {
		t.Error("unsigned chunk accepted in a signed payload")
	}
	if _, _, err := decodeChunked("0;chunk-signature=ab\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", true, nil, 16); err == nil {
		t.Error("unsigned trailer accepted in a signed payload")
	}
}

// recordingVerifier stands in for the SigV4 layer.
type recordingVerifier struct {
	chunks  []string // "sig:hex(sha256)"
	trailer string
	reject  string // signature to refuse
}

func (v *recordingVerifier) VerifyChunk(sig string, sum []byte) error {
	v.chunks = append(v.chunks, fmt.Sprintf("%s:%x", sig[:2], sum))
	if sig == v.reject {
		return &awsapi.Error{Code: "SignatureDoesNotMatch", Message: "bad chunk", Status: http.StatusForbidden}
	}
	return nil
}

func (v *recordingVerifier) VerifyTrailer(sig string, trailer []byte) error {
	v.trailer = sig[:2] + ":" + string(trailer)
	if sig == v.reject {
		return errors.New("bad trailer")
	}
	return nil
}

func TestChunkVerifierHook(t *testing.T) {
	sig := func(c string) string { return strings.Repeat(c, 64) }
	body := "3;chunk-signature=" + sig("a") + "\r\nabc\r\n2;chunk-signature=" + sig("b") + "\r\nde\r\n0;chunk-signature=" + sig("c") +
		"\r\nx-amz-checksum-crc32:" + crc32b64("abcde") + "\r\nx-amz-trailer-signature:" + sig("d") + "\r\n\r\n"
	v := &recordingVerifier{}
	got, _, err := decodeChunked(body, true, v, 100)
	if err != nil || got != "abcde" {
		t.Fatalf("decode = %q, %v", got, err)
	}
	h := func(s string) string { x := sha256.Sum256([]byte(s)); return fmt.Sprintf("%x", x) }
	want := []string{"aa:" + h("abc"), "bb:" + h("de"), "cc:" + h("")}
	if fmt.Sprint(v.chunks) != fmt.Sprint(want) {
		t.Fatalf("chunks = %v\nwant %v", v.chunks, want)
	}
	if v.trailer != "dd:x-amz-checksum-crc32:"+crc32b64("abcde")+"\n" {
		t.Fatalf("trailer = %q", v.trailer)
	}
	v = &recordingVerifier{reject: sig("b")}
	_, _, err = decodeChunked(body, true, v, 100)
	if e, ok := awsapi.AsError(err); !ok || e.Code != "SignatureDoesNotMatch" {
		t.Fatalf("rejected chunk: %v", err)
	}
	v = &recordingVerifier{reject: sig("d")}
	_, _, err = decodeChunked(body, true, v, 100)
	if e, ok := awsapi.AsError(err); !ok || e.Code != "SignatureDoesNotMatch" || e.Status != 403 {
		t.Fatalf("rejected trailer: %v", err)
	}

	// Through the service: a refused signature stores nothing.
	f := newFixture(t, false)
	f.do("PUT", "/bkt", nil, "")
	f.svc.ChunkVerifier = func(*http.Request) (ChunkVerifier, error) { return &recordingVerifier{reject: sig("b")}, nil }
	hdr := chunkedHeaders(5, "x-amz-checksum-crc32")
	hdr["X-Amz-Content-Sha256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	f.expect(f.do("PUT", "/bkt/k", hdr, body), 403, "SignatureDoesNotMatch")
	f.assertStored("bkt", 0, 0)
	f.svc.ChunkVerifier = func(*http.Request) (ChunkVerifier, error) { return &recordingVerifier{}, nil }
	if r := f.do("PUT", "/bkt/k", hdr, body); r.status != 200 {
		t.Fatalf("signed upload: %d %s", r.status, r.body)
	}
	f.assertStored("bkt", 1, 1)
}

// encodeChunked frames data in chunks of n bytes (n > 0).
func encodeChunked(data []byte, n int, trailer string) []byte {
	var b bytes.Buffer
	for len(data) > 0 {
		c := data[:min(n, len(data))]
		data = data[len(c):]
		fmt.Fprintf(&b, "%x\r\n", len(c))
		b.Write(c)
		b.WriteString("\r\n")
	}
	b.WriteString("0\r\n")
	if trailer != "" {
		b.WriteString(trailer + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func FuzzAwsChunked(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), []byte("hello"), uint8(2))
	f.Add([]byte("3;chunk-signature=abcd\r\nabc\r\n0;chunk-signature=ef\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:01\r\n\r\n"), []byte{}, uint8(1))
	f.Add([]byte("0\r\n\r\n"), []byte("x"), uint8(0))
	f.Add([]byte("ffffffffffffffff\r\n"), bytes.Repeat([]byte("ab"), 100), uint8(7))
	f.Fuzz(func(t *testing.T, raw, data []byte, n uint8) {
		const limit = 1 << 16
		// Arbitrary input: no panic, no more than limit bytes, and a
		// body that decodes re-encodes to one that decodes the same.
		c := newChunkedReader(bytes.NewReader(raw), false, &recordingVerifier{}, limit, errors.New("too long"))
		out, err := io.ReadAll(c)
		if len(out) > limit {
			t.Fatalf("decoded %d bytes past the limit", len(out))
		}
		if err == nil {
			var trailer string
			for k, v := range c.trailers {
				trailer = k + ":" + v
				break
			}
			if len(c.trailers) <= 1 {
				again, _, err := decodeChunked(string(encodeChunked(out, 7, trailer)), false, nil, limit)
				if err != nil || again != string(out) {
					t.Fatalf("re-encoded body decodes to %q, %v; want %q", again, err, out)
				}
			}
		}
		// Well-formed input of any chunking decodes to its data.
		if n == 0 {
			n = 1
		}
		got, _, err := decodeChunked(string(encodeChunked(data, int(n), "")), false, nil, limit)
		if len(data) <= limit && (err != nil || got != string(data)) {
			t.Fatalf("round trip of %d bytes in chunks of %d: %v", len(data), n, err)
		}
	})
}
