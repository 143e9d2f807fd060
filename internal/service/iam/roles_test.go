package iam_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/hangarci/hangar/internal/service/iam/iamtest"
	"github.com/hangarci/hangar/internal/store"
)

const codebuildTrust = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {"Service": "codebuild.amazonaws.com"},
      "Action": "sts:AssumeRole"
    }
  ]
}`

// defaultPolicy is the DefaultPolicy bootstrap puts on the build role.
const defaultPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:*","s3:*","ssm:*","sts:GetServiceBearerToken"],"Resource":"*"}]}`

// wantErr checks that err is the AWS error code with exactly message msg
// (a prefix when msg ends in "…") and HTTP status.
func wantErr(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v; want %s", err, code)
	}
	got := ae.ErrorMessage()
	ok := got == msg
	if p, cut := strings.CutSuffix(msg, "…"); cut {
		ok = strings.HasPrefix(got, p)
	}
	if ae.ErrorCode() != code || !ok {
		t.Fatalf("err = %s: %q; want %s: %q", ae.ErrorCode(), got, code, msg)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Fatalf("err %v: want HTTP %d", err, status)
	}
}

func decode(t *testing.T, s *string) string {
	t.Helper()
	d, err := url.QueryUnescape(aws.ToString(s))
	if err != nil {
		t.Fatalf("document %q is not URL-encoded: %v", aws.ToString(s), err)
	}
	return d
}

func createRole(t *testing.T, c *awsiam.Client, name string) *types.Role {
	t.Helper()
	out, err := c.CreateRole(context.Background(), &awsiam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(codebuildTrust)})
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	return out.Role
}

func TestRoleLifecycle(t *testing.T) {
	ctx := context.Background()
	e := iamtest.New(t, iamtest.Options{})
	c := e.AdminIAM()

	out, err := c.CreateRole(ctx, &awsiam.CreateRoleInput{
		RoleName: aws.String("dev-codebuild-role"), AssumeRolePolicyDocument: aws.String(codebuildTrust),
		Description: aws.String("Hangar build role"), Tags: []types.Tag{{Key: aws.String("ns"), Value: aws.String("dev")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Role
	if aws.ToString(r.Arn) != "arn:aws:iam::000000000000:role/dev-codebuild-role" || aws.ToString(r.Path) != "/" ||
		!strings.HasPrefix(aws.ToString(r.RoleId), "AROA") || len(aws.ToString(r.RoleId)) != 21 || r.CreateDate == nil ||
		len(r.Tags) != 1 || decode(t, r.AssumeRolePolicyDocument) != codebuildTrust {
		t.Fatalf("created role = %+v", r)
	}

	// Role names are unique without regard to case.
	for _, name := range []string{"dev-codebuild-role", "DEV-CODEBUILD-ROLE"} {
		_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(codebuildTrust)})
		wantErr(t, err, "EntityAlreadyExists", 409, "Role with name "+name+" already exists.")
	}
	var exists *types.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("the SDK does not see EntityAlreadyExistsException: %T", err)
	}

	pathOut, err := c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("deep"), Path: aws.String("/ci/builds/"),
		AssumeRolePolicyDocument: aws.String(codebuildTrust), MaxSessionDuration: aws.Int32(7200)})
	if err != nil || aws.ToString(pathOut.Role.Arn) != "arn:aws:iam::000000000000:role/ci/builds/deep" {
		t.Fatalf("role with a path = %+v, %v", pathOut, err)
	}

	bad := []struct {
		doc, code, msg string
		status         int
	}{
		{"not json", "MalformedPolicyDocument", "This policy contains invalid Json", 400},
		{`{"Version":"2012-10-17","Statement":[]}`, "MalformedPolicyDocument", "Syntax errors in policy.", 400},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}}`,
			"MalformedPolicyDocument", "Has prohibited field Resource", 400},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"s3:GetObject"}}`,
			"MalformedPolicyDocument", "AssumeRole policy may only specify STS AssumeRole actions.", 400},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`,
			"MalformedPolicyDocument", "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!", 400},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/missing"},"Action":"sts:AssumeRole"}}`,
			"MalformedPolicyDocument", `Invalid principal in policy: "AWS":"arn:aws:iam::000000000000:role/missing"`, 400},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"codebuild"},"Action":"sts:AssumeRole"}}`,
			"MalformedPolicyDocument", `Invalid principal in policy: "SERVICE":"codebuild"`, 400},
		{`{"Version":"2012-10-17","Statement":[` + strings.Repeat(`{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"},`, 30) +
			`{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
			"LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048", 409},
	}
	for _, b := range bad {
		_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("bad"), AssumeRolePolicyDocument: aws.String(b.doc)})
		wantErr(t, err, b.code, b.status, b.msg)
	}
	var mal *types.MalformedPolicyDocumentException
	_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("bad"), AssumeRolePolicyDocument: aws.String("{")})
	if !errors.As(err, &mal) {
		t.Fatalf("the SDK does not see MalformedPolicyDocumentException: %T", err)
	}
	// The model's own checks come first, with IAM's validation messages.
	_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("bad name"), AssumeRolePolicyDocument: aws.String(codebuildTrust)})
	wantErr(t, err, "ValidationError", 400, `1 validation error detected: Value 'bad name' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(codebuildTrust),
		Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("A"), Value: aws.String("2")}}})
	wantErr(t, err, "InvalidInput", 400, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
	_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(codebuildTrust),
		PermissionsBoundary: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	wantErr(t, err, "InvalidInput", 400, "Permissions boundaries are not supported by this runner.")

	got, err := c.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("dev-codebuild-role")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Role.Description) != "Hangar build role" || aws.ToInt32(got.Role.MaxSessionDuration) != 3600 ||
		got.Role.RoleLastUsed == nil || len(got.Role.Tags) != 1 || aws.ToString(got.Role.RoleId) != aws.ToString(r.RoleId) {
		t.Fatalf("get role = %+v", got.Role)
	}
	_, err = c.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("nope")})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name nope cannot be found.")
	var nse *types.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("the SDK does not see NoSuchEntityException: %T", err)
	}

	// UpdateRole and UpdateAssumeRolePolicy.
	if _, err := c.UpdateRole(ctx, &awsiam.UpdateRoleInput{RoleName: aws.String("dev-codebuild-role"),
		MaxSessionDuration: aws.Int32(14400), Description: aws.String("changed")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateRole(ctx, &awsiam.UpdateRoleInput{RoleName: aws.String("dev-codebuild-role"), MaxSessionDuration: aws.Int32(60)})
	wantErr(t, err, "ValidationError", 400, "1 validation error detected: Value '60' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600")
	_, err = c.UpdateRole(ctx, &awsiam.UpdateRoleInput{RoleName: aws.String("nope")})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name nope cannot be found.")
	newTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["codebuild.amazonaws.com","lambda.amazonaws.com"]},"Action":"sts:AssumeRole"}]}`
	if _, err := c.UpdateAssumeRolePolicy(ctx, &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String("dev-codebuild-role"), PolicyDocument: aws.String(newTrust)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateAssumeRolePolicy(ctx, &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String("dev-codebuild-role"), PolicyDocument: aws.String("[]")})
	wantErr(t, err, "MalformedPolicyDocument", 400, "Syntax errors in policy.")
	_, err = c.UpdateAssumeRolePolicy(ctx, &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String("nope"), PolicyDocument: aws.String(newTrust)})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name nope cannot be found.")
	got, _ = c.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("DEV-codebuild-role")})
	if aws.ToInt32(got.Role.MaxSessionDuration) != 14400 || aws.ToString(got.Role.Description) != "changed" || decode(t, got.Role.AssumeRolePolicyDocument) != newTrust ||
		aws.ToString(got.Role.RoleName) != "dev-codebuild-role" {
		t.Fatalf("updated role = %+v", got.Role)
	}
	desc, err := c.UpdateRoleDescription(ctx, &awsiam.UpdateRoleDescriptionInput{RoleName: aws.String("dev-codebuild-role"), Description: aws.String("d2")})
	if err != nil || aws.ToString(desc.Role.RoleName) != "dev-codebuild-role" {
		t.Fatalf("update description = %+v, %v", desc, err)
	}

	// Tags.
	if _, err := c.TagRole(ctx, &awsiam.TagRoleInput{RoleName: aws.String("dev-codebuild-role"), Tags: []types.Tag{
		{Key: aws.String("NS"), Value: aws.String("prod")}, {Key: aws.String("team"), Value: aws.String("ci")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagRole(ctx, &awsiam.UntagRoleInput{RoleName: aws.String("dev-codebuild-role"), TagKeys: []string{"team", "absent"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListRoleTags(ctx, &awsiam.ListRoleTagsInput{RoleName: aws.String("dev-codebuild-role")})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "NS" || aws.ToString(tags.Tags[0].Value) != "prod" || tags.IsTruncated {
		t.Fatalf("tags = %+v, %v", tags, err)
	}
	_, err = c.ListRoleTags(ctx, &awsiam.ListRoleTagsInput{RoleName: aws.String("nope")})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name nope cannot be found.")

	// ListRoles: paging and path filter.
	createRole(t, c, "a-role")
	var names []string
	p := awsiam.NewListRolesPaginator(c, &awsiam.ListRolesInput{MaxItems: aws.Int32(1)})
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(pg.Roles) != 1 {
			t.Fatalf("page of %d roles", len(pg.Roles))
		}
		names = append(names, aws.ToString(pg.Roles[0].RoleName))
		if pg.Roles[0].Tags != nil || pg.Roles[0].AssumeRolePolicyDocument == nil {
			t.Fatalf("listed role = %+v", pg.Roles[0])
		}
	}
	if fmt.Sprint(names) != "[a-role deep dev-codebuild-role]" {
		t.Fatalf("listed %v", names)
	}
	ci, err := c.ListRoles(ctx, &awsiam.ListRolesInput{PathPrefix: aws.String("/ci/")})
	if err != nil || len(ci.Roles) != 1 || aws.ToString(ci.Roles[0].RoleName) != "deep" || ci.IsTruncated {
		t.Fatalf("roles under /ci/ = %+v, %v", ci, err)
	}
	_, err = c.ListRoles(ctx, &awsiam.ListRolesInput{Marker: aws.String("!!not-a-marker")})
	wantErr(t, err, "ValidationError", 400, "Invalid Marker.")

	_, err = c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("nope")})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name nope cannot be found.")
	if _, err := c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("a-role")}); err != nil {
		t.Fatal(err)
	}
}

func TestRolePolicies(t *testing.T) {
	ctx := context.Background()
	e := iamtest.New(t, iamtest.Options{})
	c := e.AdminIAM()
	role := createRole(t, c, "dev-codebuild-role")
	name := aws.String("dev-codebuild-role")

	vpc := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ec2:*\", \"Resource\": \"*\"}\n}"
	for _, p := range []struct{ name, doc string }{{"DefaultPolicy", defaultPolicy}, {"VpcPolicy", vpc}, {"CustomPolicy", defaultPolicy}} {
		if _, err := c.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: name, PolicyName: aws.String(p.name), PolicyDocument: aws.String(p.doc)}); err != nil {
			t.Fatalf("put %s: %v", p.name, err)
		}
	}
	// Putting it again replaces it.
	custom := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	if _, err := c.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: name, PolicyName: aws.String("CustomPolicy"), PolicyDocument: aws.String(custom)}); err != nil {
		t.Fatal(err)
	}
	gp, err := c.GetRolePolicy(ctx, &awsiam.GetRolePolicyInput{RoleName: name, PolicyName: aws.String("VpcPolicy")})
	if err != nil || aws.ToString(gp.RoleName) != "dev-codebuild-role" || aws.ToString(gp.PolicyName) != "VpcPolicy" {
		t.Fatalf("get = %+v, %v", gp, err)
	}
	// Verbatim (whitespace and all), URL-encoded as IAM sends it.
	if decode(t, gp.PolicyDocument) != vpc || strings.ContainsAny(aws.ToString(gp.PolicyDocument), "{\" \n") {
		t.Fatalf("document = %q", aws.ToString(gp.PolicyDocument))
	}
	lp, err := c.ListRolePolicies(ctx, &awsiam.ListRolePoliciesInput{RoleName: name})
	if err != nil || fmt.Sprint(lp.PolicyNames) != "[CustomPolicy DefaultPolicy VpcPolicy]" || lp.IsTruncated {
		t.Fatalf("list = %+v, %v", lp, err)
	}
	var pages [][]string
	pager := awsiam.NewListRolePoliciesPaginator(c, &awsiam.ListRolePoliciesInput{RoleName: name, MaxItems: aws.Int32(2)})
	for pager.HasMorePages() {
		pg, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, pg.PolicyNames)
	}
	if fmt.Sprint(pages) != "[[CustomPolicy DefaultPolicy] [VpcPolicy]]" {
		t.Fatalf("pages = %v", pages)
	}

	_, err = c.GetRolePolicy(ctx, &awsiam.GetRolePolicyInput{RoleName: name, PolicyName: aws.String("Missing")})
	wantErr(t, err, "NoSuchEntity", 404, "The role policy with name Missing cannot be found.")
	_, err = c.GetRolePolicy(ctx, &awsiam.GetRolePolicyInput{RoleName: aws.String("nope"), PolicyName: aws.String("DefaultPolicy")})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name nope cannot be found.")
	_, err = c.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String("nope"), PolicyName: aws.String("p"), PolicyDocument: aws.String(defaultPolicy)})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name nope cannot be found.")
	for _, b := range []struct{ doc, msg string }{
		{"{", "This policy contains invalid Json"},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*"}}`, "Policy statement must contain resources."},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"*"}}`, "Policy statement must contain actions."},
		{`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, "Policy document must be version 2012-10-17 or greater."},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}`, "Policy document should not specify a principal."},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3","Resource":"*"}}`, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
	} {
		_, err = c.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: name, PolicyName: aws.String("bad"), PolicyDocument: aws.String(b.doc)})
		wantErr(t, err, "MalformedPolicyDocument", 400, b.msg)
	}
	// IAM counts a role's inline policies together: 10,240 characters
	// without whitespace.
	big := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::` + strings.Repeat("b", 10100) + `"]}}`
	_, err = c.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: name, PolicyName: aws.String("Big"), PolicyDocument: aws.String(big)})
	wantErr(t, err, "LimitExceeded", 409, "Maximum policy size of 10240 bytes exceeded for role dev-codebuild-role")
	var lim *types.LimitExceededException
	if !errors.As(err, &lim) {
		t.Fatalf("the SDK does not see LimitExceededException: %T", err)
	}

	// Managed policies.
	for _, arn := range []string{"arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess", "arn:aws:iam::aws:policy/AWSCertificateManagerReadOnly"} {
		for i := 0; i < 2; i++ { // attaching twice changes nothing
			if _, err := c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: name, PolicyArn: aws.String(arn)}); err != nil {
				t.Fatalf("attach %s: %v", arn, err)
			}
		}
	}
	la, err := c.ListAttachedRolePolicies(ctx, &awsiam.ListAttachedRolePoliciesInput{RoleName: name})
	if err != nil || len(la.AttachedPolicies) != 2 || aws.ToString(la.AttachedPolicies[0].PolicyName) != "AmazonSSMReadOnlyAccess" ||
		aws.ToString(la.AttachedPolicies[1].PolicyArn) != "arn:aws:iam::aws:policy/AWSCertificateManagerReadOnly" {
		t.Fatalf("attached = %+v, %v", la, err)
	}
	_, err = c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: name, PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")})
	wantErr(t, err, "NoSuchEntity", 404, "Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable.")
	_, err = c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: name, PolicyArn: aws.String("arn:aws:iam::000000000000:policy/missing")})
	wantErr(t, err, "NoSuchEntity", 404, "Policy arn:aws:iam::000000000000:policy/missing does not exist or is not attachable.")
	_, err = c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: name, PolicyArn: aws.String("arn:aws:iam::123456789012:policy/theirs")})
	wantErr(t, err, "NoSuchEntity", 404, "Policy arn:aws:iam::123456789012:policy/theirs does not exist or is not attachable.")
	_, err = c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: name, PolicyArn: aws.String("arn:aws:iam:aws:policy/AdministratorAccess")})
	wantErr(t, err, "InvalidInput", 400, "ARN arn:aws:iam:aws:policy/AdministratorAccess is not valid.")
	var inv *types.InvalidInputException
	if !errors.As(err, &inv) {
		t.Fatalf("the SDK does not see InvalidInputException: %T", err)
	}
	_, err = c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("nope"), PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name nope cannot be found.")
	_, err = c.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: name, PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	wantErr(t, err, "NoSuchEntity", 404, "Policy arn:aws:iam::aws:policy/ReadOnlyAccess was not found.")
	_, err = c.ListAttachedRolePolicies(ctx, &awsiam.ListAttachedRolePoliciesInput{RoleName: aws.String("nope")})
	wantErr(t, err, "NoSuchEntity", 404, "The role with name nope cannot be found.")

	// The Go API for policy evaluation: every document that applies.
	docs, err := e.IAM.RolePolicies(ctx, aws.ToString(role.Arn))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range docs {
		got = append(got, d.Source.String()+":"+d.Name)
		if d.Policy == nil || len(d.Policy.Statements) == 0 {
			t.Fatalf("document %s is not parsed", d.Name)
		}
	}
	if fmt.Sprint(got) != "[inline:CustomPolicy inline:DefaultPolicy inline:VpcPolicy managed:AmazonSSMReadOnlyAccess managed:AWSCertificateManagerReadOnly]" {
		t.Fatalf("documents = %v", got)
	}
	ssm := docs[3]
	if ssm.PolicyArn != "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess" || ssm.VersionID != "v1" ||
		!ssm.Policy.Statements[0].MatchesAction("ssm:GetParameter") || ssm.Policy.Statements[0].MatchesAction("ssm:PutParameter") {
		t.Fatalf("managed document = %+v", ssm)
	}
	if docs[0].Text != custom {
		t.Fatalf("inline text = %q", docs[0].Text)
	}
	for _, ref := range []string{"dev-codebuild-role", "arn:aws:iam::000000000000:role/dev-codebuild-role"} {
		if d, err := e.IAM.RolePolicies(ctx, ref); err != nil || len(d) != 5 {
			t.Fatalf("policies of %s: %d, %v", ref, len(d), err)
		}
	}
	for _, ref := range []string{"nope", "arn:aws:iam::000000000000:role/ci/dev-codebuild-role", "arn:aws:iam::123456789012:role/dev-codebuild-role"} {
		if _, err := e.IAM.RolePolicies(ctx, ref); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("policies of %s: %v", ref, err)
		}
	}

	// DeleteRole refuses while policies remain, attached ones first.
	_, err = c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: name})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete entity, must detach all policies first.")
	var dc *types.DeleteConflictException
	if !errors.As(err, &dc) {
		t.Fatalf("the SDK does not see DeleteConflictException: %T", err)
	}
	for _, arn := range []string{"arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess", "arn:aws:iam::aws:policy/AWSCertificateManagerReadOnly"} {
		if _, err := c.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: name, PolicyArn: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: name})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
	for _, p := range []string{"DefaultPolicy", "CustomPolicy", "VpcPolicy"} {
		if _, err := c.DeleteRolePolicy(ctx, &awsiam.DeleteRolePolicyInput{RoleName: name, PolicyName: aws.String(p)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.DeleteRolePolicy(ctx, &awsiam.DeleteRolePolicyInput{RoleName: name, PolicyName: aws.String("VpcPolicy")})
	wantErr(t, err, "NoSuchEntity", 404, "The role policy with name VpcPolicy cannot be found.")
	if _, err := c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: name}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.IAM.RolePolicies(ctx, "dev-codebuild-role"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("policies of a deleted role: %v", err)
	}
}

func TestAttachLimit(t *testing.T) {
	ctx := context.Background()
	e := iamtest.New(t, iamtest.Options{})
	c := e.AdminIAM()
	createRole(t, c, "r")
	var arns []string
	for _, n := range []string{"AdministratorAccess", "ReadOnlyAccess", "AmazonSSMReadOnlyAccess", "AWSCertificateManagerReadOnly"} {
		arns = append(arns, "arn:aws:iam::aws:policy/"+n)
	}
	for i := 0; len(arns) < 11; i++ {
		out, err := c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String(fmt.Sprintf("p%d", i)), PolicyDocument: aws.String(defaultPolicy)})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, aws.ToString(out.Policy.Arn))
	}
	for i, arn := range arns {
		_, err := c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(arn)})
		if i < 10 && err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			wantErr(t, err, "LimitExceeded", 409, "Cannot exceed quota for PoliciesPerRole: 10")
		}
	}
}
