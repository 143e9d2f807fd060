package awsapi

import (
	"context"
	"errors"
	"time"
)

// Caller is the principal that signed a request.
type Caller struct {
	AccessKeyID string
	AccountID   string
	// UserName is the IAM user name, or the session name of an assumed role.
	UserName string
	// ARN is the user's or assumed role session's ARN.
	ARN string
	// Admin callers may do anything; others are limited by their policies.
	Admin bool
}

// AccessKey is what a KeyStore knows about an access key id.
type AccessKey struct {
	SecretAccessKey string
	// SessionToken is set for temporary credentials: requests must then
	// carry it as X-Amz-Security-Token.
	SessionToken string
	// Expires, when not zero, is when temporary credentials stop working.
	Expires time.Time
	Caller  Caller
}

// ErrUnknownAccessKey is what a KeyStore returns for an access key id it
// does not know.
var ErrUnknownAccessKey = errors.New("unknown access key")

// KeyStore looks up access keys for SigV4 verification. It returns an error
// wrapping ErrUnknownAccessKey for keys it does not know; any other error
// makes the request fail with a 500.
type KeyStore interface {
	LookupAccessKey(ctx context.Context, accessKeyID string) (AccessKey, error)
}

// KeyStoreFunc adapts a function to KeyStore.
type KeyStoreFunc func(ctx context.Context, accessKeyID string) (AccessKey, error)

// LookupAccessKey calls f.
func (f KeyStoreFunc) LookupAccessKey(ctx context.Context, id string) (AccessKey, error) {
	return f(ctx, id)
}

type callerKey struct{}

// WithCaller returns ctx carrying the caller c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller that signed the request ctx belongs to.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Scope is the credential scope a request was signed for.
type Scope struct {
	Date    string // yyyymmdd
	Region  string
	Service string // signing name: "codebuild", "s3", "iam", ...
}

type scopeKey struct{}

// WithScope returns ctx carrying the signing scope s.
func WithScope(ctx context.Context, s Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// ScopeFrom returns the credential scope of the verified request ctx belongs to.
func ScopeFrom(ctx context.Context) (Scope, bool) {
	s, ok := ctx.Value(scopeKey{}).(Scope)
	return s, ok
}
