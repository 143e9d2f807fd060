package iam

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/policy"
	"github.com/hangarci/hangar/internal/store"
)

// Policy is the Policy shape of IAM's responses.
type Policy struct {
	PolicyName                    string
	PolicyId                      string
	Arn                           string
	Path                          string
	DefaultVersionId              string
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
	IsAttachable                  bool
	Description                   string `xml:",omitempty"`
	CreateDate                    isoTime
	UpdateDate                    isoTime
	Tags                          *members[model.IAMTag] `xml:",omitempty"`
}

// PolicyVersion is the PolicyVersion shape of IAM's responses.
type PolicyVersion struct {
	Document         string `xml:",omitempty"`
	VersionId        string
	IsDefaultVersion bool
	CreateDate       isoTime
}

// AttachedPolicy is one entry of ListAttached*Policies.
type AttachedPolicy struct {
	PolicyName string
	PolicyArn  string
}

var accountIDRE = regexp.MustCompile(`^[0-9]{12}$`)

// checkPolicyArn parses a managed policy ARN: an AWS managed one
// (arn:aws:iam::aws:policy/…) or a customer one of some account. Anything
// else is InvalidInput, as IAM says it.
func checkPolicyArn(arn string) (model.IAMArn, error) {
	a, ok := model.ParseIAMArn(arn)
	if !ok || a.Type != "policy" || a.Partition != "aws" || a.Service != "iam" || (a.Account != "aws" && !accountIDRE.MatchString(a.Account)) {
		return a, invalidInput("ARN %s is not valid.", arn)
	}
	return a, nil
}

func versionID(v int) string { return "v" + strconv.Itoa(v) }

// parseVersionID reads "vN"; 0 for ids the runner never makes ("v1.x").
func parseVersionID(id string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "v"))
	if err != nil || !strings.HasPrefix(id, "v") || n < 1 {
		return 0
	}
	return n
}

func (s *Service) customerPolicy(p *store.IAMPolicy, withDescription bool) Policy {
	out := Policy{
		PolicyName: p.Name, PolicyId: p.ID, Arn: p.Arn, Path: p.Path, DefaultVersionId: versionID(p.DefaultVersion),
		AttachmentCount: p.Attachments, IsAttachable: true, CreateDate: isoTime(p.Created), UpdateDate: isoTime(p.Updated),
		Tags: tagList(p.Tags),
	}
	if withDescription {
		out.Description = p.Description
	}
	return out
}

func (s *Service) awsPolicy(p *managedPolicy, attachments int, withDescription bool) Policy {
	out := Policy{
		PolicyName: p.PolicyName, PolicyId: p.PolicyID, Arn: p.arn, Path: p.Path, DefaultVersionId: p.DefaultVersionID,
		AttachmentCount: attachments, IsAttachable: true, CreateDate: isoTime(p.CreateDate), UpdateDate: isoTime(p.UpdateDate),
	}
	if withDescription {
		out.Description = p.Description
	}
	return out
}

// ---- attach, detach, list attached ----

func (s *Service) attach(ctx context.Context, p principal, name, arn string) error {
	a, err := checkPolicyArn(arn)
	if err != nil {
		return err
	}
	notAttachable := noSuchEntity("Policy %s does not exist or is not attachable.", arn)
	customer := a.Account != "aws"
	if !customer {
		if _, ok := s.managed.lookup(arn); !ok {
			// Check the principal first, so that a missing role is
			// reported as such, as IAM does.
			if _, err := s.db.AttachedPolicies(ctx, p.kind, name); errors.Is(err, store.ErrNoPrincipal) {
				return p.missing(name)
			}
			return notAttachable
		}
	} else if a.Account != s.names.Account {
		return notAttachable
	}
	err = s.db.AttachPolicy(ctx, p.kind, name, arn, customer, maxAttached, s.stamp())
	switch {
	case errors.Is(err, store.ErrNoPrincipal):
		return p.missing(name)
	case errors.Is(err, store.ErrNotFound):
		return notAttachable
	case errors.Is(err, store.ErrLimit):
		quota := "PoliciesPerRole"
		if p.kind == store.UserPrincipal {
			quota = "PoliciesPerUser"
		}
		return limitExceeded("Cannot exceed quota for %s: %d", quota, maxAttached)
	case err != nil:
		return fmt.Errorf("attach %s to %s %s: %w", arn, p.noun, name, err)
	}
	return nil
}

func (s *Service) detach(ctx context.Context, p principal, name, arn string) error {
	if _, err := checkPolicyArn(arn); err != nil {
		return err
	}
	err := s.db.DetachPolicy(ctx, p.kind, name, arn)
	switch {
	case errors.Is(err, store.ErrNoPrincipal):
		return p.missing(name)
	case errors.Is(err, store.ErrNotFound):
		return noSuchEntity("Policy %s was not found.", arn)
	case err != nil:
		return fmt.Errorf("detach %s from %s %s: %w", arn, p.noun, name, err)
	}
	return nil
}

func (s *Service) listAttached(ctx context.Context, p principal, name string, in *ListAttachedInput) (*ListAttachedOutput, error) {
	att, err := s.db.AttachedPolicies(ctx, p.kind, name)
	if errors.Is(err, store.ErrNoPrincipal) {
		return nil, p.missing(name)
	}
	if err != nil {
		return nil, fmt.Errorf("list policies attached to %s %s: %w", p.noun, name, err)
	}
	var items []AttachedPolicy
	for _, at := range att {
		a, ok := model.ParseIAMArn(at.PolicyArn)
		if !ok {
			continue
		}
		if in.PathPrefix != nil && !strings.HasPrefix(a.Path, *in.PathPrefix) {
			continue
		}
		items = append(items, AttachedPolicy{PolicyName: a.Name, PolicyArn: at.PolicyArn})
	}
	pg, next, err := page(items, func(a AttachedPolicy) string { return a.PolicyArn }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListAttachedOutput{AttachedPolicies: list(append([]AttachedPolicy{}, pg...)), IsTruncated: next != "", Marker: next}, nil
}

// AttachRolePolicyInput is the input of AttachRolePolicy and DetachRolePolicy.
type AttachRolePolicyInput struct {
	RoleName  string
	PolicyArn string
}

// AttachRolePolicy attaches a managed policy to a role. An AWS managed
// policy must be in the catalogue, a customer managed one must exist.
func (s *Service) AttachRolePolicy(ctx context.Context, in *AttachRolePolicyInput) (*struct{}, error) {
	if err := s.attach(ctx, roleKind(), in.RoleName, in.PolicyArn); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// DetachRolePolicy detaches a managed policy from a role.
func (s *Service) DetachRolePolicy(ctx context.Context, in *AttachRolePolicyInput) (*struct{}, error) {
	if err := s.detach(ctx, roleKind(), in.RoleName, in.PolicyArn); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// ListAttachedInput is the input of ListAttachedRolePolicies and
// ListAttachedUserPolicies.
type ListAttachedInput struct {
	RoleName   string
	UserName   string
	PathPrefix *string
	Marker     *string
	MaxItems   *int32
}

// ListAttachedOutput is the output of ListAttachedRolePolicies and
// ListAttachedUserPolicies.
type ListAttachedOutput struct {
	AttachedPolicies members[AttachedPolicy]
	IsTruncated      bool
	Marker           string `xml:",omitempty"`
}

// ListAttachedRolePolicies lists the managed policies attached to a role,
// in the order they were attached.
func (s *Service) ListAttachedRolePolicies(ctx context.Context, in *ListAttachedInput) (*ListAttachedOutput, error) {
	return s.listAttached(ctx, roleKind(), in.RoleName, in)
}

// AttachUserPolicyInput is the input of AttachUserPolicy and DetachUserPolicy.
type AttachUserPolicyInput struct {
	UserName  string
	PolicyArn string
}

func (in *AttachUserPolicyInput) check(c *checks) {
	c.req("userName", in.UserName, 1, 64, namePattern)
	c.req("policyArn", in.PolicyArn, 20, 2048, "")
}

// AttachUserPolicy attaches a managed policy to a user.
func (s *Service) AttachUserPolicy(ctx context.Context, in *AttachUserPolicyInput) (*struct{}, error) {
	if err := s.validate("AttachUserPolicy", in.check); err != nil {
		return nil, err
	}
	if err := s.attach(ctx, userKind(), in.UserName, in.PolicyArn); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// DetachUserPolicy detaches a managed policy from a user.
func (s *Service) DetachUserPolicy(ctx context.Context, in *AttachUserPolicyInput) (*struct{}, error) {
	if err := s.validate("DetachUserPolicy", in.check); err != nil {
		return nil, err
	}
	if err := s.detach(ctx, userKind(), in.UserName, in.PolicyArn); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// ListAttachedUserPolicies lists the managed policies attached to a user.
func (s *Service) ListAttachedUserPolicies(ctx context.Context, in *ListAttachedInput) (*ListAttachedOutput, error) {
	err := s.validate("ListAttachedUserPolicies", func(c *checks) {
		c.req("userName", in.UserName, 1, 64, namePattern)
		c.str("pathPrefix", in.PathPrefix, false, 1, 512, policyPathPattern)
		c.paging(in.Marker, in.MaxItems)
	})
	if err != nil {
		return nil, err
	}
	return s.listAttached(ctx, userKind(), in.UserName, in)
}

// ---- managed policies ----

// CreatePolicyInput is the input of CreatePolicy.
type CreatePolicyInput struct {
	PolicyName     string
	Path           *string
	PolicyDocument string
	Description    string
	Tags           []model.IAMTag
}

// PolicyOutput is the output of CreatePolicy and GetPolicy.
type PolicyOutput struct {
	Policy Policy
}

// CreatePolicy creates a customer managed policy with its version v1.
func (s *Service) CreatePolicy(ctx context.Context, in *CreatePolicyInput) (*PolicyOutput, error) {
	err := s.validate("CreatePolicy", func(c *checks) {
		c.req("policyName", in.PolicyName, 1, 128, namePattern)
		c.str("path", in.Path, false, 1, 512, policyPathPattern)
		c.req("policyDocument", in.PolicyDocument, 1, 131072, documentPattern)
		c.str("description", &in.Description, false, 0, 1000, "")
		if len(in.Tags) > maxTags {
			c.add("Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", maxTags)
		}
	})
	if err != nil {
		return nil, err
	}
	if _, err := parseIdentity(in.PolicyDocument); err != nil {
		return nil, err
	}
	if policy.Size([]byte(in.PolicyDocument)) > maxManagedSize {
		return nil, limitExceeded("Cannot exceed quota for PolicySize: %d", maxManagedSize)
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	path := normPath(in.Path)
	now := s.stamp()
	p := store.IAMPolicy{
		ID: newID("ANPA", 17), Arn: s.names.PolicyArn(path, in.PolicyName), Name: in.PolicyName, Path: path,
		Description: in.Description, DefaultVersion: 1, Tags: in.Tags, Created: now, Updated: now,
	}
	err = s.db.CreatePolicy(ctx, p, in.PolicyDocument)
	if errors.Is(err, store.ErrExists) {
		return nil, entityExists("A policy called %s already exists. Duplicate names are not allowed.", in.PolicyName)
	}
	if err != nil {
		return nil, err
	}
	return &PolicyOutput{Policy: s.customerPolicy(&p, false)}, nil
}

// PolicyArnInput names a managed policy.
type PolicyArnInput struct {
	PolicyArn string
}

func (in *PolicyArnInput) check(c *checks) { c.req("policyArn", in.PolicyArn, 20, 2048, "") }

// GetPolicy returns a managed policy, AWS or customer.
func (s *Service) GetPolicy(ctx context.Context, in *PolicyArnInput) (*PolicyOutput, error) {
	if err := s.validate("GetPolicy", in.check); err != nil {
		return nil, err
	}
	a, err := checkPolicyArn(in.PolicyArn)
	if err != nil {
		return nil, err
	}
	notFound := noSuchEntity("Policy %s was not found.", in.PolicyArn)
	if a.Account == "aws" {
		mp, ok := s.managed.lookup(in.PolicyArn)
		if !ok {
			return nil, notFound
		}
		counts, err := s.db.AttachmentCounts(ctx)
		if err != nil {
			return nil, err
		}
		return &PolicyOutput{Policy: s.awsPolicy(mp, counts[mp.arn], true)}, nil
	}
	p, err := s.db.Policy(ctx, in.PolicyArn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	return &PolicyOutput{Policy: s.customerPolicy(p, true)}, nil
}

// DeletePolicy deletes a customer managed policy that is attached nowhere
// and has no versions but its default one.
func (s *Service) DeletePolicy(ctx context.Context, in *PolicyArnInput) (*struct{}, error) {
	if err := s.validate("DeletePolicy", in.check); err != nil {
		return nil, err
	}
	a, err := checkPolicyArn(in.PolicyArn)
	if err != nil {
		return nil, err
	}
	if a.Account != s.names.Account {
		return nil, withStatus(http.StatusForbidden, "AccessDenied", "Cannot delete policies outside your own account.")
	}
	err = s.db.DeletePolicy(ctx, in.PolicyArn)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, noSuchEntity("Policy %s was not found.", in.PolicyArn)
	case errors.Is(err, store.ErrPolicyAttached):
		return nil, deleteConflict("Cannot delete a policy attached to entities.")
	case errors.Is(err, store.ErrPolicyVersions):
		return nil, deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	case err != nil:
		return nil, fmt.Errorf("delete policy %s: %w", in.PolicyArn, err)
	}
	return &struct{}{}, nil
}

// ListPoliciesInput is the input of ListPolicies.
type ListPoliciesInput struct {
	Scope             string
	OnlyAttached      bool
	PathPrefix        *string
	PolicyUsageFilter string
	Marker            *string
	MaxItems          *int32
}

// ListPoliciesOutput is the output of ListPolicies.
type ListPoliciesOutput struct {
	Policies    members[Policy]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ListPolicies lists customer managed policies (Scope Local), the AWS
// managed catalogue (Scope AWS) or both, customer ones first.
func (s *Service) ListPolicies(ctx context.Context, in *ListPoliciesInput) (*ListPoliciesOutput, error) {
	err := s.validate("ListPolicies", func(c *checks) {
		c.enum("scope", in.Scope, "All", "AWS", "Local")
		c.str("pathPrefix", in.PathPrefix, false, 1, 512, policyPathPattern)
		c.enum("policyUsageFilter", in.PolicyUsageFilter, "PermissionsPolicy", "PermissionsBoundary")
		c.paging(in.Marker, in.MaxItems)
	})
	if err != nil {
		return nil, err
	}
	counts, err := s.db.AttachmentCounts(ctx)
	if err != nil {
		return nil, err
	}
	var all []Policy
	if in.Scope != "AWS" {
		local, err := s.db.Policies(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range local {
			pol := s.customerPolicy(p, false)
			pol.Tags = nil
			all = append(all, pol)
		}
	}
	if in.Scope != "Local" {
		for _, arn := range s.managed.arns {
			mp, _ := s.managed.lookup(arn)
			all = append(all, s.awsPolicy(mp, counts[arn], false))
		}
	}
	// Permissions boundaries are not supported, so no policy is used as one.
	boundaryOnly := in.PolicyUsageFilter == "PermissionsBoundary"
	var items []Policy
	for _, p := range all {
		if in.PathPrefix != nil && !strings.HasPrefix(p.Path, *in.PathPrefix) || in.OnlyAttached && p.AttachmentCount == 0 || boundaryOnly {
			continue
		}
		items = append(items, p)
	}
	pg, next, err := page(items, func(p Policy) string { return p.Arn }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListPoliciesOutput{Policies: list(append([]Policy{}, pg...)), IsTruncated: next != "", Marker: next}, nil
}

// CreatePolicyVersionInput is the input of CreatePolicyVersion.
type CreatePolicyVersionInput struct {
	PolicyArn      string
	PolicyDocument string
	SetAsDefault   bool
}

// PolicyVersionOutput is the output of CreatePolicyVersion and
// GetPolicyVersion.
type PolicyVersionOutput struct {
	PolicyVersion PolicyVersion
}

// CreatePolicyVersion adds a version to a customer managed policy.
func (s *Service) CreatePolicyVersion(ctx context.Context, in *CreatePolicyVersionInput) (*PolicyVersionOutput, error) {
	err := s.validate("CreatePolicyVersion", func(c *checks) {
		c.req("policyArn", in.PolicyArn, 20, 2048, "")
		c.req("policyDocument", in.PolicyDocument, 1, 131072, documentPattern)
	})
	if err != nil {
		return nil, err
	}
	if _, err := checkPolicyArn(in.PolicyArn); err != nil {
		return nil, err
	}
	if _, err := parseIdentity(in.PolicyDocument); err != nil {
		return nil, err
	}
	if policy.Size([]byte(in.PolicyDocument)) > maxManagedSize {
		return nil, limitExceeded("Cannot exceed quota for PolicySize: %d", maxManagedSize)
	}
	v, err := s.db.CreatePolicyVersion(ctx, in.PolicyArn, in.PolicyDocument, in.SetAsDefault, maxPolicyVersions, s.stamp())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, noSuchEntity("Policy %s was not found.", in.PolicyArn)
	case errors.Is(err, store.ErrLimit):
		return nil, limitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)
	case err != nil:
		return nil, err
	}
	return &PolicyVersionOutput{PolicyVersion: PolicyVersion{VersionId: versionID(v.Version), IsDefaultVersion: v.Default, CreateDate: isoTime(v.Created)}}, nil
}

// PolicyVersionInput names a version of a managed policy.
type PolicyVersionInput struct {
	PolicyArn string
	VersionId string
}

func (in *PolicyVersionInput) check(c *checks) {
	c.req("policyArn", in.PolicyArn, 20, 2048, "")
	c.req("versionId", in.VersionId, 0, 0, versionPattern)
}

// GetPolicyVersion returns a version of a managed policy with its
// document, URL-encoded. Of AWS managed policies only the current default
// version is known.
func (s *Service) GetPolicyVersion(ctx context.Context, in *PolicyVersionInput) (*PolicyVersionOutput, error) {
	if err := s.validate("GetPolicyVersion", in.check); err != nil {
		return nil, err
	}
	a, err := checkPolicyArn(in.PolicyArn)
	if err != nil {
		return nil, err
	}
	notFound := noSuchEntity("Policy %s version %s does not exist or is not attachable.", in.PolicyArn, in.VersionId)
	if a.Account == "aws" {
		mp, ok := s.managed.lookup(in.PolicyArn)
		if !ok || in.VersionId != mp.DefaultVersionID {
			return nil, notFound
		}
		return &PolicyVersionOutput{PolicyVersion: PolicyVersion{
			Document: encodeDocument(mp.doc), VersionId: mp.DefaultVersionID, IsDefaultVersion: true, CreateDate: isoTime(mp.UpdateDate),
		}}, nil
	}
	n := parseVersionID(in.VersionId)
	if n == 0 {
		return nil, notFound
	}
	v, err := s.db.PolicyVersion(ctx, in.PolicyArn, n)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	return &PolicyVersionOutput{PolicyVersion: PolicyVersion{
		Document: encodeDocument(v.Document), VersionId: versionID(v.Version), IsDefaultVersion: v.Default, CreateDate: isoTime(v.Created),
	}}, nil
}

// ListPolicyVersionsInput is the input of ListPolicyVersions.
type ListPolicyVersionsInput struct {
	PolicyArn string
	Marker    *string
	MaxItems  *int32
}

// ListPolicyVersionsOutput is the output of ListPolicyVersions.
type ListPolicyVersionsOutput struct {
	Versions    members[PolicyVersion]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ListPolicyVersions lists the versions of a managed policy, newest first.
func (s *Service) ListPolicyVersions(ctx context.Context, in *ListPolicyVersionsInput) (*ListPolicyVersionsOutput, error) {
	err := s.validate("ListPolicyVersions", func(c *checks) {
		c.req("policyArn", in.PolicyArn, 20, 2048, "")
		c.paging(in.Marker, in.MaxItems)
	})
	if err != nil {
		return nil, err
	}
	a, err := checkPolicyArn(in.PolicyArn)
	if err != nil {
		return nil, err
	}
	notFound := noSuchEntity("Policy %s was not found.", in.PolicyArn)
	var versions []PolicyVersion
	if a.Account == "aws" {
		mp, ok := s.managed.lookup(in.PolicyArn)
		if !ok {
			return nil, notFound
		}
		versions = []PolicyVersion{{VersionId: mp.DefaultVersionID, IsDefaultVersion: true, CreateDate: isoTime(mp.UpdateDate)}}
	} else {
		vs, err := s.db.PolicyVersions(ctx, in.PolicyArn)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound
		}
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			versions = append(versions, PolicyVersion{VersionId: versionID(v.Version), IsDefaultVersion: v.Default, CreateDate: isoTime(v.Created)})
		}
	}
	pg, next, err := page(versions, func(v PolicyVersion) string { return v.VersionId }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListPolicyVersionsOutput{Versions: list(append([]PolicyVersion{}, pg...)), IsTruncated: next != "", Marker: next}, nil
}

// DeletePolicyVersion deletes a version that is not the default.
func (s *Service) DeletePolicyVersion(ctx context.Context, in *PolicyVersionInput) (*struct{}, error) {
	if err := s.validate("DeletePolicyVersion", in.check); err != nil {
		return nil, err
	}
	a, err := checkPolicyArn(in.PolicyArn)
	if err != nil {
		return nil, err
	}
	if a.Account != s.names.Account {
		return nil, withStatus(http.StatusForbidden, "AccessDenied", "Cannot delete policy versions for policies outside your own account.")
	}
	notFound := noSuchEntity("Policy %s version %s does not exist or is not attachable.", in.PolicyArn, in.VersionId)
	n := parseVersionID(in.VersionId)
	if n == 0 {
		return nil, notFound
	}
	err = s.db.DeletePolicyVersion(ctx, in.PolicyArn, n)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFound
	case errors.Is(err, store.ErrDefaultVersion):
		return nil, deleteConflict("Cannot delete the default version of a policy.")
	case err != nil:
		return nil, fmt.Errorf("delete version %s of %s: %w", in.VersionId, in.PolicyArn, err)
	}
	return &struct{}{}, nil
}

// SetDefaultPolicyVersion makes a version the default.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, in *PolicyVersionInput) (*struct{}, error) {
	if err := s.validate("SetDefaultPolicyVersion", in.check); err != nil {
		return nil, err
	}
	a, err := checkPolicyArn(in.PolicyArn)
	if err != nil {
		return nil, err
	}
	if a.Account != s.names.Account {
		return nil, withStatus(http.StatusForbidden, "AccessDenied", "Cannot update policies outside your own account.")
	}
	notFound := noSuchEntity("Policy %s version %s does not exist or is not attachable.", in.PolicyArn, in.VersionId)
	n := parseVersionID(in.VersionId)
	if n == 0 {
		return nil, notFound
	}
	err = s.db.SetDefaultPolicyVersion(ctx, in.PolicyArn, n, s.stamp())
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("set default version %s of %s: %w", in.VersionId, in.PolicyArn, err)
	}
	return &struct{}{}, nil
}
