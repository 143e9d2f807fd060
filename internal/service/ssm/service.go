// Package ssm serves the parameter calls of the AWS Systems Manager API
// (AmazonSSM.*, JSON 1.1): Parameter Store. SecureString values are sealed
// before they reach the store and opened only when a caller asks for them
// decrypted; values never appear in logs or in error messages.
package ssm

import (
	"encoding/base64"
	"log/slog"
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
	// User is recorded as LastModifiedUser; the account's root ARN when "".
	User string
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Service is the Parameter Store API.
type Service struct {
	db        *store.DB
	seal      *seal.Key
	names     model.Names
	log       *slog.Logger
	user      string
	now       func() time.Time
	arnPrefix string // arn:aws:ssm:<region>:<account>:parameter
}

// New returns the service.
func New(cfg Config) *Service {
	s := &Service{db: cfg.DB, seal: cfg.Sealer, names: cfg.Names, log: cfg.Log, user: cfg.User, now: cfg.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.user == "" {
		s.user = "arn:aws:iam::" + cfg.Names.Account + ":root"
	}
	s.arnPrefix = "arn:aws:ssm:" + cfg.Names.Region + ":" + cfg.Names.Account + ":parameter"
	return s
}

// TargetPrefix is the X-Amz-Target prefix of SSM.
const TargetPrefix = "AmazonSSM"

// API returns the JSON 1.1 service to mount on the router; validate checks
// requests against the SSM model and may be nil.
func (s *Service) API(validate func(op string, body []byte) *awsapi.Error) *awsapi.JSONService {
	api := &awsapi.JSONService{TargetPrefix: TargetPrefix, Validate: validate, Log: s.log}
	awsapi.Handle(api, "PutParameter", s.PutParameter)
	awsapi.Handle(api, "GetParameter", s.GetParameter)
	awsapi.Handle(api, "GetParameters", s.GetParameters)
	awsapi.Handle(api, "GetParametersByPath", s.GetParametersByPath)
	awsapi.Handle(api, "DeleteParameter", s.DeleteParameter)
	awsapi.Handle(api, "DeleteParameters", s.DeleteParameters)
	awsapi.Handle(api, "DescribeParameters", s.DescribeParameters)
	awsapi.Handle(api, "GetParameterHistory", s.GetParameterHistory)
	return api
}

func validation(format string, a ...any) *awsapi.Error {
	return awsapi.Errorf("ValidationException", format, a...)
}

func notFound(name string) *awsapi.Error {
	// AWS sends this without a message nowadays, which every SDK user
	// complains about; the older "Parameter X not found." names it.
	return awsapi.Errorf("ParameterNotFound", "Parameter %s not found.", name)
}

func versionNotFound(version, name string) *awsapi.Error {
	return awsapi.Errorf("ParameterVersionNotFound", "Systems Manager could not find version %s of %s. Verify the version and try again.", version, name)
}

// Paging tokens are opaque to clients: the key of the last item returned
// (or a version number), base64url encoded with a tag byte so that a token
// of one call is not taken for another's.

func encodeToken(tag byte, last string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{tag}, last...))
}

func decodeToken(tag byte, tok string) (string, *awsapi.Error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 2 || b[0] != tag {
		return "", awsapi.Errorf("InvalidNextToken", "The nextToken is not valid.")
	}
	return string(b[1:]), nil
}

// maxResults checks an optional MaxResults against 1..limit and returns it,
// or def when absent.
func maxResults(v *int, def, limit int) (int, *awsapi.Error) {
	if v == nil {
		return def, nil
	}
	if *v < 1 {
		return 0, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1", *v)
	}
	if *v > limit {
		return 0, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to %d", *v, limit)
	}
	return *v, nil
}
