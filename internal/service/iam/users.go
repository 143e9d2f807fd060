package iam

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/store"
)

// User is the User shape of IAM's responses.
type User struct {
	Path       string
	UserName   string
	UserId     string
	Arn        string
	CreateDate isoTime
	Tags       *members[model.IAMTag] `xml:",omitempty"`
}

func (s *Service) user(u *store.IAMUser, tags bool) User {
	out := User{Path: u.Path, UserName: u.Name, UserId: u.ID, Arn: s.names.UserArn(u.Path, u.Name), CreateDate: isoTime(u.Created)}
	if tags {
		out.Tags = tagList(u.Tags)
	}
	return out
}

// runnerUserID is the stable user id of the runner's own user (the owner
// of the keys `hangar server` makes), which is not an IAM user in the
// store: AIDA and 17 characters derived from the account and name.
func runnerUserID(account, name string) string {
	sum := sha256.Sum256([]byte(account + "/" + name))
	b := make([]byte, 17)
	for i := range b {
		b[i] = idAlphabet[int(sum[i])%len(idAlphabet)]
	}
	return "AIDA" + string(b)
}

// errNonUser is IAM's answer when a call needs a user and the caller is
// not one (an assumed role).
func errNonUser() *awsapi.Error {
	return validationError("Must specify userName when calling with non-User credentials")
}

// callerUser resolves the user a call without UserName is about: the
// signing IAM user, or the runner's own user (runner set, user nil).
func (s *Service) callerUser(ctx context.Context) (u *store.IAMUser, runner *User, err error) {
	c, ok := callerFrom(ctx)
	if !ok {
		return nil, nil, errNonUser()
	}
	a, ok := model.ParseIAMArn(c.ARN)
	if !ok || a.Type != "user" {
		return nil, nil, errNonUser()
	}
	u, err = s.db.User(ctx, a.Name)
	if err == nil {
		return u, nil, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	keys, err := s.db.UserAccessKeys(ctx, "", a.Name)
	if err != nil {
		return nil, nil, err
	}
	if len(keys) == 0 {
		return nil, nil, noSuchUser(a.Name)
	}
	return nil, &User{
		Path: a.Path, UserName: a.Name, UserId: runnerUserID(s.names.Account, a.Name), Arn: c.ARN, CreateDate: isoTime(keys[0].Created),
	}, nil
}

// CreateUserInput is the input of CreateUser.
type CreateUserInput struct {
	UserName            string
	Path                *string
	PermissionsBoundary *string
	Tags                []model.IAMTag
}

// UserOutput is the output of CreateUser and GetUser.
type UserOutput struct {
	User User
}

// CreateUser creates an IAM user. The name of the runner's own user is
// taken.
func (s *Service) CreateUser(ctx context.Context, in *CreateUserInput) (*UserOutput, error) {
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if in.PermissionsBoundary != nil {
		return nil, invalidInput("Permissions boundaries are not supported by this runner.")
	}
	u := store.IAMUser{ID: newID("AIDA", 17), Name: in.UserName, Path: normPath(in.Path), Tags: in.Tags, Created: s.stamp()}
	err := s.db.CreateUser(ctx, u)
	if errors.Is(err, store.ErrExists) {
		return nil, entityExists("User with name %s already exists.", in.UserName)
	}
	if err != nil {
		return nil, err
	}
	return &UserOutput{User: s.user(&u, true)}, nil
}

// GetUserInput is the input of GetUser.
type GetUserInput struct {
	UserName *string
}

// GetUser returns a user; without UserName, the caller.
func (s *Service) GetUser(ctx context.Context, in *GetUserInput) (*UserOutput, error) {
	if in.UserName == nil {
		u, runner, err := s.callerUser(ctx)
		if err != nil {
			return nil, err
		}
		if runner != nil {
			return &UserOutput{User: *runner}, nil
		}
		return &UserOutput{User: s.user(u, true)}, nil
	}
	u, runner, err := s.lookupUser(ctx, *in.UserName)
	if err != nil {
		return nil, err
	}
	if runner != nil {
		return &UserOutput{User: *runner}, nil
	}
	return &UserOutput{User: s.user(u, true)}, nil
}

// ListUsersOutput is the output of ListUsers.
type ListUsersOutput struct {
	Users       members[User]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ListUsers lists IAM users by name, filtered by path.
func (s *Service) ListUsers(ctx context.Context, in *ListInput) (*ListUsersOutput, error) {
	err := s.validate("ListUsers", func(c *checks) {
		c.str("pathPrefix", in.PathPrefix, false, 1, 512, pathPrefixPattern)
		c.paging(in.Marker, in.MaxItems)
	})
	if err != nil {
		return nil, err
	}
	prefix := "/"
	if in.PathPrefix != nil {
		prefix = *in.PathPrefix
	}
	users, err := s.db.Users(ctx, prefix)
	if err != nil {
		return nil, err
	}
	pg, next, err := page(users, func(u *store.IAMUser) string { return u.Name }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &ListUsersOutput{Users: list([]User{}), IsTruncated: next != "", Marker: next}
	for _, u := range pg {
		out.Users.Member = append(out.Users.Member, s.user(u, false))
	}
	return out, nil
}

// UserNameInput names a user.
type UserNameInput struct {
	UserName string
}

// DeleteUser deletes a user with no policies or access keys left.
func (s *Service) DeleteUser(ctx context.Context, in *UserNameInput) (*struct{}, error) {
	err := s.db.DeleteUser(ctx, in.UserName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, noSuchUser(in.UserName)
	}
	if e, ok := deleteConflictFor(err); ok {
		return nil, e
	}
	if err != nil {
		return nil, fmt.Errorf("delete user %s: %w", in.UserName, err)
	}
	return &struct{}{}, nil
}
