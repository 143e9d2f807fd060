package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/policy"
	"github.com/hangarci/hangar/internal/store"
)

// Source tells where a policy that applies to a role or user comes from.
type Source int

// Sources of policy documents.
const (
	Inline Source = iota
	Managed
)

func (s Source) String() string {
	if s == Managed {
		return "managed"
	}
	return "inline"
}

// Document is one policy that applies to a role or user: an inline policy,
// or the default version of an attached managed policy.
type Document struct {
	Source Source
	// Name is the inline policy's name or the managed policy's name.
	Name string
	// PolicyArn and VersionID are set for managed policies.
	PolicyArn string
	VersionID string
	// Text is the document as stored; Policy is it parsed.
	Text   string
	Policy *policy.Policy
}

// RolePolicies returns every policy that applies to a role (by ARN or
// name): its inline policies by name, then its attached managed policies
// in the order they were attached. The error wraps store.ErrNotFound when
// there is no such role.
func (s *Service) RolePolicies(ctx context.Context, roleArn string) ([]Document, error) {
	r, err := s.RoleByArn(ctx, roleArn)
	if err != nil {
		return nil, err
	}
	return s.documents(ctx, store.RolePrincipal, r.Name)
}

// UserPolicies returns every policy that applies to an IAM user, as
// RolePolicies does for roles. The runner's own user is no IAM user: its
// callers are admins and need no policies.
func (s *Service) UserPolicies(ctx context.Context, userName string) ([]Document, error) {
	docs, err := s.documents(ctx, store.UserPrincipal, userName)
	if errors.Is(err, store.ErrNoPrincipal) {
		return nil, fmt.Errorf("policies of user %s: %w", userName, store.ErrNotFound)
	}
	return docs, err
}

func (s *Service) documents(ctx context.Context, kind store.PrincipalKind, name string) ([]Document, error) {
	inline, err := s.db.InlinePolicies(ctx, kind, name)
	if err != nil {
		return nil, fmt.Errorf("inline policies of %s: %w", name, err)
	}
	var out []Document
	for _, ip := range inline {
		p, err := policy.Parse([]byte(ip.Document))
		if err != nil {
			return nil, fmt.Errorf("inline policy %s of %s: %w", ip.Name, name, err)
		}
		out = append(out, Document{Source: Inline, Name: ip.Name, Text: ip.Document, Policy: p})
	}
	att, err := s.db.AttachedPolicies(ctx, kind, name)
	if err != nil {
		return nil, fmt.Errorf("attached policies of %s: %w", name, err)
	}
	for _, at := range att {
		d, err := s.managedDocument(ctx, at.PolicyArn)
		if err != nil {
			return nil, fmt.Errorf("policies of %s: %w", name, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// managedDocument returns the default version of a managed policy.
func (s *Service) managedDocument(ctx context.Context, arn string) (Document, error) {
	if mp, ok := s.managed.lookup(arn); ok {
		return Document{Source: Managed, Name: mp.PolicyName, PolicyArn: arn, VersionID: mp.DefaultVersionID, Text: mp.doc, Policy: mp.parsed}, nil
	}
	v, err := s.db.PolicyVersion(ctx, arn, 0)
	if err != nil {
		return Document{}, fmt.Errorf("managed policy %s: %w", arn, err)
	}
	p, err := policy.Parse([]byte(v.Document))
	if err != nil {
		return Document{}, fmt.Errorf("managed policy %s: %w", arn, err)
	}
	a, _ := model.ParseIAMArn(arn)
	return Document{Source: Managed, Name: a.Name, PolicyArn: arn, VersionID: versionID(v.Version), Text: v.Document, Policy: p}, nil
}

// ManagedPolicy returns the default version of a managed policy by ARN, AWS
// or customer (session policies name them). The error wraps
// store.ErrNotFound when there is none.
func (s *Service) ManagedPolicy(ctx context.Context, arn string) (Document, error) {
	return s.managedDocument(ctx, arn)
}

// RoleByArn returns a role by ARN (arn:aws:iam::<account>:role/<path><name>,
// path and account must match) or by bare name, as CodeBuild takes a
// project's service role. The error wraps store.ErrNotFound when there is
// no such role.
func (s *Service) RoleByArn(ctx context.Context, roleArn string) (*store.IAMRole, error) {
	name := roleArn
	var a model.IAMArn
	isArn := strings.HasPrefix(roleArn, "arn:")
	if isArn {
		var ok bool
		a, ok = model.ParseIAMArn(roleArn)
		if !ok || a.Type != "role" || a.Account != s.names.Account {
			return nil, fmt.Errorf("role %s: %w", roleArn, store.ErrNotFound)
		}
		name = a.Name
	}
	r, err := s.db.Role(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("role %s: %w", roleArn, err)
	}
	if isArn && (a.Path != r.Path || a.Name != r.Name) {
		return nil, fmt.Errorf("role %s: %w", roleArn, store.ErrNotFound)
	}
	return r, nil
}

// TrustPolicy returns a role's trust policy, parsed.
func (s *Service) TrustPolicy(ctx context.Context, r *store.IAMRole) (*policy.Policy, error) {
	p, err := policy.Parse([]byte(r.Trust))
	if err != nil {
		return nil, fmt.Errorf("trust policy of role %s: %w", r.Name, err)
	}
	return p, nil
}

// CallerUserID returns the id IAM gives the principal c: an IAM user's
// AIDA id, the runner user's derived one, or the account id for a root
// caller. Assumed-role sessions are STS's to name (RoleId:session).
func (s *Service) CallerUserID(ctx context.Context, c awsapi.Caller) (string, error) {
	a, ok := model.ParseIAMArn(c.ARN)
	if !ok {
		return "", fmt.Errorf("caller %q: not an IAM ARN", c.ARN)
	}
	switch a.Type {
	case "root":
		return a.Account, nil
	case "user":
		u, err := s.db.User(ctx, a.Name)
		if errors.Is(err, store.ErrNotFound) {
			return runnerUserID(s.names.Account, a.Name), nil
		}
		if err != nil {
			return "", err
		}
		return u.ID, nil
	}
	return "", fmt.Errorf("caller %q: not a user", c.ARN)
}
