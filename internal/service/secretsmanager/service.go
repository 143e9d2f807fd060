// Package secretsmanager serves the AWS Secrets Manager API
// (secretsmanager.*, JSON 1.1). Secret values are sealed before they reach
// the store and opened only for GetSecretValue and build resolution; they
// never appear in logs or error messages.
package secretsmanager

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
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

// Service is the Secrets Manager API.
type Service struct {
	db        *store.DB
	seal      *seal.Key
	names     model.Names
	log       *slog.Logger
	now       func() time.Time
	arnPrefix string // arn:aws:secretsmanager:<region>:<account>:secret:
}

// New returns the service.
func New(cfg Config) *Service {
	s := &Service{db: cfg.DB, seal: cfg.Sealer, names: cfg.Names, log: cfg.Log, now: cfg.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.arnPrefix = "arn:aws:secretsmanager:" + cfg.Names.Region + ":" + cfg.Names.Account + ":secret:"
	return s
}

// TargetPrefix is the X-Amz-Target prefix of Secrets Manager.
const TargetPrefix = "secretsmanager"

// API returns the JSON 1.1 service to mount on the router; validate checks
// requests against the Secrets Manager model and may be nil.
func (s *Service) API(validate func(op string, body []byte) *awsapi.Error) *awsapi.JSONService {
	api := &awsapi.JSONService{TargetPrefix: TargetPrefix, Validate: validate, Log: s.log}
	awsapi.Handle(api, "CreateSecret", s.CreateSecret)
	awsapi.Handle(api, "PutSecretValue", s.PutSecretValue)
	awsapi.Handle(api, "GetSecretValue", s.GetSecretValue)
	awsapi.Handle(api, "DescribeSecret", s.DescribeSecret)
	awsapi.Handle(api, "UpdateSecret", s.UpdateSecret)
	awsapi.Handle(api, "ListSecrets", s.ListSecrets)
	awsapi.Handle(api, "DeleteSecret", s.DeleteSecret)
	awsapi.Handle(api, "RestoreSecret", s.RestoreSecret)
	return api
}

// Messages AWS sends. Sources: the brief and SDK issues
// (external-secrets/kubernetes-external-secrets#114 for "marked for
// deletion", udondan/cdk-ec2-key-pair#2 for "scheduled for deletion",
// aws/aws-sdk-js-v3#4640 for the missing token, aws/aws-sdk-java#1556 for
// both values, smithy-lang/smithy-typescript#1546 for names, getmoto/moto
// #9700 for an existing name); the rest follow moto, which checks its
// Secrets Manager messages against AWS.
const (
	msgNotFound       = "Secrets Manager can't find the specified secret."
	msgMarkedDeleted  = "You can't perform this operation on the secret because it was marked for deletion."
	msgAlreadyDeleted = "You tried to perform the operation on a secret that's currently marked deleted."
	msgCreateDeleted  = "You can't create this secret because a secret with this name is already scheduled for deletion."
	msgNeedToken      = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
	msgBothValues     = "You can't specify both a binary secret value and a string secret value in the same secret."
	msgNoValue        = "You must provide either SecretString or SecretBinary."
	msgBadName        = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
)

func errNotFound() *awsapi.Error { return awsapi.Errorf("ResourceNotFoundException", msgNotFound) }

func errMarkedDeleted() *awsapi.Error {
	return awsapi.Errorf("InvalidRequestException", msgMarkedDeleted)
}

func validation(format string, a ...any) *awsapi.Error {
	return awsapi.Errorf("ValidationException", format, a...)
}

// nameRE is what CreateSecret accepts as a name.
// Length is checked apart from the pattern: a bounded repetition compiles
// into a program big enough to slow every start of the binary.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]+$`)

// key turns a SecretId (a name, a full ARN or a partial ARN without the
// random suffix) into a store lookup. An ARN of another region or account
// finds nothing.
func (s *Service) key(id string) store.SecretKey {
	if !strings.HasPrefix(id, "arn:") {
		return store.SecretKey{Name: id}
	}
	name, ok := strings.CutPrefix(id, s.arnPrefix)
	if !ok {
		return store.SecretKey{ARN: id}
	}
	return store.SecretKey{ARN: id, Name: name}
}

// suffixChars are what the random ARN suffix is made of.
const suffixChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b) // never fails on supported platforms
	for i := range b {
		b[i] = suffixChars[int(b[i])%len(suffixChars)]
	}
	return string(b)
}

// Paging tokens are opaque to clients: the sort key and name of the last
// secret returned, base64url encoded.
func encodeToken(sortKey, name string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(sortKey + "\x00" + name))
}

func decodeToken(tok string) (sortKey, name string, e *awsapi.Error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", "", awsapi.Errorf("InvalidNextTokenException", "The NextToken value is not valid.")
	}
	k, n, ok := strings.Cut(string(b), "\x00")
	if !ok {
		return "", "", awsapi.Errorf("InvalidNextTokenException", "The NextToken value is not valid.")
	}
	return k, n, nil
}

// clientErr returns err as it is when it is an *awsapi.Error, else wrapped
// with what was being done.
func clientErr(err error, format string, a ...any) error {
	if _, ok := awsapi.AsError(err); ok {
		return err
	}
	return fmt.Errorf(format+": %w", append(a, err)...)
}

// ErrNotFound is what Resolve returns (wrapped) when a secret, version or
// key does not exist.
var ErrNotFound = errors.New("not found")

func stamp(t time.Time) *model.Time { return model.NewTime(t).Ptr() }
