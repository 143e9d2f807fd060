package iam

import (
	"context"
	"errors"
	"fmt"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/policy"
	"github.com/hangarci/hangar/internal/store"
)

// principal says which kind of principal an inline or attached policy call
// is about, with IAM's words for it.
type principal struct {
	kind  store.PrincipalKind
	noun  string // "role", "user"
	limit int    // aggregate inline policy size
}

func roleKind() principal {
	return principal{kind: store.RolePrincipal, noun: "role", limit: maxRoleInline}
}

func userKind() principal {
	return principal{kind: store.UserPrincipal, noun: "user", limit: maxUserInline}
}

func (p principal) missing(name string) *awsapi.Error {
	if p.kind == store.UserPrincipal {
		return noSuchUser(name)
	}
	return noSuchRole(name)
}

// parseIdentity parses a permissions policy, turning its faults into
// MalformedPolicyDocument.
func parseIdentity(doc string) (*policy.Policy, error) {
	p, err := policy.ParseKind([]byte(doc), policy.Identity)
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			return nil, malformed(pe.Message)
		}
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	return p, nil
}

func (s *Service) putInline(ctx context.Context, p principal, name, policyName, doc string) error {
	if _, err := parseIdentity(doc); err != nil {
		return err
	}
	// IAM counts the policies of a role or user together against one quota.
	err := s.db.PutInlinePolicy(ctx, p.kind, name, policyName, doc, func(others []store.InlinePolicy) error {
		total := policy.Size([]byte(doc))
		for _, o := range others {
			total += policy.Size([]byte(o.Document))
		}
		if total > p.limit {
			return limitExceeded("Maximum policy size of %d bytes exceeded for %s %s", p.limit, p.noun, name)
		}
		return nil
	})
	switch {
	case errors.Is(err, store.ErrNoPrincipal):
		return p.missing(name)
	case err == nil:
		return nil
	}
	if _, ok := awsapi.AsError(err); ok {
		return err
	}
	return fmt.Errorf("put %s policy %s on %s: %w", p.noun, policyName, name, err)
}

func (s *Service) getInline(ctx context.Context, p principal, name, policyName string) (string, error) {
	doc, err := s.db.InlinePolicy(ctx, p.kind, name, policyName)
	switch {
	case errors.Is(err, store.ErrNoPrincipal):
		return "", p.missing(name)
	case errors.Is(err, store.ErrNotFound):
		return "", noSuchEntity("The %s policy with name %s cannot be found.", p.noun, policyName)
	case err != nil:
		return "", fmt.Errorf("get %s policy %s of %s: %w", p.noun, policyName, name, err)
	}
	return doc, nil
}

func (s *Service) deleteInline(ctx context.Context, p principal, name, policyName string) error {
	err := s.db.DeleteInlinePolicy(ctx, p.kind, name, policyName)
	switch {
	case errors.Is(err, store.ErrNoPrincipal):
		return p.missing(name)
	case errors.Is(err, store.ErrNotFound):
		return noSuchEntity("The %s policy with name %s cannot be found.", p.noun, policyName)
	case err != nil:
		return fmt.Errorf("delete %s policy %s of %s: %w", p.noun, policyName, name, err)
	}
	return nil
}

func (s *Service) listInline(ctx context.Context, p principal, name string, marker *string, maxItems *int32) (*ListPoliciesNamesOutput, error) {
	pols, err := s.db.InlinePolicies(ctx, p.kind, name)
	if errors.Is(err, store.ErrNoPrincipal) {
		return nil, p.missing(name)
	}
	if err != nil {
		return nil, fmt.Errorf("list policies of %s %s: %w", p.noun, name, err)
	}
	names := make([]string, len(pols))
	for i, pol := range pols {
		names[i] = pol.Name
	}
	pg, next, err := page(names, func(n string) string { return n }, marker, maxItems)
	if err != nil {
		return nil, err
	}
	return &ListPoliciesNamesOutput{PolicyNames: list(append([]string{}, pg...)), IsTruncated: next != "", Marker: next}, nil
}

// PutRolePolicyInput is the input of PutRolePolicy.
type PutRolePolicyInput struct {
	RoleName       string
	PolicyName     string
	PolicyDocument string
}

// PutRolePolicy creates or replaces an inline policy of a role.
func (s *Service) PutRolePolicy(ctx context.Context, in *PutRolePolicyInput) (*struct{}, error) {
	if err := s.putInline(ctx, roleKind(), in.RoleName, in.PolicyName, in.PolicyDocument); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// RolePolicyInput names an inline policy of a role.
type RolePolicyInput struct {
	RoleName   string
	PolicyName string
}

// GetRolePolicyOutput is the output of GetRolePolicy.
type GetRolePolicyOutput struct {
	RoleName       string
	PolicyName     string
	PolicyDocument string
}

// GetRolePolicy returns an inline policy of a role, URL-encoded as IAM
// sends it.
func (s *Service) GetRolePolicy(ctx context.Context, in *RolePolicyInput) (*GetRolePolicyOutput, error) {
	doc, err := s.getInline(ctx, roleKind(), in.RoleName, in.PolicyName)
	if err != nil {
		return nil, err
	}
	return &GetRolePolicyOutput{RoleName: in.RoleName, PolicyName: in.PolicyName, PolicyDocument: encodeDocument(doc)}, nil
}

// DeleteRolePolicy deletes an inline policy of a role.
func (s *Service) DeleteRolePolicy(ctx context.Context, in *RolePolicyInput) (*struct{}, error) {
	if err := s.deleteInline(ctx, roleKind(), in.RoleName, in.PolicyName); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// ListRolePoliciesInput is the input of ListRolePolicies.
type ListRolePoliciesInput struct {
	RoleName string
	Marker   *string
	MaxItems *int32
}

// ListPoliciesNamesOutput is the output of ListRolePolicies and
// ListUserPolicies.
type ListPoliciesNamesOutput struct {
	PolicyNames members[string]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ListRolePolicies lists the names of a role's inline policies.
func (s *Service) ListRolePolicies(ctx context.Context, in *ListRolePoliciesInput) (*ListPoliciesNamesOutput, error) {
	return s.listInline(ctx, roleKind(), in.RoleName, in.Marker, in.MaxItems)
}

// PutUserPolicyInput is the input of PutUserPolicy.
type PutUserPolicyInput struct {
	UserName       string
	PolicyName     string
	PolicyDocument string
}

// PutUserPolicy creates or replaces an inline policy of a user.
func (s *Service) PutUserPolicy(ctx context.Context, in *PutUserPolicyInput) (*struct{}, error) {
	err := s.validate("PutUserPolicy", func(c *checks) {
		c.req("userName", in.UserName, 1, 128, namePattern)
		c.req("policyName", in.PolicyName, 1, 128, namePattern)
		c.req("policyDocument", in.PolicyDocument, 1, 131072, documentPattern)
	})
	if err != nil {
		return nil, err
	}
	if err := s.putInline(ctx, userKind(), in.UserName, in.PolicyName, in.PolicyDocument); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// UserPolicyInput names an inline policy of a user.
type UserPolicyInput struct {
	UserName   string
	PolicyName string
}

func (in *UserPolicyInput) check(c *checks) {
	c.req("userName", in.UserName, 1, 128, namePattern)
	c.req("policyName", in.PolicyName, 1, 128, namePattern)
}

// GetUserPolicyOutput is the output of GetUserPolicy.
type GetUserPolicyOutput struct {
	UserName       string
	PolicyName     string
	PolicyDocument string
}

// GetUserPolicy returns an inline policy of a user, URL-encoded.
func (s *Service) GetUserPolicy(ctx context.Context, in *UserPolicyInput) (*GetUserPolicyOutput, error) {
	if err := s.validate("GetUserPolicy", in.check); err != nil {
		return nil, err
	}
	doc, err := s.getInline(ctx, userKind(), in.UserName, in.PolicyName)
	if err != nil {
		return nil, err
	}
	return &GetUserPolicyOutput{UserName: in.UserName, PolicyName: in.PolicyName, PolicyDocument: encodeDocument(doc)}, nil
}

// DeleteUserPolicy deletes an inline policy of a user.
func (s *Service) DeleteUserPolicy(ctx context.Context, in *UserPolicyInput) (*struct{}, error) {
	if err := s.validate("DeleteUserPolicy", in.check); err != nil {
		return nil, err
	}
	if err := s.deleteInline(ctx, userKind(), in.UserName, in.PolicyName); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// ListUserPoliciesInput is the input of ListUserPolicies.
type ListUserPoliciesInput struct {
	UserName string
	Marker   *string
	MaxItems *int32
}

// ListUserPolicies lists the names of a user's inline policies.
func (s *Service) ListUserPolicies(ctx context.Context, in *ListUserPoliciesInput) (*ListPoliciesNamesOutput, error) {
	err := s.validate("ListUserPolicies", func(c *checks) {
		c.req("userName", in.UserName, 1, 128, namePattern)
		c.paging(in.Marker, in.MaxItems)
	})
	if err != nil {
		return nil, err
	}
	return s.listInline(ctx, userKind(), in.UserName, in.Marker, in.MaxItems)
}
