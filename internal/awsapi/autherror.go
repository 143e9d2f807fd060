package awsapi

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

type authKind int

const (
	authMissing authKind = iota
	authMalformed
	authV2Incomplete
	authUnsupported
	authBothMechanisms
	authScopeDate
	authUnknownKey
	authBadSignature
	authSkewed
	authPresignExpired
	authNotYetValid
	authBadToken
	authExpiredToken
	authMissingContentSHA
	authBadContentSHA
	authHeadersNotSigned
	authBodyTooLarge
	authBodyRead
	authInternal
)

// authError is a refused request before it is given the names and shape of
// its protocol (forProtocol).
type authError struct {
	kind      authKind
	msg       string
	presigned bool
	accessKey string
	cause     error

	canonical, stringToSign, signature string // authBadSignature
	requestTime                        string // authSkewed
	now, expiry                        time.Time
	expires                            int64
	limit                              int64
}

func malformed(presigned bool, msg string) *authError {
	return &authError{kind: authMalformed, msg: msg, presigned: presigned}
}

const (
	msgInvalidToken  = "The security token included in the request is invalid."
	msgExpiredToken  = "The security token included in the request is expired"
	msgSigMismatch   = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgS3SigMismatch = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	msgBadContentSHA = "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid sha256 value."
	msgBothAuth      = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
)

func status(code string, s int, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...), Status: s}
}

// forProtocol names the failure the way the protocol's services do. JSON
// services (Coral) answer 400 with *Exception names; the Query services
// (IAM, STS) 403 with short names; S3 has its own set, with details in
// extra XML elements.
func (a *authError) forProtocol(p Protocol) *Error {
	switch p {
	case ProtocolS3:
		return a.s3()
	case ProtocolQuery:
		return a.query()
	default:
		return a.json()
	}
}

func (a *authError) json() *Error {
	const bad = http.StatusBadRequest
	switch a.kind {
	case authMissing:
		return status("MissingAuthenticationTokenException", bad, "Missing Authentication Token")
	case authMalformed, authScopeDate, authV2Incomplete:
		return status("IncompleteSignatureException", bad, "%s", a.msg)
	case authUnsupported:
		return status("IncompleteSignatureException", bad, "Unsupported signing method: requests must be signed with AWS Signature Version 4 (AWS4-HMAC-SHA256).")
	case authBothMechanisms:
		return status("IncompleteSignatureException", bad, msgBothAuth)
	case authUnknownKey, authBadToken:
		return status("UnrecognizedClientException", bad, msgInvalidToken)
	case authBadSignature:
		return status("InvalidSignatureException", bad, "%s", a.sigMismatchDetail())
	case authSkewed, authPresignExpired, authNotYetValid:
		return status("InvalidSignatureException", bad, "%s", a.msg)
	case authExpiredToken:
		return status("ExpiredTokenException", bad, msgExpiredToken)
	case authBadContentSHA, authMissingContentSHA:
		return status("IncompleteSignatureException", bad, msgBadContentSHA)
	case authBodyTooLarge:
		return status("SerializationException", http.StatusRequestEntityTooLarge, "Request body is larger than %d bytes", a.limit)
	case authBodyRead:
		return status("SerializationException", bad, "Cannot read the request body")
	default:
		return internalFailure()
	}
}

func (a *authError) query() *Error {
	const bad, forbidden = http.StatusBadRequest, http.StatusForbidden
	switch a.kind {
	case authMissing:
		return status("MissingAuthenticationToken", forbidden, "Request is missing Authentication Token")
	case authMalformed, authScopeDate, authV2Incomplete:
		return status("IncompleteSignature", bad, "%s", a.msg)
	case authUnsupported:
		return status("IncompleteSignature", bad, "Unsupported signing method: requests must be signed with AWS Signature Version 4 (AWS4-HMAC-SHA256).")
	case authBothMechanisms:
		return status("IncompleteSignature", bad, msgBothAuth)
	case authUnknownKey, authBadToken:
		return status("InvalidClientTokenId", forbidden, msgInvalidToken)
	case authBadSignature:
		return status("SignatureDoesNotMatch", forbidden, "%s", a.sigMismatchDetail())
	case authSkewed, authPresignExpired, authNotYetValid:
		return status("SignatureDoesNotMatch", forbidden, "%s", a.msg)
	case authExpiredToken:
		return status("ExpiredToken", forbidden, msgExpiredToken)
	case authBadContentSHA, authMissingContentSHA:
		return status("IncompleteSignature", bad, msgBadContentSHA)
	case authBodyTooLarge:
		return status("RequestEntityTooLarge", http.StatusRequestEntityTooLarge, "Request body is larger than %d bytes", a.limit)
	case authBodyRead:
		return status("MalformedInput", bad, "Cannot read the request body")
	default:
		return internalFailure()
	}
}

func (a *authError) s3() *Error {
	const bad, forbidden = http.StatusBadRequest, http.StatusForbidden
	switch a.kind {
	case authMissing:
		return status("AccessDenied", forbidden, "Access Denied")
	case authMalformed:
		if a.presigned {
			return status("AuthorizationQueryParametersError", bad, "%s", a.msg)
		}
		return status("AuthorizationHeaderMalformed", bad, "The authorization header is malformed; %s", a.msg)
	case authV2Incomplete:
		// S3's answer to a Signature Version 2 query string that lacks
		// one of its three parameters is a 403, unlike version 4's.
		return status("AccessDenied", forbidden, "%s", a.msg)
	case authScopeDate:
		if a.presigned {
			return status("AuthorizationQueryParametersError", bad, "Invalid credential date. Date is not the same as X-Amz-Date.")
		}
		return status("AuthorizationHeaderMalformed", bad, "The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.")
	case authUnsupported:
		return status("InvalidRequest", bad, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
	case authBothMechanisms:
		return status("InvalidArgument", bad, msgBothAuth)
	case authUnknownKey:
		return status("InvalidAccessKeyId", forbidden, "The AWS Access Key Id you provided does not exist in our records.").
			WithField("AWSAccessKeyId", a.accessKey)
	case authBadSignature:
		e := status("SignatureDoesNotMatch", forbidden, msgS3SigMismatch).
			WithField("AWSAccessKeyId", a.accessKey).
			WithField("StringToSign", a.stringToSign).
			WithField("SignatureProvided", a.signature)
		if a.canonical != "" { // Signature Version 2 has none
			e = e.WithField("CanonicalRequest", a.canonical)
		}
		return e
	case authSkewed:
		return status("RequestTimeTooSkewed", forbidden, "The difference between the request time and the current time is too large.").
			WithField("RequestTime", a.requestTime).
			WithField("ServerTime", a.now.Format(time.RFC3339)).
			WithField("MaxAllowedSkewMilliseconds", strconv.FormatInt(maxSkew.Milliseconds(), 10))
	case authPresignExpired:
		e := status("AccessDenied", forbidden, "Request has expired")
		if a.expires >= 0 { // Signature Version 2 URLs have only Expires
			e = e.WithField("X-Amz-Expires", strconv.FormatInt(a.expires, 10))
		}
		return e.WithField("Expires", a.expiry.Format(time.RFC3339)).
			WithField("ServerTime", a.now.Format(time.RFC3339))
	case authNotYetValid:
		return status("AccessDenied", forbidden, "Request is not valid yet")
	case authBadToken:
		return status("InvalidToken", bad, "The provided token is malformed or otherwise invalid.")
	case authExpiredToken:
		return status("ExpiredToken", bad, "The provided token has expired.")
	case authMissingContentSHA:
		return status("InvalidRequest", bad, "Missing required header for this request: x-amz-content-sha256")
	case authBadContentSHA:
		return status("InvalidArgument", bad, msgBadContentSHA)
	case authHeadersNotSigned:
		return status("AccessDenied", forbidden, "There were headers present in the request which were not signed").
			WithField("HeadersNotSigned", a.msg)
	case authBodyTooLarge:
		return status("EntityTooLarge", bad, "Your proposed upload exceeds the maximum allowed size").
			WithField("MaxSizeAllowed", strconv.FormatInt(a.limit, 10))
	case authBodyRead:
		return status("IncompleteBody", bad, "The request body could not be read.")
	default:
		return &Error{Code: "InternalError", Message: "We encountered an internal error. Please try again.", Status: http.StatusInternalServerError}
	}
}

// sigMismatchDetail is the JSON and Query services' message, which (like
// AWS's) shows the canonical request and string to sign the server
// computed, so a client author can find the difference.
func (a *authError) sigMismatchDetail() string {
	return msgSigMismatch + "\n\nThe Canonical String for this request should have been\n'" + a.canonical +
		"'\n\nThe String-to-Sign should have been\n'" + a.stringToSign + "'\n"
}

func internalFailure() *Error {
	return &Error{Code: "InternalFailure", Message: "The request processing has failed because of an unknown error, exception or failure.", Status: http.StatusInternalServerError}
}
