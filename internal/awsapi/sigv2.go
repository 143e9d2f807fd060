package awsapi

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// S3 presigned URLs may still use Signature Version 2: boto3's
// generate_presigned_url and `aws s3 presign` of AWS CLI v1 make them by
// default. Only that form (AWSAccessKeyId, Expires, Signature in the query
// string) is accepted; V2 Authorization headers are not.

// isS3SubResource tells the query parameters that are part of a V2
// canonical resource.
func isS3SubResource(k string) bool {
	switch k {
	case "acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber",
		"policy", "requestPayment", "tagging", "torrent", "uploadId", "uploads", "versionId",
		"versioning", "versions", "website", "restore", "select", "select-type",
		"response-content-type", "response-content-language", "response-expires",
		"response-cache-control", "response-content-disposition", "response-content-encoding":
		return true
	}
	return false
}

func (cfg *authConfig) verifyV2Presigned(r *http.Request, keys KeyStore) (Caller, Scope, *authError) {
	q := r.URL.Query()
	id, sig, exp := q.Get("AWSAccessKeyId"), q.Get("Signature"), q.Get("Expires")
	if id == "" || sig == "" || exp == "" {
		return Caller{}, Scope{}, &authError{kind: authV2Incomplete, presigned: true, msg: "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"}
	}
	expires, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return Caller{}, Scope{}, malformed(true, "Invalid Expires parameter: "+exp)
	}
	key, lerr := keys.LookupAccessKey(r.Context(), id)
	if lerr != nil {
		if errors.Is(lerr, ErrUnknownAccessKey) {
			return Caller{}, Scope{}, &authError{kind: authUnknownKey, accessKey: id}
		}
		return Caller{}, Scope{}, &authError{kind: authInternal, cause: fmt.Errorf("look up access key %s: %w", id, lerr)}
	}
	sts := stringToSignV2(r, exp)
	m := hmac.New(sha1.New, []byte(key.SecretAccessKey))
	m.Write([]byte(sts))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return Caller{}, Scope{}, &authError{kind: authBadSignature, accessKey: id, stringToSign: sts, signature: sig}
	}
	now := cfg.now().UTC()
	expiry := time.Unix(expires, 0).UTC()
	if now.After(expiry) {
		return Caller{}, Scope{}, &authError{kind: authPresignExpired, presigned: true, expiry: expiry, now: now, expires: -1}
	}
	if token := q.Get("x-amz-security-token"); token != "" || key.SessionToken != "" {
		if !hmac.Equal([]byte(token), []byte(key.SessionToken)) {
			return Caller{}, Scope{}, &authError{kind: authBadToken}
		}
		if !key.Expires.IsZero() && now.After(key.Expires) {
			return Caller{}, Scope{}, &authError{kind: authExpiredToken}
		}
	}
	caller := key.Caller
	if caller.AccessKeyID == "" {
		caller.AccessKeyID = id
	}
	return caller, Scope{Service: "s3"}, nil
}

// stringToSignV2 is Signature Version 2's string to sign for a query-string
// authenticated S3 request.
func stringToSignV2(r *http.Request, expires string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(r.Header.Get("Content-MD5") + "\n")
	b.WriteString(r.Header.Get("Content-Type") + "\n")
	b.WriteString(expires + "\n")
	var amz []string
	for k := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			amz = append(amz, lk)
		}
	}
	sort.Strings(amz)
	for _, k := range amz {
		vals := r.Header.Values(k)
		for i := range vals {
			vals[i] = strings.TrimSpace(vals[i])
		}
		b.WriteString(k + ":" + strings.Join(vals, ",") + "\n")
	}
	b.WriteString(rawPath(r))
	var subs []string
	for _, part := range strings.Split(rawQuery(r), "&") {
		k, v, hasValue := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if !isS3SubResource(k) {
			continue
		}
		if hasValue {
			if dv, err := url.QueryUnescape(v); err == nil {
				v = dv
			}
			subs = append(subs, k+"="+v)
		} else {
			subs = append(subs, k)
		}
	}
	if len(subs) > 0 {
		sort.Strings(subs)
		b.WriteString("?" + strings.Join(subs, "&"))
	}
	return b.String()
}
