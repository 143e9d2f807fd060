package awsapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
	// maxSkew is how far a signature's time may be from ours, as AWS allows.
	maxSkew = 15 * time.Minute
	// maxPresignExpiry is the longest X-Amz-Expires AWS accepts: a week.
	maxPresignExpiry = 7 * 24 * 60 * 60
	// DefaultMaxSignedBody is the largest body Authenticate buffers to hash
	// when the client did not send x-amz-content-sha256 (every non-S3
	// request).
	DefaultMaxSignedBody = 16 << 20

	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	unsignedPayload          = "UNSIGNED-PAYLOAD"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
)

type authConfig struct {
	now     func() time.Time
	maxBody int64
	log     *slog.Logger
}

// AuthOption configures Authenticate.
type AuthOption func(*authConfig)

// WithClock makes Authenticate read the time from now (tests).
func WithClock(now func() time.Time) AuthOption { return func(c *authConfig) { c.now = now } }

// WithMaxSignedBody sets the largest body buffered for hashing
// (DefaultMaxSignedBody by default).
func WithMaxSignedBody(n int64) AuthOption { return func(c *authConfig) { c.maxBody = n } }

// WithAuthLogger sets the logger for refused requests and key store failures.
func WithAuthLogger(l *slog.Logger) AuthOption { return func(c *authConfig) { c.log = l } }

// Authenticate returns middleware that verifies AWS Signature Version 4 on
// every request, in the Authorization header or in a presigned query string,
// and puts the signer's Caller (CallerFrom) and Scope (ScopeFrom) in the
// request context. Refused requests get the error shape and names of their
// protocol (see DetectProtocol, or the Mux's routing). S3 presigned URLs in
// Signature Version 2 (AWSAccessKeyId, Expires, Signature), which boto3 and
// AWS CLI v1 make by default, are accepted too.
//
// The canonical request follows the rules of the signing service: S3
// signs the path as sent, other services escape it once more. The payload
// hash is x-amz-content-sha256 when sent (S3), else the SHA-256 of the body,
// which is then buffered (up to WithMaxSignedBody) and put back.
//
// For S3 bodies, which are not buffered:
//   - a hex x-amz-content-sha256 is checked while the body is read: at its
//     end, instead of io.EOF, Read fails with an *Error
//     XAmzContentSHA256Mismatch (see AsError) if the body is not what was
//     signed, so a body is trustworthy only once Read returned io.EOF;
//   - aws-chunked bodies (STREAMING-* payload hashes) are left as sent: the
//     S3 handler decodes them and checks the chunk and trailer signatures
//     of signed ones with the request's ChunkVerifier (ChunkVerifierFrom).
func Authenticate(keys KeyStore, opts ...AuthOption) func(http.Handler) http.Handler {
	cfg := authConfig{now: time.Now, maxBody: DefaultMaxSignedBody}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			caller, scope, chunks, aerr := cfg.verify(r, keys)
			if aerr != nil {
				e := aerr.forProtocol(requestRoute(r).protocol)
				if aerr.kind == authInternal {
					cfg.log.Error("verify request signature", "err", aerr.cause)
				} else {
					// The first line only: a signature mismatch's message
					// goes on with the canonical request, whose signed
					// headers may hold a session token.
					msg, _, _ := strings.Cut(e.Message, "\n")
					cfg.log.Debug("request refused", "code", e.Code, "message", msg)
				}
				WriteError(w, r, e)
				return
			}
			ctx := WithScope(WithCaller(r.Context(), caller), scope)
			if chunks != nil {
				ctx = context.WithValue(ctx, chunkVerifierKey{}, chunks)
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// sigRequest is the signature a request carries, parsed but not verified.
type sigRequest struct {
	presigned     bool
	accessKey     string
	scope         Scope
	signedHeaders []string
	signature     string
	amzDate       string // the time string signed, yyyymmddThhmmssZ
	time          time.Time
	expires       int64 // presigned only; -1 when not given
}

func (s *sigRequest) credentialScope() string {
	return s.scope.Date + "/" + s.scope.Region + "/" + s.scope.Service + "/aws4_request"
}

func (cfg *authConfig) verify(r *http.Request, keys KeyStore) (Caller, Scope, *ChunkVerifier, *authError) {
	q := r.URL.Query()
	authz := r.Header.Get("Authorization")
	presigned := q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential")
	var sr sigRequest
	var err *authError
	switch {
	case authz != "" && (presigned || q.Has("Signature")):
		return Caller{}, Scope{}, nil, &authError{kind: authBothMechanisms}
	case authz != "":
		sr, err = parseAuthorization(authz)
		if err == nil {
			err = sr.headerTime(r)
		}
	case presigned:
		sr, err = parsePresigned(q)
	case q.Has("Signature") || q.Has("AWSAccessKeyId"):
		if requestRoute(r).protocol == ProtocolS3 {
			caller, scope, err := cfg.verifyV2Presigned(r, keys)
			return caller, scope, nil, err
		}
		return Caller{}, Scope{}, nil, &authError{kind: authUnsupported}
	default:
		return Caller{}, Scope{}, nil, &authError{kind: authMissing}
	}
	if err != nil {
		return Caller{}, Scope{}, nil, err
	}
	now := cfg.now().UTC()

	key, lerr := keys.LookupAccessKey(r.Context(), sr.accessKey)
	if lerr != nil {
		if errors.Is(lerr, ErrUnknownAccessKey) {
			return Caller{}, Scope{}, nil, &authError{kind: authUnknownKey, accessKey: sr.accessKey}
		}
		return Caller{}, Scope{}, nil, &authError{kind: authInternal, cause: fmt.Errorf("look up access key %s: %w", sr.accessKey, lerr)}
	}

	if e := sr.checkTime(now); e != nil {
		return Caller{}, Scope{}, nil, e
	}

	s3 := sr.scope.Service == "s3"
	payloadHash, e := cfg.payloadHash(r, &sr, s3)
	if e != nil {
		return Caller{}, Scope{}, nil, e
	}

	canonical := canonicalRequest(r, &sr, payloadHash, s3, false)
	sts := stringToSign(sr.amzDate, sr.credentialScope(), canonical)
	signingKey := deriveSigningKey(key.SecretAccessKey, sr.scope)
	if !sr.signs(signingKey, sts) {
		// botocore folds every run of white space in a header value into
		// one space, the Go SDK only runs of spaces: with a tab inside a
		// signed value, the request may be signed either way.
		alt := canonicalRequest(r, &sr, payloadHash, s3, true)
		if alt == canonical || !sr.signs(signingKey, stringToSign(sr.amzDate, sr.credentialScope(), alt)) {
			return Caller{}, Scope{}, nil, &authError{kind: authBadSignature, accessKey: sr.accessKey,
				canonical: canonical, stringToSign: sts, signature: sr.signature}
		}
	}

	// The session token is checked after the signature so that a wrong
	// token on a well-signed request says "invalid token", as AWS does.
	token := r.Header.Get("X-Amz-Security-Token")
	if sr.presigned {
		token = q.Get("X-Amz-Security-Token")
	}
	if token != "" || key.SessionToken != "" {
		if !hmac.Equal([]byte(token), []byte(key.SessionToken)) {
			return Caller{}, Scope{}, nil, &authError{kind: authBadToken}
		}
		if !key.Expires.IsZero() && now.After(key.Expires) {
			return Caller{}, Scope{}, nil, &authError{kind: authExpiredToken}
		}
	}
	var chunks *ChunkVerifier
	if s3 {
		if e := checkS3SignedHeaders(r, &sr); e != nil {
			return Caller{}, Scope{}, nil, e
		}
		chunks = wrapS3Body(r, &sr, payloadHash, signingKey)
	}

	caller := key.Caller
	if caller.AccessKeyID == "" {
		caller.AccessKeyID = sr.accessKey
	}
	return caller, sr.scope, chunks, nil
}

// signs reports, in constant time, whether the request's signature is
// that of the string to sign sts.
func (sr *sigRequest) signs(signingKey []byte, sts string) bool {
	want := hex.EncodeToString(hmacSHA256(signingKey, []byte(sts)))
	return hmac.Equal([]byte(want), []byte(strings.ToLower(sr.signature)))
}

// parseAuthorization parses
//
//	AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex
func parseAuthorization(h string) (sigRequest, *authError) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != sigAlgorithm {
		return sigRequest{}, &authError{kind: authUnsupported}
	}
	var sr sigRequest
	var cred, signed string
	var haveCred, haveSigned, haveSig bool
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			if strings.TrimSpace(part) == "" {
				continue
			}
			return sigRequest{}, malformed(false, fmt.Sprintf("Authorization header requires each component to be of the form key=value: %q", strings.TrimSpace(part)))
		}
		switch k {
		case "Credential":
			cred, haveCred = v, true
		case "SignedHeaders":
			signed, haveSigned = v, true
		case "Signature":
			sr.signature, haveSig = v, true
		}
	}
	var missing []string
	if !haveCred {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if !haveSigned {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if !haveSig {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if len(missing) > 0 {
		return sigRequest{}, malformed(false, strings.Join(missing, " "))
	}
	if err := sr.setCredential(cred, false); err != nil {
		return sigRequest{}, err
	}
	if err := sr.setSignedHeaders(signed, false); err != nil {
		return sigRequest{}, err
	}
	if !isHex64(sr.signature) {
		return sigRequest{}, malformed(false, "Signature must be 64 hexadecimal characters.")
	}
	sr.expires = -1
	return sr, nil
}

// headerTime reads the signing time of a header-signed request from
// X-Amz-Date, else Date.
func (sr *sigRequest) headerTime(r *http.Request) *authError {
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, err := time.Parse(amzDateFmt, v)
		if err != nil {
			return malformed(false, fmt.Sprintf("X-Amz-Date %q is not in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z'.", v))
		}
		sr.time, sr.amzDate = t, v
	} else if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return malformed(false, fmt.Sprintf("Date header %q is not a valid HTTP date.", v))
		}
		sr.time, sr.amzDate = t.UTC(), t.UTC().Format(amzDateFmt)
	} else {
		return malformed(false, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	return sr.checkScopeDate()
}

func (sr *sigRequest) checkScopeDate() *authError {
	if sr.scope.Date != sr.amzDate[:8] {
		return &authError{kind: authScopeDate, msg: fmt.Sprintf(
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			sr.scope.Date, sr.amzDate[:8], sr.amzDate), presigned: sr.presigned}
	}
	return nil
}

// parsePresigned reads the X-Amz-* parameters of a presigned URL.
func parsePresigned(q url.Values) (sigRequest, *authError) {
	sr := sigRequest{presigned: true, expires: -1}
	if q.Get("X-Amz-Algorithm") != sigAlgorithm {
		if q.Get("X-Amz-Algorithm") == "" {
			return sigRequest{}, missingPresignParams()
		}
		return sigRequest{}, malformed(true, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
	}
	for _, k := range []string{"X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if q.Get(k) == "" {
			return sigRequest{}, missingPresignParams()
		}
	}
	if err := sr.setCredential(q.Get("X-Amz-Credential"), true); err != nil {
		return sigRequest{}, err
	}
	if err := sr.setSignedHeaders(q.Get("X-Amz-SignedHeaders"), true); err != nil {
		return sigRequest{}, err
	}
	sr.signature = q.Get("X-Amz-Signature")
	if !isHex64(sr.signature) {
		return sigRequest{}, malformed(true, "X-Amz-Signature must be 64 hexadecimal characters.")
	}
	d := q.Get("X-Amz-Date")
	t, err := time.Parse(amzDateFmt, d)
	if err != nil {
		return sigRequest{}, malformed(true, fmt.Sprintf("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", got %q", d))
	}
	sr.time, sr.amzDate = t, d
	if v := q.Get("X-Amz-Expires"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			return sigRequest{}, malformed(true, "X-Amz-Expires should be a number")
		case n < 0:
			return sigRequest{}, malformed(true, "X-Amz-Expires must be non-negative")
		case n > maxPresignExpiry:
			return sigRequest{}, malformed(true, "X-Amz-Expires must be less than a week (in seconds) that is 604800")
		}
		sr.expires = n
	} else if sr.scope.Service == "s3" {
		return sigRequest{}, missingPresignParams()
	}
	if e := sr.checkScopeDate(); e != nil {
		return sigRequest{}, e
	}
	return sr, nil
}

func missingPresignParams() *authError {
	return malformed(true, "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
}

// setCredential parses AKID/yyyymmdd/region/service/aws4_request.
func (sr *sigRequest) setCredential(cred string, presigned bool) *authError {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[0] == "" {
		return malformed(presigned, fmt.Sprintf("Credential should have the form <access key id>/<yyyymmdd>/<region>/<service>/aws4_request, got %q.", cred))
	}
	if _, err := time.Parse("20060102", parts[1]); err != nil {
		return malformed(presigned, fmt.Sprintf("Invalid credential date %q.", parts[1]))
	}
	if parts[2] == "" || parts[3] == "" {
		return malformed(presigned, "Credential should be scoped to a valid region and service.")
	}
	if parts[4] != "aws4_request" {
		return malformed(presigned, fmt.Sprintf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", parts[4]))
	}
	sr.accessKey = parts[0]
	sr.scope = Scope{Date: parts[1], Region: parts[2], Service: parts[3]}
	return nil
}

func (sr *sigRequest) setSignedHeaders(s string, presigned bool) *authError {
	if s == "" {
		return malformed(presigned, "SignedHeaders must not be empty.")
	}
	names := strings.Split(s, ";")
	host := false
	for _, n := range names {
		if n == "" || n != strings.ToLower(n) || strings.ContainsAny(n, " \t:") {
			return malformed(presigned, fmt.Sprintf("SignedHeaders %q must be lower-case header names separated by ';'.", s))
		}
		host = host || n == "host"
	}
	if !host {
		return malformed(presigned, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	sr.signedHeaders = names
	return nil
}

// isHex64 tells a hex SHA-256 digest or SigV4 signature.
func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// checkTime enforces the ±15 minute window of header signatures and the
// validity period of presigned URLs.
func (sr *sigRequest) checkTime(now time.Time) *authError {
	if sr.presigned {
		if sr.time.After(now.Add(maxSkew)) {
			return &authError{kind: authNotYetValid, msg: notYetCurrent(sr.amzDate, now), presigned: true}
		}
		exp := sr.expires
		if exp < 0 {
			exp = int64(maxSkew / time.Second)
		}
		expiry := sr.time.Add(time.Duration(exp) * time.Second)
		if now.After(expiry) {
			return &authError{kind: authPresignExpired, presigned: true, expires: exp, expiry: expiry, now: now,
				msg: fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %d sec.)",
					sr.amzDate, now.Add(-time.Duration(exp)*time.Second).Format(amzDateFmt), now.Format(amzDateFmt), exp)}
		}
		return nil
	}
	switch {
	case sr.time.Before(now.Add(-maxSkew)):
		return &authError{kind: authSkewed, requestTime: sr.amzDate, now: now, msg: fmt.Sprintf(
			"Signature expired: %s is now earlier than %s (%s - 15 min.)",
			sr.amzDate, now.Add(-maxSkew).Format(amzDateFmt), now.Format(amzDateFmt))}
	case sr.time.After(now.Add(maxSkew)):
		return &authError{kind: authSkewed, requestTime: sr.amzDate, now: now, msg: notYetCurrent(sr.amzDate, now)}
	}
	return nil
}

func notYetCurrent(amzDate string, now time.Time) string {
	return fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
		amzDate, now.Add(maxSkew).Format(amzDateFmt), now.Format(amzDateFmt))
}

// payloadHash returns the payload hash that goes into the canonical
// request, buffering and hashing the body when the client did not send one.
func (cfg *authConfig) payloadHash(r *http.Request, sr *sigRequest, s3 bool) (string, *authError) {
	h := r.Header.Get("X-Amz-Content-Sha256")
	if sr.presigned && h == "" {
		if s3 {
			// S3 presigned URLs never sign the payload.
			return unsignedPayload, nil
		}
		return cfg.bufferBody(r)
	}
	switch {
	case h == "":
		if s3 {
			return "", &authError{kind: authMissingContentSHA}
		}
		return cfg.bufferBody(r)
	case isHex64(h):
		if s3 {
			return strings.ToLower(h), nil // verified while read, see wrapS3Body
		}
		got, err := cfg.bufferBody(r)
		if err != nil {
			return "", err
		}
		return got, nil
	case s3 && (h == unsignedPayload || h == streamingUnsignedTrailer || h == streamingSigned || h == streamingSignedTrailer):
		return h, nil
	default:
		return "", &authError{kind: authBadContentSHA}
	}
}

// bufferBody reads the whole body (up to the configured limit), puts it
// back for the handler and returns its SHA-256.
func (cfg *authConfig) bufferBody(r *http.Request) (string, *authError) {
	if r.Body == nil || r.Body == http.NoBody {
		return emptySHA256, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, cfg.maxBody+1))
	r.Body.Close()
	if err != nil {
		return "", &authError{kind: authBodyRead, cause: fmt.Errorf("read request body: %w", err)}
	}
	if int64(len(b)) > cfg.maxBody {
		return "", &authError{kind: authBodyTooLarge, limit: cfg.maxBody}
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// canonicalRequest builds the SigV4 canonical request of r; spacesOnly
// collapses header values the Go SDK's way (see canonicalHeaderValue).
func canonicalRequest(r *http.Request, sr *sigRequest, payloadHash string, s3, spacesOnly bool) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r, s3))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(rawQuery(r), sr.presigned))
	b.WriteByte('\n')
	for _, name := range sr.signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name, spacesOnly))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(sr.signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// rawPath returns the request path exactly as the client sent it.
func rawPath(r *http.Request) string {
	if u := r.RequestURI; strings.HasPrefix(u, "/") {
		p, _, _ := strings.Cut(u, "?")
		return p
	}
	return r.URL.EscapedPath()
}

func rawQuery(r *http.Request) string {
	if u := r.RequestURI; strings.HasPrefix(u, "/") {
		_, q, _ := strings.Cut(u, "?")
		return q
	}
	return r.URL.RawQuery
}

// canonicalURI is the path as sent for S3, and the path as sent escaped
// once more for every other service (the SDKs double-encode there).
func canonicalURI(r *http.Request, s3 bool) string {
	p := rawPath(r)
	if p == "" {
		p = "/"
	}
	if s3 {
		return p
	}
	return uriEscape(p, false)
}

// uriEscape percent-encodes everything but RFC 3986 unreserved characters
// (and '/' unless encodeSlash), with upper-case hex, as SigV4 requires.
func uriEscape(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// canonicalQuery sorts the query parameters by their encoded name and
// value, each encoded the SigV4 way; presigned URLs leave X-Amz-Signature
// out.
func canonicalQuery(raw string, presigned bool) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var params []kv
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		params = append(params, kv{uriEscape(k, true), uriEscape(v, true)})
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// canonicalHeaderValue is a signed header's value: values joined by ',',
// each trimmed with inner runs of white space collapsed to one space, as
// botocore does; with spacesOnly, only runs of spaces are (the Go SDK).
func canonicalHeaderValue(r *http.Request, name string, spacesOnly bool) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{r.Host}
	case "content-length":
		vals = r.Header.Values("Content-Length")
		if len(vals) == 0 && r.ContentLength >= 0 {
			vals = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case "transfer-encoding":
		vals = r.TransferEncoding
	default:
		vals = r.Header.Values(name)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		if spacesOnly {
			out[i] = collapseRunsOfSpaces(v)
		} else {
			out[i] = collapseSpaces(v)
		}
	}
	return strings.Join(out, ",")
}

func collapseSpaces(s string) string {
	s = strings.TrimSpace(s)
	plain := true // only single ASCII spaces: nothing to fold
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x21 && c < 0x80 || c == ' ' && s[i+1] != ' '
	}
	if plain {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func collapseRunsOfSpaces(s string) string {
	s = strings.Trim(s, " ")
	for strings.Contains(s, "  ") {
		s = strings.ReplaceAll(s, "  ", " ")
	}
	return s
}

func stringToSign(amzDate, scope, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return sigAlgorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

func deriveSigningKey(secret string, s Scope) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(s.Date))
	k = hmacSHA256(k, []byte(s.Region))
	k = hmacSHA256(k, []byte(s.Service))
	return hmacSHA256(k, []byte("aws4_request"))
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// checkS3SignedHeaders refuses S3 requests that carry x-amz-* headers
// outside the signature: S3 would act on them although nobody signed them.
func checkS3SignedHeaders(r *http.Request, sr *sigRequest) *authError {
	signed := make(map[string]bool, len(sr.signedHeaders))
	for _, h := range sr.signedHeaders {
		signed[h] = true
	}
	var unsigned []string
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-") && !signed[lk] {
			if sr.presigned || lk != "x-amz-content-sha256" && lk != "x-amz-date" && lk != "x-amz-security-token" {
				unsigned = append(unsigned, lk)
			}
		}
	}
	if len(unsigned) == 0 {
		return nil
	}
	sort.Strings(unsigned)
	return &authError{kind: authHeadersNotSigned, msg: strings.Join(unsigned, ",")}
}
