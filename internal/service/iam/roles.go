package iam

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/policy"
	"github.com/hangarci/hangar/internal/store"
)

// Role is the Role shape of IAM's responses.
type Role struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               isoTime
	AssumeRolePolicyDocument string                 `xml:",omitempty"`
	Description              string                 `xml:",omitempty"`
	MaxSessionDuration       int                    `xml:",omitempty"`
	Tags                     *members[model.IAMTag] `xml:",omitempty"`
	RoleLastUsed             *roleLastUsed          `xml:",omitempty"`
}

// roleLastUsed is empty: the runner does not track it, and IAM sends an
// empty element for roles never used.
type roleLastUsed struct{}

// roleView says which members a response carries: IAM leaves some out of
// CreateRole and ListRoles.
type roleView int

const (
	viewCreate roleView = iota
	viewList
	viewFull
)

func (s *Service) role(r *store.IAMRole, view roleView) Role {
	out := Role{
		Path: r.Path, RoleName: r.Name, RoleId: r.ID, Arn: s.names.RoleArn(r.Path, r.Name),
		CreateDate: isoTime(r.Created), AssumeRolePolicyDocument: encodeDocument(r.Trust),
	}
	switch view {
	case viewCreate:
		out.Tags = tagList(r.Tags)
	case viewList:
		out.Description, out.MaxSessionDuration = r.Description, r.MaxSession
	case viewFull:
		out.Description, out.MaxSessionDuration, out.Tags = r.Description, r.MaxSession, tagList(r.Tags)
		out.RoleLastUsed = &roleLastUsed{}
	}
	return out
}

// checkTrust parses a trust policy the way CreateRole and
// UpdateAssumeRolePolicy do: grammar and rules, then the quota, then that
// every IAM user or role it names in this account exists, as IAM insists.
func (s *Service) checkTrust(ctx context.Context, doc string) error {
	p, err := policy.ParseKind([]byte(doc), policy.Trust)
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			return malformed(pe.Message)
		}
		return fmt.Errorf("parse trust policy: %w", err)
	}
	if policy.Size([]byte(doc)) > maxTrustSize {
		return limitExceeded("Cannot exceed quota for ACLSizePerRole: %d", maxTrustSize)
	}
	for _, st := range p.Statements {
		for _, pr := range []*policy.Principal{st.Principal, st.NotPrincipal} {
			if pr == nil {
				continue
			}
			for _, v := range pr.AWS {
				a, ok := model.ParseIAMArn(v)
				if !ok || a.Account != s.names.Account || a.Service != "iam" || (a.Type != "role" && a.Type != "user") {
					continue
				}
				var err error
				if a.Type == "role" {
					_, err = s.db.Role(ctx, a.Name)
				} else {
					_, err = s.db.User(ctx, a.Name)
				}
				if errors.Is(err, store.ErrNotFound) {
					return malformed(fmt.Sprintf("Invalid principal in policy: \"AWS\":%q", v))
				}
				if err != nil {
					return fmt.Errorf("check trust principal %s: %w", v, err)
				}
			}
		}
	}
	return nil
}

// CreateRoleInput is the input of CreateRole.
type CreateRoleInput struct {
	RoleName                 string
	AssumeRolePolicyDocument string
	Path                     *string
	Description              string
	MaxSessionDuration       *int
	PermissionsBoundary      *string
	Tags                     []model.IAMTag
}

// CreateRoleOutput is the output of CreateRole.
type CreateRoleOutput struct {
	Role Role
}

// CreateRole creates a role.
func (s *Service) CreateRole(ctx context.Context, in *CreateRoleInput) (*CreateRoleOutput, error) {
	if err := s.checkTrust(ctx, in.AssumeRolePolicyDocument); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if in.PermissionsBoundary != nil {
		return nil, invalidInput("Permissions boundaries are not supported by this runner.")
	}
	r := store.IAMRole{
		ID: newID("AROA", 17), Name: in.RoleName, Path: normPath(in.Path), Trust: in.AssumeRolePolicyDocument,
		Description: in.Description, MaxSession: defaultSession, Tags: in.Tags, Created: s.stamp(),
	}
	if in.MaxSessionDuration != nil {
		r.MaxSession = *in.MaxSessionDuration
	}
	err := s.db.CreateRole(ctx, r)
	if errors.Is(err, store.ErrExists) {
		return nil, entityExists("Role with name %s already exists.", in.RoleName)
	}
	if err != nil {
		return nil, err
	}
	return &CreateRoleOutput{Role: s.role(&r, viewCreate)}, nil
}

// RoleNameInput names a role.
type RoleNameInput struct {
	RoleName string
}

// GetRoleOutput is the output of GetRole.
type GetRoleOutput struct {
	Role Role
}

// GetRole returns a role.
func (s *Service) GetRole(ctx context.Context, in *RoleNameInput) (*GetRoleOutput, error) {
	r, err := s.getRole(ctx, in.RoleName)
	if err != nil {
		return nil, err
	}
	return &GetRoleOutput{Role: s.role(r, viewFull)}, nil
}

func (s *Service) getRole(ctx context.Context, name string) (*store.IAMRole, error) {
	r, err := s.db.Role(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, noSuchRole(name)
	}
	return r, err
}

// ListInput is the input of the List calls that filter by path.
type ListInput struct {
	PathPrefix *string
	Marker     *string
	MaxItems   *int32
}

// ListRolesOutput is the output of ListRoles.
type ListRolesOutput struct {
	Roles       members[Role]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ListRoles lists roles by name, filtered by path.
func (s *Service) ListRoles(ctx context.Context, in *ListInput) (*ListRolesOutput, error) {
	prefix := "/"
	if in.PathPrefix != nil {
		prefix = *in.PathPrefix
	}
	roles, err := s.db.Roles(ctx, prefix)
	if err != nil {
		return nil, err
	}
	pg, next, err := page(roles, func(r *store.IAMRole) string { return r.Name }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &ListRolesOutput{Roles: list([]Role{}), IsTruncated: next != "", Marker: next}
	for _, r := range pg {
		out.Roles.Member = append(out.Roles.Member, s.role(r, viewList))
	}
	return out, nil
}

// DeleteRole deletes a role that has no policies left, as IAM insists.
func (s *Service) DeleteRole(ctx context.Context, in *RoleNameInput) (*struct{}, error) {
	err := s.db.DeleteRole(ctx, in.RoleName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, noSuchRole(in.RoleName)
	}
	if e, ok := deleteConflictFor(err); ok {
		return nil, e
	}
	if err != nil {
		return nil, fmt.Errorf("delete role %s: %w", in.RoleName, err)
	}
	return &struct{}{}, nil
}

// UpdateRoleInput is the input of UpdateRole.
type UpdateRoleInput struct {
	RoleName           string
	Description        *string
	MaxSessionDuration *int
}

// UpdateRoleOutput is the output of UpdateRole: an empty UpdateRoleResult
// element, which the SDKs expect (other actions without output send none).
type UpdateRoleOutput struct {
	XMLName xml.Name
}

// UpdateRole changes a role's description and maximum session duration.
func (s *Service) UpdateRole(ctx context.Context, in *UpdateRoleInput) (*UpdateRoleOutput, error) {
	err := s.validate("UpdateRole", func(c *checks) {
		c.req("roleName", in.RoleName, 1, 64, namePattern)
		c.str("description", in.Description, false, 0, 1000, descPattern)
		c.rng("maxSessionDuration", in.MaxSessionDuration, 3600, 43200)
	})
	if err != nil {
		return nil, err
	}
	_, err = s.updateRole(ctx, in.RoleName, func(r *store.IAMRole) error {
		if in.Description != nil {
			r.Description = *in.Description
		}
		if in.MaxSessionDuration != nil {
			r.MaxSession = *in.MaxSessionDuration
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &UpdateRoleOutput{}, nil
}

// UpdateRoleDescriptionInput is the input of UpdateRoleDescription.
type UpdateRoleDescriptionInput struct {
	RoleName    string
	Description string
}

// UpdateRoleDescription changes a role's description and returns the role.
func (s *Service) UpdateRoleDescription(ctx context.Context, in *UpdateRoleDescriptionInput) (*GetRoleOutput, error) {
	err := s.validate("UpdateRoleDescription", func(c *checks) {
		c.req("roleName", in.RoleName, 1, 64, namePattern)
		c.str("description", &in.Description, true, 0, 1000, descPattern)
	})
	if err != nil {
		return nil, err
	}
	r, err := s.updateRole(ctx, in.RoleName, func(r *store.IAMRole) error {
		r.Description = in.Description
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &GetRoleOutput{Role: s.role(r, viewCreate)}, nil
}

func (s *Service) updateRole(ctx context.Context, name string, fn func(*store.IAMRole) error) (*store.IAMRole, error) {
	r, err := s.db.UpdateRole(ctx, name, fn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, noSuchRole(name)
	}
	if _, ok := awsapi.AsError(err); ok {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("update role %s: %w", name, err)
	}
	return r, nil
}

// UpdateAssumeRolePolicyInput is the input of UpdateAssumeRolePolicy.
type UpdateAssumeRolePolicyInput struct {
	RoleName       string
	PolicyDocument string
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Service) UpdateAssumeRolePolicy(ctx context.Context, in *UpdateAssumeRolePolicyInput) (*struct{}, error) {
	if err := s.checkTrust(ctx, in.PolicyDocument); err != nil {
		return nil, err
	}
	_, err := s.updateRole(ctx, in.RoleName, func(r *store.IAMRole) error {
		r.Trust = in.PolicyDocument
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// TagRoleInput is the input of TagRole.
type TagRoleInput struct {
	RoleName string
	Tags     []model.IAMTag
}

// TagRole adds tags to a role, replacing the values of keys it has (keys
// compare without regard to case).
func (s *Service) TagRole(ctx context.Context, in *TagRoleInput) (*struct{}, error) {
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	_, err := s.updateRole(ctx, in.RoleName, func(r *store.IAMRole) error {
		for _, t := range in.Tags {
			i := indexTag(r.Tags, t.Key)
			if i >= 0 {
				r.Tags[i] = t
				continue
			}
			r.Tags = append(r.Tags, t)
		}
		if len(r.Tags) > maxTags {
			return limitExceeded("Cannot exceed quota for TagsPerRole: %d", maxTags)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

func indexTag(tags []model.IAMTag, key string) int {
	for i, t := range tags {
		if strings.EqualFold(t.Key, key) {
			return i
		}
	}
	return -1
}

// UntagRoleInput is the input of UntagRole.
type UntagRoleInput struct {
	RoleName string
	TagKeys  []string
}

// UntagRole removes tags from a role; keys it does not have are ignored.
func (s *Service) UntagRole(ctx context.Context, in *UntagRoleInput) (*struct{}, error) {
	err := s.validate("UntagRole", func(c *checks) {
		c.req("roleName", in.RoleName, 1, 64, namePattern)
		if in.TagKeys == nil {
			c.str("tagKeys", nil, true, 0, 0, "")
		}
		if len(in.TagKeys) > maxTags {
			c.add("Value at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to %d", maxTags)
		}
		for i := range in.TagKeys {
			c.str(fmt.Sprintf("tagKeys.%d.member", i+1), &in.TagKeys[i], true, 1, 128, tagKeyPattern)
		}
	})
	if err != nil {
		return nil, err
	}
	_, err = s.updateRole(ctx, in.RoleName, func(r *store.IAMRole) error {
		kept := r.Tags[:0]
		for _, t := range r.Tags {
			if !containsFold(in.TagKeys, t.Key) {
				kept = append(kept, t)
			}
		}
		r.Tags = kept
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// ListRoleTagsInput is the input of ListRoleTags.
type ListRoleTagsInput struct {
	RoleName string
	Marker   *string
	MaxItems *int32
}

// ListRoleTagsOutput is the output of ListRoleTags.
type ListRoleTagsOutput struct {
	Tags        members[model.IAMTag]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ListRoleTags lists a role's tags.
func (s *Service) ListRoleTags(ctx context.Context, in *ListRoleTagsInput) (*ListRoleTagsOutput, error) {
	err := s.validate("ListRoleTags", func(c *checks) {
		c.req("roleName", in.RoleName, 1, 64, namePattern)
		c.paging(in.Marker, in.MaxItems)
	})
	if err != nil {
		return nil, err
	}
	r, err := s.getRole(ctx, in.RoleName)
	if err != nil {
		return nil, err
	}
	pg, next, err := page(r.Tags, func(t model.IAMTag) string { return t.Key }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListRoleTagsOutput{Tags: list(append([]model.IAMTag{}, pg...)), IsTruncated: next != "", Marker: next}, nil
}
