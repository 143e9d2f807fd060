package iam_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hangarci/hangar/internal/service/iam/iamtest"
)

// TestCLI drives the bootstrap's IAM calls with the aws CLI (v1), the way
// a user would check or repair them by hand.
func TestCLI(t *testing.T) {
	t.Parallel() // each aws run costs a second or two of Python start-up
	e := iamtest.New(t, iamtest.Options{})
	admin := iamtest.Admin()
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("trust.json", codebuildTrust)
	write("default.json", defaultPolicy)
	run := func(args ...string) map[string]any {
		t.Helper()
		out, stderr, code := e.AWS(t, admin, dir, args...)
		if code != 0 {
			t.Fatalf("aws %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		var m map[string]any
		if strings.TrimSpace(out) != "" {
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return m
	}
	fail := func(code, msg string, args ...string) {
		t.Helper()
		_, stderr, exit := e.AWS(t, admin, dir, args...)
		if exit == 0 || !strings.Contains(stderr, "("+code+")") || !strings.Contains(stderr, msg) {
			t.Fatalf("aws %s: exit %d, stderr %q; want %s: %s", strings.Join(args, " "), exit, stderr, code, msg)
		}
	}

	created := run("iam", "create-role", "--role-name", "dev-codebuild-role", "--assume-role-policy-document", "file://trust.json")
	role := created["Role"].(map[string]any)
	if role["Arn"] != "arn:aws:iam::000000000000:role/dev-codebuild-role" {
		t.Fatalf("created %v", role)
	}
	// botocore decodes the URL-encoded document into JSON for the user.
	var trust any
	json.Unmarshal([]byte(codebuildTrust), &trust)
	if !reflect.DeepEqual(role["AssumeRolePolicyDocument"], trust) {
		t.Fatalf("trust policy as the CLI shows it: %v", role["AssumeRolePolicyDocument"])
	}
	fail("EntityAlreadyExists", "Role with name dev-codebuild-role already exists.",
		"iam", "create-role", "--role-name", "dev-codebuild-role", "--assume-role-policy-document", "file://trust.json")

	run("iam", "put-role-policy", "--role-name", "dev-codebuild-role", "--policy-name", "DefaultPolicy", "--policy-document", "file://default.json")
	got := run("iam", "get-role-policy", "--role-name", "dev-codebuild-role", "--policy-name", "DefaultPolicy")
	var def any
	json.Unmarshal([]byte(defaultPolicy), &def)
	if !reflect.DeepEqual(got["PolicyDocument"], def) || got["PolicyName"] != "DefaultPolicy" {
		t.Fatalf("get-role-policy = %v", got)
	}

	run("iam", "attach-role-policy", "--role-name", "dev-codebuild-role", "--policy-arn", "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess")
	fail("NoSuchEntity", "Policy arn:aws:iam::aws:policy/NoSuchThing does not exist or is not attachable.",
		"iam", "attach-role-policy", "--role-name", "dev-codebuild-role", "--policy-arn", "arn:aws:iam::aws:policy/NoSuchThing")
	att := run("iam", "list-attached-role-policies", "--role-name", "dev-codebuild-role")
	want := []any{map[string]any{"PolicyName": "AmazonSSMReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"}}
	if !reflect.DeepEqual(att["AttachedPolicies"], want) {
		t.Fatalf("list-attached-role-policies = %v", att)
	}
	fail("DeleteConflict", "Cannot delete entity, must detach all policies first.", "iam", "delete-role", "--role-name", "dev-codebuild-role")
	run("iam", "detach-role-policy", "--role-name", "dev-codebuild-role", "--policy-arn", "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess")
	fail("DeleteConflict", "Cannot delete entity, must delete policies first.", "iam", "delete-role", "--role-name", "dev-codebuild-role")
	run("iam", "delete-role-policy", "--role-name", "dev-codebuild-role", "--policy-name", "DefaultPolicy")
	run("iam", "delete-role", "--role-name", "dev-codebuild-role")

	who := run("sts", "get-caller-identity")
	if who["Arn"] != "arn:aws:iam::000000000000:user/hangar" || who["Account"] != "000000000000" || !strings.HasPrefix(who["UserId"].(string), "AIDA") {
		t.Fatalf("get-caller-identity = %v", who)
	}
}

// TestBoto3Paginators lists everything through boto3's IAM paginators, a
// page of one at a time, which exercises Marker and IsTruncated as botocore
// reads them.
func TestBoto3Paginators(t *testing.T) {
	t.Parallel()
	e := iamtest.New(t, iamtest.Options{})
	script := `
import sys, json, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1")
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
for n in ["r3", "r1", "r2"]:
    iam.create_role(RoleName=n, AssumeRolePolicyDocument=trust, Path="/hangar/")
for n in ["DefaultPolicy", "CustomPolicy", "VpcPolicy"]:
    iam.put_role_policy(RoleName="r1", PolicyName=n, PolicyDocument=doc)
for n in ["AmazonSSMReadOnlyAccess", "AWSCertificateManagerReadOnly", "ReadOnlyAccess"]:
    iam.attach_role_policy(RoleName="r1", PolicyArn="arn:aws:iam::aws:policy/" + n)
iam.create_policy(PolicyName="mine", PolicyDocument=doc)
for n in ["u2", "u1"]:
    iam.create_user(UserName=n)
iam.create_access_key(UserName="u1")
iam.create_access_key(UserName="u1")

def pages(op, key, field, **kw):
    out = []
    for page in iam.get_paginator(op).paginate(PaginationConfig={"PageSize": 1}, **kw):
        out.extend(x[field] if field else x for x in page[key])
    return out

res = {
    "roles": pages("list_roles", "Roles", "RoleName", PathPrefix="/hangar/"),
    "inline": pages("list_role_policies", "PolicyNames", None, RoleName="r1"),
    "attached": pages("list_attached_role_policies", "AttachedPolicies", "PolicyName", RoleName="r1"),
    "local": pages("list_policies", "Policies", "PolicyName", Scope="Local"),
    "aws_attached": pages("list_policies", "Policies", "PolicyName", Scope="AWS", OnlyAttached=True),
    "users": pages("list_users", "Users", "UserName"),
    "keys": len(pages("list_access_keys", "AccessKeyMetadata", "AccessKeyId", UserName="u1")),
    "doc": iam.get_role_policy(RoleName="r1", PolicyName="VpcPolicy")["PolicyDocument"],
    "me": iam.get_user()["User"]["UserName"],
}
try:
    iam.delete_role(RoleName="r1")
except iam.exceptions.DeleteConflictException as e:
    res["conflict"] = e.response["Error"]["Message"]
try:
    iam.get_role(RoleName="nope")
except iam.exceptions.NoSuchEntityException as e:
    res["missing"] = e.response["Error"]["Message"]
print(json.dumps(res))
`
	out := e.Python(t, iamtest.Admin(), script)
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := map[string]any{
		"roles":        []any{"r1", "r2", "r3"},
		"inline":       []any{"CustomPolicy", "DefaultPolicy", "VpcPolicy"},
		"attached":     []any{"AmazonSSMReadOnlyAccess", "AWSCertificateManagerReadOnly", "ReadOnlyAccess"},
		"local":        []any{"mine"},
		"aws_attached": []any{"AWSCertificateManagerReadOnly", "AmazonSSMReadOnlyAccess", "ReadOnlyAccess"},
		"users":        []any{"u1", "u2"},
		"keys":         float64(2),
		"doc":          map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}},
		"me":           "hangar",
		"conflict":     "Cannot delete entity, must detach all policies first.",
		"missing":      "The role with name nope cannot be found.",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("boto3 saw\n%v\nwant\n%v", got, want)
	}
}
