package s3

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in, bucket, key string
		ok              bool
	}{
		{"/", "", "", true},
		{"/bkt", "bkt", "", true},
		{"/bkt/", "bkt", "", true},
		{"/bkt/a/b", "bkt", "a/b", true},
		{"/bkt/a%2Fb", "bkt", "a/b", true},
		{"/bkt/a+b", "bkt", "a+b", true},
		{"/bkt/a%20b", "bkt", "a b", true},
		{"/bkt/%E2%82%AC", "bkt", "€", true},
		{"/bkt/a/../b", "bkt", "a/../b", true},
		{"/bkt//x", "bkt", "/x", true},
		{"/bkt/a%00", "", "", false},
		{"/bkt/%ff", "", "", false},
		{"/bkt/%", "", "", false},
		{"/bk%2Ft/x", "", "", false},
		{"//x", "", "", false},
		{"bkt", "", "", false},
		{"/BKT/x", "", "", false},
	} {
		b, k, err := parsePath(tc.in)
		if tc.ok != (err == nil) || b != tc.bucket || k != tc.key {
			t.Errorf("parsePath(%q) = %q, %q, %v", tc.in, b, k, err)
		}
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		h             string
		size          int64
		start, length int64
		ok, invalid   bool
	}{
		{"", 10, 0, 0, false, false},
		{"bytes=0-0", 10, 0, 1, true, false},
		{"bytes=2-", 10, 2, 8, true, false},
		{"bytes=-3", 10, 7, 3, true, false},
		{"bytes=-30", 10, 0, 10, true, false},
		{"bytes=5-100", 10, 5, 5, true, false},
		{"bytes=10-", 10, 0, 0, false, true},
		{"bytes=-0", 10, 0, 0, false, true},
		{"bytes=0-", 0, 0, 0, false, true},
		{"bytes=3-2", 10, 0, 0, false, false},
		{"bytes=1-2,4-5", 10, 0, 0, false, false},
		{"bytes=a-b", 10, 0, 0, false, false},
		{"bits=1-2", 10, 0, 0, false, false},
		{"bytes=99999999999999999999-", 10, 0, 0, false, false},
	} {
		r, ok, err := parseRange(tc.h, tc.size)
		if ok != tc.ok || (err != nil) != tc.invalid || (ok && (r.start != tc.start || r.length != tc.length)) {
			t.Errorf("parseRange(%q, %d) = %+v, %v, %v", tc.h, tc.size, r, ok, err)
		}
	}
}

func TestBucketNames(t *testing.T) {
	for name, want := range map[string]bool{
		"abc": true, "a-b.c": true, "123": true, strings.Repeat("x", 63): true,
		"ab": false, strings.Repeat("x", 64): false, "a_b": false, "aBc": false, "a..b": false,
		".ab": false, "ab-": false, "10.0.0.1": false, "xn--ab": false, "ab.mrap": false, "ab--x-s3": false,
	} {
		if validBucketName(name) != want {
			t.Errorf("validBucketName(%q) = %v", name, !want)
		}
	}
}

// escapeKey percent-encodes a key as SDKs do: every byte but unreserved
// characters and "/".
func escapeKey(k string) string {
	return strings.ReplaceAll(url.PathEscape(k), "%2F", "/")
}

func FuzzObjectPath(f *testing.F) {
	for _, s := range []string{"/", "/bkt", "/bkt/", "/bkt/a/b", "/bkt/a%2Fb", "/bkt/%E2%82%AC", "/bkt/a%00", "/bk%2Ft/x", "//x", "/bkt/%", "/a.b-c/../.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		bucket, key, err := parsePath(path)
		if err != nil {
			return
		}
		if bucket == "" {
			if key != "" {
				t.Fatalf("key %q without a bucket", key)
			}
			return
		}
		if !validBucketName(bucket) {
			t.Fatalf("invalid bucket %q accepted", bucket)
		}
		if len(key) > maxKeyLen || !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0 {
			t.Fatalf("bad key %q accepted", key)
		}
		// What a client would send for this bucket and key parses back
		// to them.
		b2, k2, err := parsePath("/" + bucket + "/" + escapeKey(key))
		if err != nil || b2 != bucket || k2 != key {
			t.Fatalf("re-encoded %q/%q parses to %q/%q, %v", bucket, key, b2, k2, err)
		}
		// And the path as net/http's server decodes it agrees.
		u, err := url.ParseRequestURI(path)
		if err == nil && !strings.Contains(path, "?") {
			b3, k3, err := parsePath(u.EscapedPath())
			if err != nil || b3 != bucket || k3 != key {
				t.Fatalf("EscapedPath of %q parses to %q/%q, %v", path, b3, k3, err)
			}
		}
	})
}
