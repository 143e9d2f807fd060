package iam

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/store"
)

// AccessKey is the AccessKey shape of CreateAccessKey: the only response
// that carries the secret.
type AccessKey struct {
	UserName        string
	AccessKeyId     string
	Status          string
	SecretAccessKey string
	CreateDate      isoTime
}

// AccessKeyMetadata is one entry of ListAccessKeys.
type AccessKeyMetadata struct {
	UserName    string
	AccessKeyId string
	Status      string
	CreateDate  isoTime
}

// lookupUser returns an IAM user by name, or the runner's own user of that
// name (runner set).
func (s *Service) lookupUser(ctx context.Context, name string) (*store.IAMUser, *User, error) {
	u, err := s.db.User(ctx, name)
	if err == nil {
		return u, nil, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	keys, err := s.db.UserAccessKeys(ctx, "", name)
	if err != nil {
		return nil, nil, err
	}
	if len(keys) == 0 {
		return nil, nil, noSuchUser(name)
	}
	return nil, &User{Path: "/", UserName: keys[0].UserName, UserId: runnerUserID(s.names.Account, keys[0].UserName),
		Arn: s.names.UserArn("/", keys[0].UserName), CreateDate: isoTime(keys[0].Created)}, nil
}

// keyUser resolves the user of an access key call: UserName, or the caller
// when it is left out.
func (s *Service) keyUser(ctx context.Context, name *string) (*store.IAMUser, *User, error) {
	if name == nil {
		return s.callerUser(ctx)
	}
	return s.lookupUser(ctx, *name)
}

// errRunnerKeys refuses changes to the runner's own keys through IAM: they
// are the runner's administrator credentials, made by the runner itself
// (its credentials file); `hangar keys` manages IAM users' keys.
func errRunnerKeys(name string) *awsapi.Error {
	return withStatus(http.StatusForbidden, "AccessDenied",
		"The access keys of %s are the runner's own (its credentials file); they cannot be changed through IAM.", name)
}

// CreateAccessKeyInput is the input of CreateAccessKey.
type CreateAccessKeyInput struct {
	UserName *string
}

// CreateAccessKeyOutput is the output of CreateAccessKey.
type CreateAccessKeyOutput struct {
	AccessKey AccessKey
}

// CreateAccessKey makes an access key for an IAM user (at most two each)
// and returns its secret, this once; the store keeps it sealed.
func (s *Service) CreateAccessKey(ctx context.Context, in *CreateAccessKeyInput) (*CreateAccessKeyOutput, error) {
	u, runner, err := s.keyUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	if runner != nil {
		return nil, errRunnerKeys(runner.UserName)
	}
	secret := NewSecret()
	k, err := s.db.CreateUserAccessKey(ctx, u.Name, store.IAMAccessKey{
		ID: newID("AKIA", 16), Secret: s.seal.Seal([]byte(secret)), Status: "Active", Created: s.stamp(),
	}, maxAccessKeys)
	switch {
	case errors.Is(err, store.ErrNoPrincipal):
		return nil, noSuchUser(u.Name)
	case errors.Is(err, store.ErrLimit):
		return nil, limitExceeded("Cannot exceed quota for AccessKeysPerUser: %d", maxAccessKeys)
	case err != nil:
		return nil, err
	}
	return &CreateAccessKeyOutput{AccessKey: AccessKey{
		UserName: k.UserName, AccessKeyId: k.ID, Status: k.Status, SecretAccessKey: secret, CreateDate: isoTime(k.Created),
	}}, nil
}

// ListAccessKeysInput is the input of ListAccessKeys.
type ListAccessKeysInput struct {
	UserName *string
	Marker   *string
	MaxItems *int32
}

// ListAccessKeysOutput is the output of ListAccessKeys.
type ListAccessKeysOutput struct {
	AccessKeyMetadata members[AccessKeyMetadata]
	IsTruncated       bool
	Marker            string `xml:",omitempty"`
}

// ListAccessKeys lists a user's access keys, never their secrets. The
// runner's own user lists its keys too.
func (s *Service) ListAccessKeys(ctx context.Context, in *ListAccessKeysInput) (*ListAccessKeysOutput, error) {
	u, runner, err := s.keyUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	var keys []store.IAMAccessKey
	if runner != nil {
		keys, err = s.db.UserAccessKeys(ctx, "", runner.UserName)
	} else {
		keys, err = s.db.UserAccessKeys(ctx, u.ID, u.Name)
	}
	if err != nil {
		return nil, err
	}
	pg, next, err := page(keys, func(k store.IAMAccessKey) string { return k.ID }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &ListAccessKeysOutput{AccessKeyMetadata: list([]AccessKeyMetadata{}), IsTruncated: next != "", Marker: next}
	for _, k := range pg {
		out.AccessKeyMetadata.Member = append(out.AccessKeyMetadata.Member,
			AccessKeyMetadata{UserName: k.UserName, AccessKeyId: k.ID, Status: k.Status, CreateDate: isoTime(k.Created)})
	}
	return out, nil
}

// AccessKeyInput names an access key of a user.
type AccessKeyInput struct {
	UserName    *string
	AccessKeyId string
	Status      string
}

func noSuchKey(id string) *awsapi.Error {
	return noSuchEntity("The Access Key with id %s cannot be found.", id)
}

// DeleteAccessKey deletes an access key of a user (the caller when
// UserName is left out).
func (s *Service) DeleteAccessKey(ctx context.Context, in *AccessKeyInput) (*struct{}, error) {
	u, runner, err := s.keyUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	if runner != nil {
		return nil, errRunnerKeys(runner.UserName)
	}
	err = s.db.DeleteUserAccessKey(ctx, u.ID, in.AccessKeyId)
	if errors.Is(err, store.ErrNotFound) {
		return nil, noSuchKey(in.AccessKeyId)
	}
	if err != nil {
		return nil, fmt.Errorf("delete access key %s: %w", in.AccessKeyId, err)
	}
	return &struct{}{}, nil
}

// UpdateAccessKey makes an access key Active or Inactive; inactive keys
// sign nothing.
func (s *Service) UpdateAccessKey(ctx context.Context, in *AccessKeyInput) (*struct{}, error) {
	err := s.validate("UpdateAccessKey", func(c *checks) {
		c.str("userName", in.UserName, false, 1, 128, namePattern)
		c.req("accessKeyId", in.AccessKeyId, 16, 128, keyIDPattern)
		if in.Status == "" {
			c.str("status", nil, true, 0, 0, "")
		}
		c.enum("status", in.Status, "Active", "Inactive", "Expired")
	})
	if err != nil {
		return nil, err
	}
	if in.Status != "Active" && in.Status != "Inactive" {
		return nil, validationError("1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]", in.Status)
	}
	u, runner, err := s.keyUser(ctx, in.UserName)
	if err != nil {
		return nil, err
	}
	if runner != nil {
		return nil, errRunnerKeys(runner.UserName)
	}
	err = s.db.SetUserAccessKeyStatus(ctx, u.ID, in.AccessKeyId, in.Status)
	if errors.Is(err, store.ErrNotFound) {
		return nil, noSuchKey(in.AccessKeyId)
	}
	if err != nil {
		return nil, fmt.Errorf("update access key %s: %w", in.AccessKeyId, err)
	}
	return &struct{}{}, nil
}

// LookupAccessKey implements awsapi.KeyStore for the access keys of IAM
// users: active keys verify as their user (never an admin). The runner's
// own keys and unknown ids give an error wrapping
// awsapi.ErrUnknownAccessKey, so a key store can try this first and fall
// back to the runner's keys.
func (s *Service) LookupAccessKey(ctx context.Context, id string) (awsapi.AccessKey, error) {
	k, err := s.db.IAMAccessKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (k.UserID == "" || k.Status != "Active") {
		return awsapi.AccessKey{}, fmt.Errorf("access key %s: %w", id, awsapi.ErrUnknownAccessKey)
	}
	if err != nil {
		return awsapi.AccessKey{}, fmt.Errorf("look up access key %s: %w", id, err)
	}
	u, err := s.db.User(ctx, k.UserName)
	if errors.Is(err, store.ErrNotFound) {
		return awsapi.AccessKey{}, fmt.Errorf("access key %s: user gone: %w", id, awsapi.ErrUnknownAccessKey)
	}
	if err != nil {
		return awsapi.AccessKey{}, fmt.Errorf("look up the user of access key %s: %w", id, err)
	}
	secret, err := s.seal.Open(k.Secret)
	if err != nil {
		return awsapi.AccessKey{}, fmt.Errorf("unseal access key %s: %w", id, err)
	}
	return awsapi.AccessKey{
		SecretAccessKey: string(secret),
		Caller: awsapi.Caller{
			AccessKeyID: id, AccountID: s.names.Account, UserName: u.Name, ARN: s.names.UserArn(u.Path, u.Name),
		},
	}, nil
}
