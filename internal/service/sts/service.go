// Package sts serves the STS API (Query protocol, version 2011-06-15):
// GetCallerIdentity, and AssumeRole, which issues temporary credentials
// for a role when its trust policy lets the caller in (see decide for
// exactly what is checked). The credentials are stored, secret and token
// sealed, so that request verification can find them (LookupAccessKey);
// expired ones are purged.
//
// The runner assumes roles for builds with AssumeRoleForService, as
// CodeBuild does for a project's service role.
package sts

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
	"github.com/hangarci/hangar/internal/policy"
	"github.com/hangarci/hangar/internal/seal"
	"github.com/hangarci/hangar/internal/service/iam"
	"github.com/hangarci/hangar/internal/store"
)

// Config configures the service.
type Config struct {
	IAM    *iam.Service
	DB     *store.DB
	Sealer *seal.Key // seals secrets before they reach the store
	Names  model.Names
	Log    *slog.Logger
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Authorize, when set, tells whether a caller's own policies allow an
	// action on a resource. AssumeRole asks it ("sts:AssumeRole", the role
	// ARN) when a trust policy trusts the caller's account rather than
	// the caller. When nil, only admins get in that way.
	Authorize func(ctx context.Context, c awsapi.Caller, action, resource string) (bool, error)
	// KeepExpired is how long expired credentials are kept before they are
	// purged, so that their users are told ExpiredToken rather than
	// InvalidClientTokenId; an hour when zero.
	KeepExpired time.Duration
}

// Service is the STS API.
type Service struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// Limits of role sessions.
const (
	defaultDuration = time.Hour
	// chainedLimit caps sessions of a role assumed by a role session.
	chainedLimit = time.Hour
	// maxPackedPolicy is the size of a session policy IAM's packing
	// allows, as STS counts it.
	maxPackedPolicy = 2048
)

// New returns the service.
func New(cfg Config) *Service {
	s := &Service{cfg: cfg, log: cfg.Log, now: cfg.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cfg.KeepExpired <= 0 {
		s.cfg.KeepExpired = time.Hour
	}
	return s
}

// API returns the Query service to mount on the router, with request
// validation against the STS model.
func (s *Service) API() (*awsapi.QueryService, error) {
	api, err := awsapi.NewQueryService("sts", s.log)
	if err != nil {
		return nil, fmt.Errorf("sts api: %w", err)
	}
	awsapi.HandleQuery(api, "GetCallerIdentity", s.GetCallerIdentity)
	awsapi.HandleQuery(api, "AssumeRole", s.AssumeRole)
	return api, nil
}

// isoTime is a timestamp as STS writes it in XML.
type isoTime time.Time

func (t isoTime) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format("2006-01-02T15:04:05Z")), nil
}

// GetCallerIdentityOutput is the output of GetCallerIdentity.
type GetCallerIdentityOutput struct {
	UserId  string
	Account string
	Arn     string
}

// GetCallerIdentity tells who signed the request: an IAM user (its AIDA…
// id), the runner's own user, or a role session (RoleId:session). Without
// authentication in front (development) it answers the account root.
func (s *Service) GetCallerIdentity(ctx context.Context, _ *struct{}) (*GetCallerIdentityOutput, error) {
	c, ok := awsapi.CallerFrom(ctx)
	if !ok {
		return &GetCallerIdentityOutput{UserId: s.cfg.Names.Account, Account: s.cfg.Names.Account, Arn: s.cfg.Names.RootArn()}, nil
	}
	account := c.AccountID
	if account == "" {
		account = s.cfg.Names.Account
	}
	out := &GetCallerIdentityOutput{Account: account, Arn: c.ARN}
	a, _ := model.ParseIAMArn(c.ARN)
	if a.Type == "assumed-role" {
		id, err := s.roleID(ctx, c.AccessKeyID, a.Name)
		if err != nil {
			return nil, err
		}
		out.UserId = id + ":" + a.Session
		return out, nil
	}
	id, err := s.cfg.IAM.CallerUserID(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("get caller identity: %w", err)
	}
	out.UserId = id
	return out, nil
}

// roleID returns the RoleId of a session's role: from its credentials,
// else from the role.
func (s *Service) roleID(ctx context.Context, keyID, roleName string) (string, error) {
	if tc, err := s.cfg.DB.TempCredential(ctx, keyID); err == nil {
		return tc.RoleID, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	r, err := s.cfg.IAM.RoleByArn(ctx, roleName)
	if err != nil {
		return "", fmt.Errorf("role of session %s: %w", keyID, err)
	}
	return r.ID, nil
}

// AssumeRoleInput is the input of AssumeRole.
type AssumeRoleInput struct {
	RoleArn         string
	RoleSessionName string
	DurationSeconds *int
	Policy          *string
	PolicyArns      []struct {
		Arn string `query:"arn"`
	}
	Tags              []model.IAMTag
	TransitiveTagKeys []string
	ExternalId        *string
	SourceIdentity    *string
}

// Credentials is the Credentials shape of STS.
type Credentials struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      isoTime
}

// AssumedRoleUser is the AssumedRoleUser shape of STS.
type AssumedRoleUser struct {
	AssumedRoleId string
	Arn           string
}

// AssumeRoleOutput is the output of AssumeRole.
type AssumeRoleOutput struct {
	Credentials      Credentials
	AssumedRoleUser  AssumedRoleUser
	PackedPolicySize *int   `xml:",omitempty"`
	SourceIdentity   string `xml:",omitempty"`
}

// Session is a role session issued to the runner itself
// (AssumeRoleForService), in the clear: it goes to a build's credentials
// endpoint, never to the store unsealed.
type Session struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	RoleArn         string
	AssumedRoleArn  string
	AssumedRoleID   string
}

func accessDenied(callerArn, roleArn string) *awsapi.Error {
	return awsapi.Errorf("AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", callerArn, roleArn).
		WithStatus(http.StatusForbidden)
}

// AssumeRole issues temporary credentials for a role whose trust policy
// lets the caller in.
func (s *Service) AssumeRole(ctx context.Context, in *AssumeRoleInput) (*AssumeRoleOutput, error) {
	s.purge(ctx)
	c, ok := awsapi.CallerFrom(ctx)
	if !ok {
		// No authentication in front (development): the account root.
		c = awsapi.Caller{AccountID: s.cfg.Names.Account, ARN: s.cfg.Names.RootArn(), Admin: true}
	}
	if parts := strings.Split(in.RoleArn, ":"); len(parts) < 6 || parts[0] != "arn" {
		return nil, awsapi.Errorf("ValidationError", "Request ARN is invalid")
	}
	// IAM does not tell a missing role from a forbidden one.
	role, err := s.cfg.IAM.RoleByArn(ctx, in.RoleArn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, accessDenied(c.ARN, in.RoleArn)
	}
	if err != nil {
		return nil, fmt.Errorf("assume role %s: %w", in.RoleArn, err)
	}
	trust, err := s.cfg.IAM.TrustPolicy(ctx, role)
	if err != nil {
		return nil, fmt.Errorf("assume role %s: %w", in.RoleArn, err)
	}
	who, chained, err := s.assumerOf(ctx, c)
	if err != nil {
		return nil, err
	}
	switch decide(trust, who) {
	case denied:
		return nil, accessDenied(c.ARN, in.RoleArn)
	case viaAccount:
		ok := c.Admin
		if !ok && s.cfg.Authorize != nil {
			roleArn := s.cfg.Names.RoleArn(role.Path, role.Name)
			if ok, err = s.cfg.Authorize(ctx, c, assumeAction, roleArn); err != nil {
				return nil, fmt.Errorf("authorize %s to assume %s: %w", c.ARN, roleArn, err)
			}
		}
		if !ok {
			return nil, accessDenied(c.ARN, in.RoleArn)
		}
	}

	d := defaultDuration
	if in.DurationSeconds != nil {
		d = time.Duration(*in.DurationSeconds) * time.Second
		if d > time.Duration(role.MaxSession)*time.Second {
			return nil, awsapi.Errorf("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}
		if chained && d > chainedLimit {
			return nil, awsapi.Errorf("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
		}
	}
	var packed *int
	sessionPolicy := ""
	if in.Policy != nil {
		if _, err := policy.ParseKind([]byte(*in.Policy), policy.Session); err != nil {
			var pe *policy.Error
			if errors.As(err, &pe) {
				return nil, awsapi.Errorf("MalformedPolicyDocument", "%s", pe.Message)
			}
			return nil, fmt.Errorf("parse session policy: %w", err)
		}
		pct := policy.Size([]byte(*in.Policy)) * 100 / maxPackedPolicy
		if pct > 100 {
			return nil, awsapi.Errorf("PackedPolicyTooLarge", "Packed policy consumes %d%% of allotted space, please use smaller policy.", pct)
		}
		packed, sessionPolicy = &pct, *in.Policy
	}
	var arns []string
	for _, pa := range in.PolicyArns {
		if _, err := s.cfg.IAM.ManagedPolicy(ctx, pa.Arn); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, awsapi.Errorf("MalformedPolicyDocument", "Policy %s does not exist or is not attachable.", pa.Arn)
			}
			return nil, fmt.Errorf("session policy %s: %w", pa.Arn, err)
		}
		arns = append(arns, pa.Arn)
	}
	sess, err := s.issue(ctx, role, in.RoleSessionName, c.ARN, d, sessionPolicy, arns, in.Tags)
	if err != nil {
		return nil, err
	}
	out := &AssumeRoleOutput{
		Credentials: Credentials{AccessKeyId: sess.AccessKeyID, SecretAccessKey: sess.SecretAccessKey, SessionToken: sess.SessionToken,
			Expiration: isoTime(sess.Expiration)},
		AssumedRoleUser:  AssumedRoleUser{AssumedRoleId: sess.AssumedRoleID, Arn: sess.AssumedRoleArn},
		PackedPolicySize: packed,
	}
	if in.SourceIdentity != nil {
		out.SourceIdentity = *in.SourceIdentity
	}
	return out, nil
}

// assumerOf describes the caller for a trust policy, and tells whether it
// is a role session (role chaining).
func (s *Service) assumerOf(ctx context.Context, c awsapi.Caller) (assumer, bool, error) {
	who := assumer{arns: []string{c.ARN}, account: c.AccountID, admin: c.Admin}
	a, ok := model.ParseIAMArn(c.ARN)
	if !ok || a.Type != "assumed-role" {
		return who, false, nil
	}
	// A trust policy naming a role trusts that role's sessions.
	tc, err := s.cfg.DB.TempCredential(ctx, c.AccessKeyID)
	switch {
	case err == nil:
		who.arns = append(who.arns, tc.RoleArn)
	case errors.Is(err, store.ErrNotFound):
		if r, err := s.cfg.IAM.RoleByArn(ctx, a.Name); err == nil {
			who.arns = append(who.arns, s.cfg.Names.RoleArn(r.Path, r.Name))
		}
	default:
		return who, true, fmt.Errorf("look up session %s: %w", c.AccessKeyID, err)
	}
	return who, true, nil
}

// AssumeRoleForService issues credentials for a role on behalf of an AWS
// service (a build's project role, service "codebuild.amazonaws.com"),
// when the role's trust policy has an unconditional Allow for that
// service and no Deny for it. roleArn may be a bare role name; d is an
// hour when 0 and may not pass the role's MaxSessionDuration (longer
// builds refresh). The error is an *awsapi.Error: AccessDenied when the
// role cannot be assumed, ValidationError for a bad session name or
// duration.
func (s *Service) AssumeRoleForService(ctx context.Context, roleArn, service, sessionName string, d time.Duration) (*Session, error) {
	if n := len(sessionName); n < 2 || n > 64 || !sessionNameRE.MatchString(sessionName) {
		return nil, awsapi.Errorf("ValidationError", "1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", sessionName)
	}
	s.purge(ctx)
	role, err := s.cfg.IAM.RoleByArn(ctx, roleArn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, accessDenied(service, roleArn)
	}
	if err != nil {
		return nil, fmt.Errorf("assume role %s for %s: %w", roleArn, service, err)
	}
	trust, err := s.cfg.IAM.TrustPolicy(ctx, role)
	if err != nil {
		return nil, fmt.Errorf("assume role %s for %s: %w", roleArn, service, err)
	}
	if decide(trust, assumer{service: service}) != allowed {
		return nil, accessDenied(service, roleArn)
	}
	if d <= 0 {
		d = defaultDuration
	}
	if d < 15*time.Minute || d > time.Duration(role.MaxSession)*time.Second {
		return nil, awsapi.Errorf("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return s.issue(ctx, role, sessionName, service, d, "", nil, nil)
}

// issue makes, stores (sealed) and returns a role session.
func (s *Service) issue(ctx context.Context, role *store.IAMRole, sessionName, source string, d time.Duration,
	sessionPolicy string, policyArns []string, tags []model.IAMTag) (*Session, error) {
	now := s.now().UTC().Truncate(time.Second)
	roleArn := s.cfg.Names.RoleArn(role.Path, role.Name)
	sess := &Session{
		AccessKeyID:     newKeyID(),
		SecretAccessKey: iam.NewSecret(),
		SessionToken:    newToken(),
		Expiration:      now.Add(d),
		RoleArn:         roleArn,
		AssumedRoleArn:  s.cfg.Names.AssumedRoleArn(role.Name, sessionName),
		AssumedRoleID:   role.ID + ":" + sessionName,
	}
	err := s.cfg.DB.PutTempCredential(ctx, store.TempCredential{
		AccessKeyID: sess.AccessKeyID, Secret: s.cfg.Sealer.Seal([]byte(sess.SecretAccessKey)),
		SessionToken: s.cfg.Sealer.Seal([]byte(sess.SessionToken)), RoleArn: roleArn, RoleID: role.ID,
		SessionName: sessionName, SourceArn: source, Policy: sessionPolicy, PolicyArns: policyArns, Tags: tags,
		Created: now, Expires: sess.Expiration,
	})
	if err != nil {
		return nil, fmt.Errorf("issue credentials for %s: %w", roleArn, err)
	}
	return sess, nil
}

// sessionNameRE is the model's pattern of role session names.
var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]*$`)

// newKeyID returns a temporary access key id: ASIA and 16 characters.
func newKeyID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "ASIA" + string(b)
}

// newToken returns a session token: opaque, long and random like AWS's.
func newToken() string {
	b := make([]byte, 192)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// LookupAccessKey implements awsapi.KeyStore for temporary credentials:
// it returns the secret, session token and expiry (expired credentials
// too, until purged, so that Authenticate answers ExpiredToken), with the
// role session as caller. Other ids give an error wrapping
// awsapi.ErrUnknownAccessKey.
func (s *Service) LookupAccessKey(ctx context.Context, id string) (awsapi.AccessKey, error) {
	tc, err := s.cfg.DB.TempCredential(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return awsapi.AccessKey{}, fmt.Errorf("temporary access key %s: %w", id, awsapi.ErrUnknownAccessKey)
	}
	if err != nil {
		return awsapi.AccessKey{}, fmt.Errorf("look up temporary access key %s: %w", id, err)
	}
	secret, err := s.cfg.Sealer.Open(tc.Secret)
	if err != nil {
		return awsapi.AccessKey{}, fmt.Errorf("unseal temporary access key %s: %w", id, err)
	}
	token, err := s.cfg.Sealer.Open(tc.SessionToken)
	if err != nil {
		return awsapi.AccessKey{}, fmt.Errorf("unseal session token of %s: %w", id, err)
	}
	roleName := tc.RoleArn[strings.LastIndexByte(tc.RoleArn, '/')+1:]
	return awsapi.AccessKey{
		SecretAccessKey: string(secret),
		SessionToken:    string(token),
		Expires:         tc.Expires,
		Caller: awsapi.Caller{
			AccessKeyID: id, AccountID: s.cfg.Names.Account, UserName: tc.SessionName,
			ARN: s.cfg.Names.AssumedRoleArn(roleName, tc.SessionName),
		},
	}, nil
}

// Revoke ends temporary credentials before they expire (a build that
// ended); unknown ids are not an error.
func (s *Service) Revoke(ctx context.Context, accessKeyID string) error {
	err := s.cfg.DB.DeleteTempCredential(ctx, accessKeyID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("revoke %s: %w", accessKeyID, err)
	}
	return nil
}

// Purge deletes credentials that expired more than KeepExpired ago and
// returns how many. AssumeRole purges as it goes; a runner may also call
// this on a timer.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	return s.cfg.DB.PurgeTempCredentials(ctx, s.now().Add(-s.cfg.KeepExpired))
}

func (s *Service) purge(ctx context.Context) {
	if _, err := s.Purge(ctx); err != nil {
		s.log.Warn("purge expired credentials", "err", err)
	}
}
