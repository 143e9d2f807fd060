package s3

import (
	"net"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxKeyLen is the longest key S3 accepts, in bytes of UTF-8.
const maxKeyLen = 1024

// parsePath splits a path-style request path, as sent on the wire (still
// percent-encoded), into bucket and key. "/" is the service, "/b" and "/b/"
// the bucket, "/b/k…" an object. Only the first literal "/" separates the
// bucket from the key, so an encoded "%2F" stays inside the bucket name
// (where it makes the name invalid) and "a%2Fb" and "a/b" are the same key.
// Keys are opaque: "..", "//" and trailing slashes are kept as they are.
func parsePath(escaped string) (bucket, key string, err error) {
	if !strings.HasPrefix(escaped, "/") {
		return "", "", errInvalidRequest("The request path must start with /")
	}
	rest := escaped[1:]
	rawBucket, rawKey, _ := strings.Cut(rest, "/")
	bucket, err = url.PathUnescape(rawBucket)
	if err != nil {
		return "", "", errInvalidRequest("The request path is not correctly percent-encoded")
	}
	if bucket == "" {
		if rawKey != "" {
			return "", "", errInvalidBucketName("")
		}
		return "", "", nil
	}
	if !validBucketName(bucket) {
		return "", "", errInvalidBucketName(bucket)
	}
	key, err = url.PathUnescape(rawKey)
	if err != nil {
		return "", "", errInvalidRequest("The request path is not correctly percent-encoded")
	}
	if err := checkKey(key); err != nil {
		return "", "", err
	}
	return bucket, key, nil
}

// checkKey refuses keys S3 refuses: over 1024 bytes, not UTF-8; and NUL
// bytes, which S3 takes but no file system or shell handles sanely.
func checkKey(key string) error {
	if len(key) > maxKeyLen {
		return errKeyTooLong(len(key))
	}
	if !utf8.ValidString(key) {
		return errInvalidArgument("Object key is not valid UTF-8", "key", "")
	}
	if strings.IndexByte(key, 0) >= 0 {
		return errInvalidArgument("Object key must not contain NUL characters", "key", "")
	}
	return nil
}

// validBucketName applies S3's rules for general purpose buckets: 3–63
// characters of lowercase letters, digits, dots and hyphens, starting and
// ending with a letter or digit, no "..", not an IPv4 address, and none of
// the prefixes and suffixes AWS reserves.
func validBucketName(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	if !alnum(b[0]) || !alnum(b[len(b)-1]) || strings.Contains(b, "..") {
		return false
	}
	if ip := net.ParseIP(b); ip != nil && ip.To4() != nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(b, p) {
			return false
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(b, s) {
			return false
		}
	}
	return true
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }
