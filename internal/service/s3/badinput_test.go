package s3

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

type rawResp struct {
	status int
	header http.Header
	body   string
	err    struct {
		Code       string
		Message    string
		BucketName string
		Key        string
		RequestID  string `xml:"RequestId"`
	}
}

// do sends a raw request (path already percent-encoded).
func (f *fixture) do(method, path string, hdr map[string]string, body string) rawResp {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range hdr {
		if k == "Content-Length" {
			req.ContentLength, _ = strconv.ParseInt(v, 10, 64)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := rawResp{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if resp.StatusCode >= 300 && len(b) > 0 {
		if err := xml.Unmarshal(b, &r.err); err != nil {
			f.t.Fatalf("%s %s: error body is not XML: %q", method, path, b)
		}
	}
	return r
}

func (f *fixture) expect(r rawResp, status int, code string) {
	f.t.Helper()
	if r.status != status || r.err.Code != code {
		f.t.Fatalf("got %d %s (%s), want %d %s; body %s", r.status, r.err.Code, r.err.Message, status, code, r.body)
	}
}

// assertStored checks what is stored: objects in bucket, blobs, and no
// temp file.
func (f *fixture) assertStored(bucket string, objects, blobs int) {
	f.t.Helper()
	res, err := f.db.ListObjects(context.Background(), bucket, storeAll())
	if err != nil {
		f.t.Fatal(err)
	}
	if len(res.Objects) != objects || f.blobCount() != blobs || f.tempCount() != 0 {
		f.t.Fatalf("stored %d objects, %d blobs, %d temp files; want %d, %d, 0", len(res.Objects), f.blobCount(), f.tempCount(), objects, blobs)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func crc32b64(s string) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc32.ChecksumIEEE([]byte(s)))
	return b64(b[:])
}

func md5b64(s string) string { m := md5.Sum([]byte(s)); return b64(m[:]) }

// awsChunked frames data as aws-chunked in chunks of n bytes, with
// trailer lines after the final chunk.
func awsChunked(data string, n int, trailers ...string) string {
	var b strings.Builder
	for len(data) > 0 {
		c := data[:min(n, len(data))]
		data = data[len(c):]
		fmt.Fprintf(&b, "%x\r\n%s\r\n", len(c), c)
	}
	b.WriteString("0\r\n")
	for _, t := range trailers {
		b.WriteString(t + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

func chunkedHeaders(decoded int, trailer string) map[string]string {
	h := map[string]string{
		"Content-Encoding":             "aws-chunked",
		"X-Amz-Content-Sha256":         "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
		"X-Amz-Decoded-Content-Length": strconv.Itoa(decoded),
	}
	if trailer != "" {
		h["X-Amz-Trailer"] = trailer
	}
	return h
}

func TestBadBucketNames(t *testing.T) {
	f := newFixture(t, false)
	for _, name := range []string{"ab", "AB", "Abc", "a..b", "-abc", "abc-", ".abc", "abc_def", "192.168.1.1",
		"xn--abc", "sthree-abc", "abc-s3alias", "abc--ol-s3", strings.Repeat("a", 64), "a%2Fb", "ab%20c", "%C3%A4bc"} {
		r := f.do("PUT", "/"+name, nil, "")
		f.expect(r, 400, "InvalidBucketName")
		if r.err.RequestID == "" || r.err.RequestID != r.header.Get("X-Amz-Request-Id") {
			t.Fatalf("request id %q vs header %q", r.err.RequestID, r.header.Get("X-Amz-Request-Id"))
		}
		// HEAD errors carry no body.
		if r := f.do("HEAD", "/"+name, nil, ""); r.status != 400 || r.body != "" {
			t.Fatalf("HEAD %s = %d %q", name, r.status, r.body)
		}
	}
	for _, name := range []string{"abc", "a.b-c", strings.Repeat("a", 63), "1bucket"} {
		if r := f.do("PUT", "/"+name, nil, ""); r.status != 200 {
			t.Fatalf("PUT %s = %d %s", name, r.status, r.body)
		}
	}
	bs, _ := f.db.ListBuckets(context.Background())
	if len(bs) != 4 {
		t.Fatalf("%d buckets", len(bs))
	}
	r := f.do("GET", "/nosuchbucket/k", nil, "")
	f.expect(r, 404, "NoSuchBucket")
	if r.err.BucketName != "nosuchbucket" || r.err.Message != "The specified bucket does not exist" {
		t.Fatalf("NoSuchBucket document: %s", r.body)
	}
	r = f.do("GET", "/abc/nokey", nil, "")
	f.expect(r, 404, "NoSuchKey")
	if r.err.Key != "nokey" {
		t.Fatalf("NoSuchKey document: %s", r.body)
	}
	f.expect(f.do("PUT", "/abc", map[string]string{"Content-Type": "application/xml"}, "<CreateBucketConfiguration>"), 400, "MalformedXML")
	f.expect(f.do("PUT", "/newbucket", nil, "<CreateBucketConfiguration><LocationConstraint>us-east-1"), 400, "MalformedXML")
	f.expect(f.do("PUT", "/newbucket", nil, "<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>"), 400, "InvalidLocationConstraint")
	if _, err := f.db.Bucket(context.Background(), "newbucket"); err == nil {
		t.Fatal("bucket created from a bad request")
	}
	f.expect(f.do("PATCH", "/abc", nil, ""), 405, "MethodNotAllowed")
	f.expect(f.do("POST", "/", nil, ""), 405, "MethodNotAllowed")
	f.expect(f.do("GET", "/abc?acl", nil, ""), 501, "NotImplemented")
	f.expect(f.do("PUT", "/abc/k?tagging", nil, "x"), 501, "NotImplemented")
	f.expect(f.do("GET", "/abc?list-type=3", nil, ""), 400, "InvalidArgument")
	f.expect(f.do("GET", "/abc?list-type=2&max-keys=-1", nil, ""), 400, "InvalidArgument")
	f.expect(f.do("GET", "/abc?list-type=2&continuation-token=%21%21", nil, ""), 400, "InvalidArgument")
	f.expect(f.do("GET", "/abc?list-type=2&encoding-type=base64", nil, ""), 400, "InvalidArgument")
}

func TestBadKeys(t *testing.T) {
	f := newFixture(t, false)
	f.do("PUT", "/bkt", nil, "")
	f.expect(f.do("PUT", "/bkt/a%00b", nil, "x"), 400, "InvalidArgument")
	f.expect(f.do("PUT", "/bkt/a%FFb", nil, "x"), 400, "InvalidArgument")
	f.expect(f.do("PUT", "/bkt/"+strings.Repeat("k", 1025), nil, "x"), 400, "KeyTooLongError")
	f.expect(f.do("PUT", "/bkt/"+strings.Repeat("%C3%A4", 513), nil, "x"), 400, "KeyTooLongError") // 1026 bytes
	f.assertStored("bkt", 0, 0)
	if r := f.do("PUT", "/bkt/"+strings.Repeat("k", 1024), nil, "x"); r.status != 200 {
		t.Fatalf("1024-byte key: %d %s", r.status, r.body)
	}

	// Keys are opaque: "..", "//", "+", spaces, %2F, unicode.
	for path, key := range map[string]string{
		"/bkt/a/../b":          "a/../b",
		"/bkt/a//b/":           "a//b/",
		"/bkt/a+b%20c":         "a+b c",
		"/bkt/x%2Fy":           "x/y",
		"/bkt/%C3%A4%E6%97%A5": "ä日",
		"/bkt/..":              "..",
	} {
		if r := f.do("PUT", path, nil, key); r.status != 200 {
			t.Fatalf("PUT %s: %d %s", path, r.status, r.body)
		}
		o, err := f.db.Object(context.Background(), "bkt", key)
		if err != nil {
			t.Fatalf("PUT %s did not store key %q: %v", path, key, err)
		}
		if r := f.do("GET", path, nil, ""); r.status != 200 || r.body != key {
			t.Fatalf("GET %s = %d %q", path, r.status, r.body)
		}
		_ = o
	}
	if r := f.do("GET", "/bkt/x/y", nil, ""); r.body != "x/y" {
		t.Fatalf("x%%2Fy and x/y are not the same key: %q", r.body)
	}
}

func TestBadBodies(t *testing.T) {
	f := newFixture(t, false)
	f.do("PUT", "/bkt", nil, "")
	// An object that every failed write below must leave alone.
	if r := f.do("PUT", "/bkt/k", nil, "original"); r.status != 200 {
		t.Fatal(r.body)
	}
	check := func() {
		t.Helper()
		f.assertStored("bkt", 1, 1)
		if r := f.do("GET", "/bkt/k", nil, ""); r.body != "original" {
			t.Fatalf("object changed to %q", r.body)
		}
	}
	data := "new content, longer than one chunk"

	f.expect(f.do("PUT", "/bkt/k", map[string]string{"Content-MD5": md5b64("other")}, data), 400, "BadDigest")
	check()
	f.expect(f.do("PUT", "/bkt/k", map[string]string{"Content-MD5": "not base64!"}, data), 400, "InvalidDigest")
	check()
	f.expect(f.do("PUT", "/bkt/k", map[string]string{"X-Amz-Checksum-Crc32": crc32b64("other")}, data), 400, "BadDigest")
	check()
	f.expect(f.do("PUT", "/bkt/k", map[string]string{"X-Amz-Checksum-Crc32": "AAAA"}, data), 400, "InvalidRequest")
	check()
	f.expect(f.do("PUT", "/bkt/k", map[string]string{"X-Amz-Checksum-Crc32": crc32b64(data), "X-Amz-Checksum-Sha1": "AAAA"}, data), 400, "InvalidRequest")
	check()
	sum := sha256.Sum256([]byte("other"))
	f.expect(f.do("PUT", "/bkt/k", map[string]string{"X-Amz-Content-Sha256": hex.EncodeToString(sum[:])}, data), 400, "XAmzContentSHA256Mismatch")
	check()
	f.expect(f.do("PUT", "/bkt/k", map[string]string{"X-Amz-Content-Sha256": "bogus"}, data), 400, "InvalidArgument")
	check()

	// aws-chunked: a trailing checksum that does not match.
	f.expect(f.do("PUT", "/bkt/k", chunkedHeaders(len(data), "x-amz-checksum-crc32"),
		awsChunked(data, 8, "x-amz-checksum-crc32:"+crc32b64("other"))), 400, "BadDigest")
	check()
	// A declared trailer that never comes.
	f.expect(f.do("PUT", "/bkt/k", chunkedHeaders(len(data), "x-amz-checksum-crc32"), awsChunked(data, 8)), 400, "InvalidRequest")
	check()
	// Corrupted framing.
	good := awsChunked(data, 8, "x-amz-checksum-crc32:"+crc32b64(data))
	for name, body := range map[string]string{
		"bad size":             strings.Replace(good, "8\r\n", "zz\r\n", 1),
		"negative size":        strings.Replace(good, "8\r\n", "-8\r\n", 1),
		"size too big":         strings.Replace(good, "8\r\n", "9\r\n", 1),
		"missing CRLF":         strings.Replace(good, "\r\n", "\n", 2),
		"truncated":            good[:len(good)/2],
		"no final chunk":       good[:strings.Index(good, "0\r\n")],
		"bad extension":        strings.Replace(good, "8\r\n", "8;foo=bar\r\n", 1),
		"trailing garbage":     good + "junk",
		"longer than declared": awsChunked(data+"extra", 8, "x-amz-checksum-crc32:"+crc32b64(data+"extra")),
		"huge size line":       strings.Replace(good, "8\r\n", strings.Repeat("0", 5000)+"8\r\n", 1),
		"size overflow":        strings.Replace(good, "8\r\n", "ffffffffffffffff\r\n", 1),
	} {
		h := chunkedHeaders(len(data), "x-amz-checksum-crc32")
		h["Content-Length"] = strconv.Itoa(len(body))
		r := f.do("PUT", "/bkt/k", h, body)
		if r.status != 400 || (r.err.Code != "InvalidRequest" && r.err.Code != "IncompleteBody") {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		check()
	}
	// A good aws-chunked body is stored, with the checksum in the reply.
	r := f.do("PUT", "/bkt/k2", chunkedHeaders(len(data), "x-amz-checksum-crc32"), good)
	if r.status != 200 || r.header.Get("X-Amz-Checksum-Crc32") != crc32b64(data) {
		t.Fatalf("good aws-chunked: %d %v %s", r.status, r.header, r.body)
	}
	if r := f.do("GET", "/bkt/k2", map[string]string{"X-Amz-Checksum-Mode": "ENABLED"}, ""); r.body != data || r.header.Get("Content-Encoding") != "" ||
		r.header.Get("X-Amz-Checksum-Crc32") != crc32b64(data) {
		t.Fatalf("GET aws-chunked object: %q %v", r.body, r.header)
	}
	// A signed aws-chunked body (signatures are the auth layer's job).
	signed := strings.ReplaceAll(awsChunked(data, 16), "\r\n", "\r\n")
	signed = strings.NewReplacer("10\r\n", "10;chunk-signature="+strings.Repeat("a", 64)+"\r\n",
		"2\r\n", "2;chunk-signature="+strings.Repeat("b", 64)+"\r\n",
		"0\r\n", "0;chunk-signature="+strings.Repeat("c", 64)+"\r\n").Replace(signed)
	h := chunkedHeaders(len(data), "")
	h["X-Amz-Content-Sha256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	if r := f.do("PUT", "/bkt/k3", h, signed); r.status != 200 {
		t.Fatalf("signed aws-chunked: %d %s", r.status, r.body)
	}
	// …and one whose chunks lack their signatures.
	f.expect(f.do("PUT", "/bkt/k4", h, awsChunked(data, 16)), 400, "InvalidRequest")
	f.do("DELETE", "/bkt/k2", nil, "")
	f.do("DELETE", "/bkt/k3", nil, "")
	check()

	f.svc.MaxObjectSize = 10
	f.expect(f.do("PUT", "/bkt/k", nil, data), 400, "EntityTooLarge")
	f.expect(f.do("PUT", "/bkt/k", chunkedHeaders(len(data), ""), awsChunked(data, 8)), 400, "EntityTooLarge")
	f.svc.MaxObjectSize = DefaultMaxObjectSize
	check()

	// DeleteObjects: malformed XML, missing digest, too many keys.
	md := func(s string) map[string]string { return map[string]string{"Content-MD5": md5b64(s)} }
	for _, body := range []string{"<Delete><Object><Key>k</Key>", "not xml", "<Delete></Delete>", "<Delete><Object><Key>k</Key></Object></Delete><Extra/>",
		"<Delete>" + strings.Repeat("<Object><Key>k</Key></Object>", 1001) + "</Delete>", "<Delete><Object></Object></Delete>"} {
		f.expect(f.do("POST", "/bkt?delete", md(body), body), 400, "MalformedXML")
	}
	body := "<Delete><Object><Key>k</Key></Object></Delete>"
	f.expect(f.do("POST", "/bkt?delete", nil, body), 400, "InvalidRequest")
	f.expect(f.do("POST", "/bkt?delete", md("x"), body), 400, "BadDigest")
	check()
}

// TestInterruptedUpload cuts a PUT short: the previous object stays and
// no blob or temp file is left.
func TestInterruptedUpload(t *testing.T) {
	f := newFixture(t, false)
	f.do("PUT", "/bkt", nil, "")
	f.do("PUT", "/bkt/k", nil, "original")
	for _, chunked := range []bool{false, true} {
		conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if chunked {
			fmt.Fprintf(conn, "PUT /bkt/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nContent-Encoding: aws-chunked\r\n"+
				"X-Amz-Content-Sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\nX-Amz-Decoded-Content-Length: 99000\r\n\r\n")
			fmt.Fprintf(conn, "%x\r\n%s", 99000, strings.Repeat("x", 5000))
		} else {
			fmt.Fprintf(conn, "PUT /bkt/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n%s", strings.Repeat("x", 5000))
		}
		conn.Close()
		// The handler notices the cut when its read fails; wait for it.
		deadline := time.Now().Add(5 * time.Second)
		for f.tempCount() != 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		f.assertStored("bkt", 1, 1)
		if r := f.do("GET", "/bkt/k", nil, ""); r.body != "original" {
			t.Fatalf("object = %q", r.body)
		}
	}
}

// TestExpectContinue sends PUTs with Expect: 100-continue: the body goes
// only once the service wants it, and an error comes before it.
func TestExpectContinue(t *testing.T) {
	f := newFixture(t, false)
	f.do("PUT", "/bkt", nil, "")
	for _, tc := range []struct {
		path   string
		status int
	}{{"/bkt/k", 200}, {"/nobucket/k", 404}} {
		conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", tc.path)
		br := bufio.NewReader(conn)
		line, _ := br.ReadString('\n')
		if tc.status == 200 {
			if !strings.Contains(line, "100 Continue") {
				t.Fatalf("%s: first line %q", tc.path, line)
			}
			br.ReadString('\n') // blank line after the 100
			fmt.Fprint(conn, "hello")
			line, _ = br.ReadString('\n')
		}
		if !strings.Contains(line, " "+strconv.Itoa(tc.status)+" ") {
			t.Fatalf("%s: status line %q", tc.path, line)
		}
		conn.Close()
	}
	if r := f.do("GET", "/bkt/k", nil, ""); r.body != "hello" {
		t.Fatalf("body = %q", r.body)
	}
}

func TestConditionalAndRangeRaw(t *testing.T) {
	f := newFixture(t, false)
	f.do("PUT", "/bkt", nil, "")
	f.do("PUT", "/bkt/k", nil, "0123456789")
	f.do("PUT", "/bkt/empty", nil, "")
	r := f.do("GET", "/bkt/k", map[string]string{"Range": "bytes=2-4"}, "")
	if r.status != 206 || r.body != "234" || r.header.Get("Content-Range") != "bytes 2-4/10" || r.header.Get("Content-Length") != "3" {
		t.Fatalf("range: %d %q %v", r.status, r.body, r.header)
	}
	for _, rng := range []string{"bytes=0-1,3-4", "bytes=5-2", "items=0-1", "bytes=x-y"} {
		if r := f.do("GET", "/bkt/k", map[string]string{"Range": rng}, ""); r.status != 200 || r.body != "0123456789" {
			t.Fatalf("ignored range %s: %d %q", rng, r.status, r.body)
		}
	}
	if r := f.do("GET", "/bkt/k", map[string]string{"Range": "bytes=8-100"}, ""); r.status != 206 || r.body != "89" {
		t.Fatalf("range past end: %d %q", r.status, r.body)
	}
	f.expect(f.do("GET", "/bkt/k", map[string]string{"Range": "bytes=10-"}, ""), 416, "InvalidRange")
	f.expect(f.do("GET", "/bkt/empty", map[string]string{"Range": "bytes=0-"}, ""), 416, "InvalidRange")
	etag := f.do("HEAD", "/bkt/k", nil, "").header.Get("ETag")
	if r := f.do("GET", "/bkt/k", map[string]string{"If-None-Match": etag}, ""); r.status != 304 || r.body != "" {
		t.Fatalf("If-None-Match: %d", r.status)
	}
	if r := f.do("HEAD", "/bkt/k", map[string]string{"If-Match": `"other"`}, ""); r.status != 412 || r.body != "" {
		t.Fatalf("HEAD If-Match: %d", r.status)
	}
	f.expect(f.do("GET", "/bkt/k", map[string]string{"If-Unmodified-Since": time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)}, ""), 412, "PreconditionFailed")
	if r := f.do("GET", "/bkt/k", map[string]string{"If-Match": etag, "If-Unmodified-Since": time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)}, ""); r.status != 200 {
		t.Fatalf("If-Match wins over If-Unmodified-Since: %d", r.status)
	}
	if r := f.do("GET", "/bkt/k?response-content-type=text/csv", nil, ""); r.header.Get("Content-Type") != "text/csv" {
		t.Fatalf("response-content-type: %v", r.header)
	}
	if r := f.do("GET", "/bkt/k", nil, ""); r.header.Get("Content-Type") != "binary/octet-stream" {
		t.Fatalf("default content type: %v", r.header.Get("Content-Type"))
	}
	f.expect(f.do("GET", "/bkt/k?versionId=abc", nil, ""), 400, "InvalidArgument")
}

// TestUploadStreams checks that a 50 MB PutObject (plain and aws-chunked)
// is streamed to disk: the heap never grows by anything near its size.
func TestUploadStreams(t *testing.T) {
	f := newFixture(t, false)
	f.do("PUT", "/bkt", nil, "")
	const size = 50 << 20
	for _, chunked := range []bool{false, true} {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		stop := make(chan struct{})
		peak := make(chan uint64)
		go func() {
			var top uint64
			var m runtime.MemStats
			for {
				select {
				case <-stop:
					peak <- top
					return
				case <-time.After(2 * time.Millisecond):
					runtime.ReadMemStats(&m)
					top = max(top, m.HeapInuse)
				}
			}
		}()
		var body io.Reader = &randReader{r: rand.NewChaCha8([32]byte{5}), n: size}
		req, _ := http.NewRequest("PUT", f.srv.URL+"/bkt/big", body)
		req.ContentLength = size
		if chunked {
			pr, pw := io.Pipe()
			go func() {
				buf := make([]byte, 64<<10)
				for {
					n, err := body.Read(buf)
					if n > 0 {
						fmt.Fprintf(pw, "%x\r\n", n)
						pw.Write(buf[:n])
						pw.Write([]byte("\r\n"))
					}
					if err != nil {
						pw.Write([]byte("0\r\n\r\n"))
						pw.Close()
						return
					}
				}
			}()
			req, _ = http.NewRequest("PUT", f.srv.URL+"/bkt/big", pr)
			req.Header.Set("Content-Encoding", "aws-chunked")
			req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
			req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(size))
		}
		resp, err := f.srv.Client().Do(req)
		close(stop)
		top := <-peak
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("chunked=%v: status %d", chunked, resp.StatusCode)
		}
		if grew := int64(top) - int64(base.HeapInuse); grew > 16<<20 {
			t.Fatalf("chunked=%v: heap grew by %d MB during a %d MB upload", chunked, grew>>20, size>>20)
		}
	}
}
