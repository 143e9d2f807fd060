package sts

import (
	"testing"

	"github.com/hangarci/hangar/internal/policy"
)

func TestDecide(t *testing.T) {
	const acct = "000000000000"
	alice := assumer{arns: []string{"arn:aws:iam::000000000000:user/dev/alice"}, account: acct}
	admin := assumer{arns: []string{"arn:aws:iam::000000000000:user/hangar"}, account: acct, admin: true}
	session := assumer{arns: []string{"arn:aws:sts::000000000000:assumed-role/builder/s1", "arn:aws:iam::000000000000:role/ci/builder"}, account: acct}
	codebuild := assumer{service: "codebuild.amazonaws.com"}
	lambda := assumer{service: "lambda.amazonaws.com"}

	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	cases := []struct {
		name, doc string
		who       assumer
		want      decision
	}{
		{"service trusted", stmt(`{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}`), codebuild, allowed},
		{"other service", stmt(`{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}`), lambda, denied},
		{"service list", stmt(`{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","codebuild.amazonaws.com"]},"Action":["sts:AssumeRole","sts:TagSession"]}`), codebuild, allowed},
		{"wrong action", stmt(`{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRoleWithSAML"}`), codebuild, denied},
		{"action wildcard", stmt(`{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:Assume*"}`), codebuild, allowed},
		{"user not trusted", stmt(`{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}`), alice, denied},
		{"admin, service trust", stmt(`{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}`), admin, allowed},
		{"admin, conditional", stmt(`{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"1"}}}`), admin, allowed},
		{"admin, federated only", stmt(`{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:saml-provider/x"},"Action":"sts:AssumeRole"}`), admin, denied},
		{"admin, explicit deny", stmt(`{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:user/hangar"},"Action":"sts:AssumeRole"}`), admin, denied},
		{"user by ARN", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/dev/alice"},"Action":"sts:AssumeRole"}`), alice, allowed},
		{"user ARN without path", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/alice"},"Action":"sts:AssumeRole"}`), alice, denied},
		{"everyone", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`), alice, allowed},
		{"AWS star", stmt(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}`), alice, allowed},
		{"account root", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}`), alice, viaAccount},
		{"account id", stmt(`{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"sts:AssumeRole"}`), alice, viaAccount},
		{"other account", stmt(`{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}`), alice, denied},
		{"conditional allow", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/dev/alice"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}`), alice, denied},
		{"conditional deny", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`), alice, denied},
		{"deny other", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:user/bob"},"Action":"sts:AssumeRole"}`), alice, allowed},
		{"session by role ARN", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/ci/builder"},"Action":"sts:AssumeRole"}`), session, allowed},
		{"session by session ARN", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::000000000000:assumed-role/builder/s1"},"Action":"sts:AssumeRole"}`), session, allowed},
		{"not principal", stmt(`{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::000000000000:user/bob"},"Action":"sts:AssumeRole"}`), alice, allowed},
		{"not principal excludes", stmt(`{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::000000000000:user/dev/alice"},"Action":"sts:AssumeRole"}`), alice, denied},
		{"not action", stmt(`{"Effect":"Allow","Principal":"*","NotAction":"sts:TagSession"}`), alice, allowed},
		{"account then direct", stmt(`{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/dev/alice"},"Action":"sts:AssumeRole"}`), alice, allowed},
	}
	for _, c := range cases {
		p, err := policy.ParseKind([]byte(c.doc), policy.Trust)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := decide(p, c.who); got != c.want {
			t.Errorf("%s: decide = %d, want %d", c.name, got, c.want)
		}
	}
}
