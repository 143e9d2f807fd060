// Package iam serves the IAM API (Query protocol, version 2010-05-08) that
// Hangar's bootstrap and AWS tooling use against a runner: roles with trust
// policies, inline and managed policies (a built-in catalogue of AWS
// managed policies plus customer managed ones), users and their access
// keys. Errors, messages, identifiers and quotas follow IAM.
//
// Policy documents are checked with internal/policy and stored as sent;
// responses carry them URL-encoded, as IAM does. Access key secrets are
// sealed before they reach the store.
//
// Besides the API, RolePolicies and UserPolicies give the runner every
// policy document that applies to a role or user, for policy evaluation.
package iam

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/seal"
	"github.com/hangarci/hangar/internal/store"
)

// Config configures the service.
type Config struct {
	DB     *store.DB
	Sealer *seal.Key // seals secrets before they reach the store
	Names  model.Names
	Log    *slog.Logger
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Service is the IAM API and the runner's view of IAM data.
type Service struct {
	db      *store.DB
	seal    *seal.Key
	names   model.Names
	log     *slog.Logger
	now     func() time.Time
	managed *catalogue
	// modeled tells which operations the embedded model validates;
	// patterns serve validate for the others.
	modeled  modelValidator
	patterns map[string]*regexp.Regexp
}

// IAM's default quotas.
const (
	maxAttached       = 10    // PoliciesPerRole, PoliciesPerUser
	maxRoleInline     = 10240 // aggregate inline policy size of a role
	maxUserInline     = 2048  // aggregate inline policy size of a user
	maxManagedSize    = 6144  // PolicySize
	maxTrustSize      = 2048  // ACLSizePerRole
	maxPolicyVersions = 5
	maxAccessKeys     = 2 // AccessKeysPerUser
	maxTags           = 50
	defaultMaxItems   = 100
	defaultSession    = 3600
)

// New returns the service; it fails only if the embedded catalogue of AWS
// managed policies is broken.
func New(cfg Config) (*Service, error) {
	cat, err := loadCatalogue()
	if err != nil {
		return nil, err
	}
	v, err := awsapi.NewValidator("iam")
	if err != nil {
		return nil, fmt.Errorf("load the iam model: %w", err)
	}
	s := &Service{db: cfg.DB, seal: cfg.Sealer, names: cfg.Names, log: cfg.Log, now: cfg.Now, managed: cat,
		modeled: v, patterns: compilePatterns()}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// API returns the Query service to mount on the router, with request
// validation against the IAM model.
func (s *Service) API() (*awsapi.QueryService, error) {
	api, err := awsapi.NewQueryService("iam", s.log)
	if err != nil {
		return nil, fmt.Errorf("iam api: %w", err)
	}
	// Roles.
	awsapi.HandleQuery(api, "CreateRole", s.CreateRole)
	awsapi.HandleQuery(api, "GetRole", s.GetRole)
	awsapi.HandleQuery(api, "ListRoles", s.ListRoles)
	awsapi.HandleQuery(api, "DeleteRole", s.DeleteRole)
	awsapi.HandleQuery(api, "UpdateRole", s.UpdateRole)
	awsapi.HandleQuery(api, "UpdateRoleDescription", s.UpdateRoleDescription)
	awsapi.HandleQuery(api, "UpdateAssumeRolePolicy", s.UpdateAssumeRolePolicy)
	awsapi.HandleQuery(api, "TagRole", s.TagRole)
	awsapi.HandleQuery(api, "UntagRole", s.UntagRole)
	awsapi.HandleQuery(api, "ListRoleTags", s.ListRoleTags)
	// Inline policies.
	awsapi.HandleQuery(api, "PutRolePolicy", s.PutRolePolicy)
	awsapi.HandleQuery(api, "GetRolePolicy", s.GetRolePolicy)
	awsapi.HandleQuery(api, "DeleteRolePolicy", s.DeleteRolePolicy)
	awsapi.HandleQuery(api, "ListRolePolicies", s.ListRolePolicies)
	awsapi.HandleQuery(api, "PutUserPolicy", s.PutUserPolicy)
	awsapi.HandleQuery(api, "GetUserPolicy", s.GetUserPolicy)
	awsapi.HandleQuery(api, "DeleteUserPolicy", s.DeleteUserPolicy)
	awsapi.HandleQuery(api, "ListUserPolicies", s.ListUserPolicies)
	// Managed policies.
	awsapi.HandleQuery(api, "AttachRolePolicy", s.AttachRolePolicy)
	awsapi.HandleQuery(api, "DetachRolePolicy", s.DetachRolePolicy)
	awsapi.HandleQuery(api, "ListAttachedRolePolicies", s.ListAttachedRolePolicies)
	awsapi.HandleQuery(api, "AttachUserPolicy", s.AttachUserPolicy)
	awsapi.HandleQuery(api, "DetachUserPolicy", s.DetachUserPolicy)
	awsapi.HandleQuery(api, "ListAttachedUserPolicies", s.ListAttachedUserPolicies)
	awsapi.HandleQuery(api, "CreatePolicy", s.CreatePolicy)
	awsapi.HandleQuery(api, "GetPolicy", s.GetPolicy)
	awsapi.HandleQuery(api, "DeletePolicy", s.DeletePolicy)
	awsapi.HandleQuery(api, "ListPolicies", s.ListPolicies)
	awsapi.HandleQuery(api, "CreatePolicyVersion", s.CreatePolicyVersion)
	awsapi.HandleQuery(api, "GetPolicyVersion", s.GetPolicyVersion)
	awsapi.HandleQuery(api, "ListPolicyVersions", s.ListPolicyVersions)
	awsapi.HandleQuery(api, "DeletePolicyVersion", s.DeletePolicyVersion)
	awsapi.HandleQuery(api, "SetDefaultPolicyVersion", s.SetDefaultPolicyVersion)
	// Users and access keys.
	awsapi.HandleQuery(api, "CreateUser", s.CreateUser)
	awsapi.HandleQuery(api, "GetUser", s.GetUser)
	awsapi.HandleQuery(api, "ListUsers", s.ListUsers)
	awsapi.HandleQuery(api, "DeleteUser", s.DeleteUser)
	awsapi.HandleQuery(api, "CreateAccessKey", s.CreateAccessKey)
	awsapi.HandleQuery(api, "ListAccessKeys", s.ListAccessKeys)
	awsapi.HandleQuery(api, "DeleteAccessKey", s.DeleteAccessKey)
	awsapi.HandleQuery(api, "UpdateAccessKey", s.UpdateAccessKey)
	return api, nil
}

// ---- errors, as IAM sends them ----

func withStatus(status int, code, format string, a ...any) *awsapi.Error {
	return awsapi.Errorf(code, format, a...).WithStatus(status)
}

func noSuchEntity(format string, a ...any) *awsapi.Error {
	return withStatus(http.StatusNotFound, "NoSuchEntity", format, a...)
}

func entityExists(format string, a ...any) *awsapi.Error {
	return withStatus(http.StatusConflict, "EntityAlreadyExists", format, a...)
}

func deleteConflict(format string, a ...any) *awsapi.Error {
	return withStatus(http.StatusConflict, "DeleteConflict", format, a...)
}

func limitExceeded(format string, a ...any) *awsapi.Error {
	return withStatus(http.StatusConflict, "LimitExceeded", format, a...)
}

func invalidInput(format string, a ...any) *awsapi.Error {
	return awsapi.Errorf("InvalidInput", format, a...)
}

func validationError(format string, a ...any) *awsapi.Error {
	return awsapi.Errorf("ValidationError", format, a...)
}

func malformed(msg string) *awsapi.Error {
	return awsapi.Errorf("MalformedPolicyDocument", "%s", msg)
}

func noSuchRole(name string) *awsapi.Error {
	return noSuchEntity("The role with name %s cannot be found.", name)
}

func noSuchUser(name string) *awsapi.Error {
	return noSuchEntity("The user with name %s cannot be found.", name)
}

// deleteConflictFor turns the store's "still has" errors into IAM's
// DeleteConflict messages.
func deleteConflictFor(err error) (*awsapi.Error, bool) {
	switch {
	case errors.Is(err, store.ErrHasAttachedPolicies):
		return deleteConflict("Cannot delete entity, must detach all policies first."), true
	case errors.Is(err, store.ErrHasInlinePolicies):
		return deleteConflict("Cannot delete entity, must delete policies first."), true
	case errors.Is(err, store.ErrHasAccessKeys):
		return deleteConflict("Cannot delete entity, must delete access keys first."), true
	}
	return nil, false
}

// ---- identifiers ----

// idAlphabet is what IAM's unique ids and access key ids are made of.
const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// newID returns prefix (AROA, AIDA, ANPA, AKIA, ASIA…) and n random
// characters of IAM's id alphabet.
func newID(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return prefix + string(b)
}

// NewSecret returns a 40-character secret access key shaped like AWS's.
func NewSecret() string {
	b := make([]byte, 30)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// ---- wire helpers ----

// isoTime is a timestamp as IAM writes it in XML: ISO 8601, UTC, seconds.
type isoTime time.Time

func (t isoTime) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format("2006-01-02T15:04:05Z")), nil
}

// members is a list that always appears, empty or not, as
// <Name><member>…</member></Name>: required lists must be there for boto3.
type members[T any] struct {
	Member []T `xml:"member"`
}

func list[T any](items []T) members[T] { return members[T]{Member: items} }

// tagList is an optional Tags element: left out when there are none
// (encoding/xml writes an empty parent for a nil "Tags>member" slice).
func tagList(tags []model.IAMTag) *members[model.IAMTag] {
	if len(tags) == 0 {
		return nil
	}
	return &members[model.IAMTag]{Member: tags}
}

// encodeDocument URL-encodes a policy document the way IAM returns them:
// every byte but RFC 3986's unreserved characters percent-encoded.
func encodeDocument(doc string) string {
	var b strings.Builder
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// normPath returns a path parameter or "/" when it was not given.
func normPath(p *string) string {
	if p == nil || *p == "" {
		return "/"
	}
	return *p
}

// page returns one page of items after marker (an opaque token from an
// earlier page) and the marker of the next page, "" when it is the last.
func page[T any](items []T, key func(T) string, marker *string, maxItems *int32) ([]T, string, error) {
	start := 0
	if marker != nil && *marker != "" {
		last, err := base64.RawURLEncoding.DecodeString(*marker)
		if err != nil || len(last) == 0 {
			return nil, "", validationError("Invalid Marker.")
		}
		start = len(items)
		for i, it := range items {
			if key(it) == string(last) {
				start = i + 1
				break
			}
		}
	}
	n := defaultMaxItems
	if maxItems != nil {
		n = int(*maxItems)
	}
	end := min(start+n, len(items))
	if end < len(items) {
		return items[start:end], base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1]))), nil
	}
	return items[start:end], "", nil
}

// checkTags refuses duplicate keys, which IAM compares without regard to
// case.
func checkTags(tags []model.IAMTag) error {
	seen := map[string]bool{}
	for _, t := range tags {
		k := strings.ToLower(t.Key)
		if seen[k] {
			return invalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
	}
	return nil
}

// stamp returns the current time as IAM keeps it: UTC, whole seconds.
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Second) }

// callerFrom returns the signing principal, if requests are authenticated.
func callerFrom(ctx context.Context) (awsapi.Caller, bool) {
	return awsapi.CallerFrom(ctx)
}
