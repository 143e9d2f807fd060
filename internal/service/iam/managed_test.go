package iam_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/hangarci/hangar/internal/policy"
	"github.com/hangarci/hangar/internal/service/iam/iamtest"
)

func TestManagedCatalogue(t *testing.T) {
	ctx := context.Background()
	e := iamtest.New(t, iamtest.Options{})
	c := e.AdminIAM()
	createRole(t, c, "r")
	ssm := "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"
	if _, err := c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(ssm)}); err != nil {
		t.Fatal(err)
	}

	want := map[string]struct {
		id, version string
		allows      string // an action the document allows
	}{
		"AdministratorAccess":           {"ANPAIWMBCKSKIEE64ZLYK", "v1", "iam:CreateRole"},
		"ReadOnlyAccess":                {"ANPAILL3HVNFSB6DCOWYQ", "v178", "codebuild:BatchGetBuilds"},
		"AmazonSSMReadOnlyAccess":       {"ANPAJODSKQGGJTHRYZ5FC", "v1", "ssm:GetParametersByPath"},
		"AWSCertificateManagerReadOnly": {"ANPAI4GSWX6S4MESJ3EWC", "v4", "acm:GetCertificate"},
	}
	for name, w := range want {
		arn := "arn:aws:iam::aws:policy/" + name
		gp, err := c.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		p := gp.Policy
		if aws.ToString(p.PolicyId) != w.id || aws.ToString(p.DefaultVersionId) != w.version || aws.ToString(p.Arn) != arn ||
			!p.IsAttachable || aws.ToString(p.Path) != "/" || aws.ToString(p.Description) == "" || p.CreateDate == nil {
			t.Fatalf("policy %s = %+v", name, p)
		}
		if n := aws.ToInt32(p.AttachmentCount); (name == "AmazonSSMReadOnlyAccess") != (n == 1) {
			t.Fatalf("%s attachment count %d", name, n)
		}
		gv, err := c.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String(w.version)})
		if err != nil {
			t.Fatalf("get version of %s: %v", name, err)
		}
		doc := decode(t, gv.PolicyVersion.Document)
		if !json.Valid([]byte(doc)) || !gv.PolicyVersion.IsDefaultVersion {
			t.Fatalf("%s document %q", name, doc)
		}
		parsed, err := policy.ParseKind([]byte(doc), policy.Identity)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		allowed := false
		for _, s := range parsed.Statements {
			allowed = allowed || s.Effect == policy.Allow && s.MatchesAction(w.allows)
		}
		if !allowed {
			t.Fatalf("%s does not allow %s", name, w.allows)
		}
	}
	// ReadOnlyAccess reads but does not write, nor read secrets.
	ro, _ := e.IAM.ManagedPolicy(ctx, "arn:aws:iam::aws:policy/ReadOnlyAccess")
	for _, a := range []string{"ssm:PutParameter", "secretsmanager:GetSecretValue", "codebuild:StartBuild", "s3:PutObject"} {
		for _, s := range ro.Policy.Statements {
			if s.MatchesAction(a) {
				t.Fatalf("ReadOnlyAccess allows %s", a)
			}
		}
	}

	_, err := c.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")})
	wantErr(t, err, "NoSuchEntity", 404, "Policy arn:aws:iam::aws:policy/NoSuchPolicy was not found.")
	_, err = c.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: aws.String("not-an-arn-at-all-really")})
	wantErr(t, err, "InvalidInput", 400, "ARN not-an-arn-at-all-really is not valid.")
	_, err = c.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: aws.String(ssm), VersionId: aws.String("v2")})
	wantErr(t, err, "NoSuchEntity", 404, "Policy "+ssm+" version v2 does not exist or is not attachable.")
	_, err = c.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: aws.String(ssm), VersionId: aws.String("2")})
	wantErr(t, err, "ValidationError", 400, `1 validation error detected: Value '2' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`)
	_, err = c.DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: aws.String(ssm)})
	wantErr(t, err, "AccessDenied", 403, "Cannot delete policies outside your own account.")
	lv, err := c.ListPolicyVersions(ctx, &awsiam.ListPolicyVersionsInput{PolicyArn: aws.String(ssm)})
	if err != nil || len(lv.Versions) != 1 || aws.ToString(lv.Versions[0].VersionId) != "v1" {
		t.Fatalf("versions of %s = %+v, %v", ssm, lv, err)
	}

	awsNames := awsPolicies(t, c, types.PolicyScopeTypeAws, false)
	if fmt.Sprint(awsNames) != "[AWSCertificateManagerReadOnly AdministratorAccess AmazonSSMReadOnlyAccess ReadOnlyAccess]" {
		t.Fatalf("AWS scope lists %v", awsNames)
	}
	if got := awsPolicies(t, c, types.PolicyScopeTypeAll, true); fmt.Sprint(got) != "[AmazonSSMReadOnlyAccess]" {
		t.Fatalf("attached only lists %v", got)
	}
}

// awsPolicies lists policy names through the paginator, a page at a time.
func awsPolicies(t *testing.T, c *awsiam.Client, scope types.PolicyScopeType, onlyAttached bool) []string {
	t.Helper()
	var names []string
	p := awsiam.NewListPoliciesPaginator(c, &awsiam.ListPoliciesInput{Scope: scope, OnlyAttached: onlyAttached, MaxItems: aws.Int32(1)})
	for p.HasMorePages() {
		pg, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, pol := range pg.Policies {
			names = append(names, aws.ToString(pol.PolicyName))
		}
	}
	return names
}

func TestCustomerPolicies(t *testing.T) {
	ctx := context.Background()
	e := iamtest.New(t, iamtest.Options{})
	c := e.AdminIAM()
	out, err := c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("build-extra"), Path: aws.String("/hangar/"),
		PolicyDocument: aws.String(defaultPolicy), Description: aws.String("extra"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	p := out.Policy
	arn := aws.ToString(p.Arn)
	if arn != "arn:aws:iam::000000000000:policy/hangar/build-extra" || !strings.HasPrefix(aws.ToString(p.PolicyId), "ANPA") ||
		len(aws.ToString(p.PolicyId)) != 21 || aws.ToString(p.DefaultVersionId) != "v1" || p.Description != nil || len(p.Tags) != 1 {
		t.Fatalf("created policy = %+v", p)
	}
	_, err = c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("BUILD-extra"), PolicyDocument: aws.String(defaultPolicy)})
	wantErr(t, err, "EntityAlreadyExists", 409, "A policy called BUILD-extra already exists. Duplicate names are not allowed.")
	_, err = c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("x"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}}`)})
	wantErr(t, err, "MalformedPolicyDocument", 400, `Resource bucket must be in ARN format or "*".`)
	big := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", 6100) + `"}}`
	_, err = c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("x"), PolicyDocument: aws.String(big)})
	wantErr(t, err, "LimitExceeded", 409, "Cannot exceed quota for PolicySize: 6144")
	_, err = c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("bad name"), PolicyDocument: aws.String(defaultPolicy)})
	wantErr(t, err, "ValidationError", 400, `1 validation error detected: Value 'bad name' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	_, err = c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("x"), Path: aws.String("nope"), PolicyDocument: aws.String(defaultPolicy)})
	wantErr(t, err, "ValidationError", 400, "1 validation error detected: Value 'nope' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/")

	gp, err := c.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil || aws.ToString(gp.Policy.Description) != "extra" || aws.ToInt32(gp.Policy.AttachmentCount) != 0 {
		t.Fatalf("get = %+v, %v", gp, err)
	}
	_, err = c.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::000000000000:policy/missing")})
	wantErr(t, err, "NoSuchEntity", 404, "Policy arn:aws:iam::000000000000:policy/missing was not found.")

	// Versions: at most five; the default cannot be deleted.
	v2 := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"*"}}`
	for i := 2; i <= 5; i++ {
		v, err := c.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(v2), SetAsDefault: i == 2})
		if err != nil || aws.ToString(v.PolicyVersion.VersionId) != fmt.Sprintf("v%d", i) || v.PolicyVersion.IsDefaultVersion != (i == 2) {
			t.Fatalf("version %d = %+v, %v", i, v, err)
		}
	}
	_, err = c.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(v2)})
	wantErr(t, err, "LimitExceeded", 409, "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
	_, err = c.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: aws.String("arn:aws:iam::000000000000:policy/missing"), PolicyDocument: aws.String(v2)})
	wantErr(t, err, "NoSuchEntity", 404, "Policy arn:aws:iam::000000000000:policy/missing was not found.")
	gv, err := c.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v2")})
	if err != nil || decode(t, gv.PolicyVersion.Document) != v2 || !gv.PolicyVersion.IsDefaultVersion {
		t.Fatalf("v2 = %+v, %v", gv, err)
	}
	_, err = c.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v9")})
	wantErr(t, err, "NoSuchEntity", 404, "Policy "+arn+" version v9 does not exist or is not attachable.")
	_, err = c.DeletePolicyVersion(ctx, &awsiam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v2")})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete the default version of a policy.")
	lv, err := c.ListPolicyVersions(ctx, &awsiam.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
	if err != nil || len(lv.Versions) != 5 || aws.ToString(lv.Versions[0].VersionId) != "v5" || !lv.Versions[3].IsDefaultVersion {
		t.Fatalf("versions = %+v, %v", lv, err)
	}

	// The role sees the default version; deletion needs it detached and
	// only one version left.
	createRole(t, c, "r")
	if _, err := c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	docs, err := e.IAM.RolePolicies(ctx, "r")
	if err != nil || len(docs) != 1 || docs[0].Text != v2 || docs[0].VersionID != "v2" || docs[0].Name != "build-extra" {
		t.Fatalf("role documents = %+v, %v", docs, err)
	}
	local := awsPolicies(t, c, types.PolicyScopeTypeLocal, false)
	if fmt.Sprint(local) != "[build-extra]" {
		t.Fatalf("local policies %v", local)
	}
	if all := awsPolicies(t, c, types.PolicyScopeTypeAll, false); len(all) != 5 || all[0] != "build-extra" {
		t.Fatalf("all policies %v", all)
	}
	_, err = c.DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: aws.String(arn)})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete a policy attached to entities.")
	if _, err := c.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: aws.String(arn)})
	wantErr(t, err, "DeleteConflict", 409, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	if _, err := c.SetDefaultPolicyVersion(ctx, &awsiam.SetDefaultPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v5")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetDefaultPolicyVersion(ctx, &awsiam.SetDefaultPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v7")})
	wantErr(t, err, "NoSuchEntity", 404, "Policy "+arn+" version v7 does not exist or is not attachable.")
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		if _, err := c.DeletePolicyVersion(ctx, &awsiam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String(v)}); err != nil {
			t.Fatalf("delete %s: %v", v, err)
		}
	}
	if _, err := c.DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: aws.String(arn)})
	wantErr(t, err, "NoSuchEntity", 404, "Policy "+arn+" was not found.")
}
