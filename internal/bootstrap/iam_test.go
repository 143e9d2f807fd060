package bootstrap

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/hangarci/hangar/internal/service/iam/iamtest"
)

// The role's reconciliation against the runner's real IAM service: what
// it returns (URL-encoded documents, tags, attached policies) must read
// back as converged.
func TestRoleWithIAMService(t *testing.T) {
	env := iamtest.New(t, iamtest.Options{})
	c := clients{iam: env.AdminIAM(), sts: env.AdminSTS()}
	ctx := context.Background()
	reconcile := func(d *Desired) []string {
		t.Helper()
		o := &Observed{Account: testAccount}
		if err := observeRole(ctx, c, d.Role.Name, o); err != nil {
			t.Fatal(err)
		}
		ch, err := roleChange(d, o)
		if err != nil {
			t.Fatal(err)
		}
		if ch == nil {
			return nil
		}
		if err := ch.apply(ctx, &applier{c: c, hangar: true}); err != nil {
			t.Fatal(err)
		}
		return append([]string{ch.String()}, ch.Details...)
	}

	d1 := desired(t, "project: demo\ncodebuild:\n  iam:\n    policy: [s3]\n")
	if got := reconcile(d1); len(got) == 0 || got[0] != "+ create role demo-dev-codebuild-role" {
		t.Fatalf("first run %q", got)
	}
	if got := reconcile(d1); got != nil {
		t.Fatalf("second run changed %q", got)
	}
	role, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("demo-dev-codebuild-role")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(policyText(aws.ToString(role.Role.AssumeRolePolicyDocument)), "codebuild.amazonaws.com") {
		t.Errorf("trust %s", aws.ToString(role.Role.AssumeRolePolicyDocument))
	}

	d2 := desired(t, `
project: demo
codebuild:
  iam:
    default_vpc_policy: []
    managed_policy: [ReadOnlyAccess]
    default_managed_policy: [AmazonSSMReadOnlyAccess]
  project:
    env:
      vars:
        TOKEN: "SECRET:ci/token"
`)
	got := reconcile(d2)
	for _, want := range []string{
		"~ update role demo-dev-codebuild-role",
		"- inline policy CustomPolicy: Allow s3:* on *",
		"- inline policy VpcPolicy: Allow ec2:* on *",
		"+ inline policy SecretsPolicy: Allow secretsmanager:GetSecretValue, kms:Decrypt on *",
		"+ managed policy arn:aws:iam::aws:policy/ReadOnlyAccess",
		"- managed policy arn:aws:iam::aws:policy/AWSCertificateManagerReadOnly",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("update %q lacks %q", got, want)
		}
	}
	if got := reconcile(d2); got != nil {
		t.Fatalf("run after the update changed %q", got)
	}
	names, err := c.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("demo-dev-codebuild-role")})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Sort(names.PolicyNames); !slices.Equal(names.PolicyNames, []string{"DefaultPolicy", "SecretsPolicy"}) {
		t.Errorf("inline policies %v", names.PolicyNames)
	}

	id, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != testAccount {
		t.Errorf("account %v, %v", id, err)
	}

	// A role of that name hangar did not make is refused.
	_, err = c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("other-dev-codebuild-role"), AssumeRolePolicyDocument: aws.String(codebuildTrust)})
	if err != nil {
		t.Fatal(err)
	}
	d3 := desired(t, "project: other\n")
	o := &Observed{Account: testAccount}
	if err := observeRole(ctx, c, d3.Role.Name, o); err != nil {
		t.Fatal(err)
	}
	if _, err := roleChange(d3, o); err == nil || !strings.Contains(err.Error(), "not made by hangar") {
		t.Errorf("foreign role: %v", err)
	}
}
