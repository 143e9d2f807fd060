package policy

import (
	"errors"
	"reflect"
	"testing"
)

const bootstrapTrust = `{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}`

func TestParseTyped(t *testing.T) {
	doc := `{
	  "Version": "2012-10-17", "Id": "pol",
	  "Statement": [
	    {"Sid": "One", "Effect": "Allow", "Action": ["ssm:Get*", "ssm:Describe*"], "Resource": "*",
	     "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]},
	                   "Bool": {"aws:SecureTransport": true}, "NumericLessThan": {"s3:max-keys": 10}}},
	    {"Effect": "Deny", "NotAction": "iam:*", "NotResource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]}
	  ]
	}`
	p, err := ParseKind([]byte(doc), Identity)
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != Version2012 || p.ID != "pol" || len(p.Statements) != 2 {
		t.Fatalf("policy = %+v", p)
	}
	s := p.Statements[0]
	if s.Sid != "One" || s.Effect != Allow || !reflect.DeepEqual(s.Action, []string{"ssm:Get*", "ssm:Describe*"}) ||
		!reflect.DeepEqual(s.Resource, []string{"*"}) || s.NotAction != nil {
		t.Fatalf("statement 0 = %+v", s)
	}
	wantConds := []Condition{
		{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"true"}},
		{Operator: "NumericLessThan", Key: "s3:max-keys", Values: []string{"10"}},
		{Operator: "StringEquals", Key: "aws:RequestedRegion", Values: []string{"us-east-1", "eu-west-1"}},
	}
	if !reflect.DeepEqual(s.Conditions, wantConds) {
		t.Fatalf("conditions = %+v", s.Conditions)
	}
	d := p.Statements[1]
	if d.Effect != Deny || !reflect.DeepEqual(d.NotAction, []string{"iam:*"}) || len(d.NotResource) != 2 || d.Has("Resource") || !d.Has("NotResource") {
		t.Fatalf("statement 1 = %+v", d)
	}
	if !s.MatchesAction("SSM:GetParameter") || s.MatchesAction("ssm:PutParameter") || !s.MatchesResource("arn:aws:ssm:us-east-1:1:parameter/x") {
		t.Fatal("statement 0 matching")
	}
	if d.MatchesAction("iam:GetRole") || !d.MatchesAction("s3:GetObject") || d.MatchesResource("arn:aws:s3:::b/k") || !d.MatchesResource("arn:aws:s3:::c") {
		t.Fatal("statement 1 matching")
	}

	trust, err := ParseKind([]byte(bootstrapTrust), Trust)
	if err != nil {
		t.Fatal(err)
	}
	ts := trust.Statements[0]
	if ts.Principal == nil || !reflect.DeepEqual(ts.Principal.Service, []string{"codebuild.amazonaws.com"}) || !ts.MatchesResource("anything") {
		t.Fatalf("trust statement = %+v", ts)
	}
	c := Condition{Operator: "ForAnyValue:StringLikeIfExists"}
	if c.Base() != "StringLike" || c.SetQualifier() != "ForAnyValue" || !c.IfExists() {
		t.Fatalf("condition parts: %q %q %v", c.Base(), c.SetQualifier(), c.IfExists())
	}
}

func TestMessages(t *testing.T) {
	allow := `{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`
	cases := []struct {
		kind Kind
		doc  string
		msg  string // "" = valid
	}{
		{Identity, `{"Version":"2012-10-17","Statement":` + allow + `}`, ""},
		{Identity, `{"Version":"2012-10-17","Statement":[` + allow + `]}`, ""},
		{Identity, `not json`, MsgInvalidJSON},
		{Identity, `{"Version":"2012-10-17","Statement":[]} x`, MsgInvalidJSON},
		{Identity, `[]`, MsgSyntax},
		{Identity, `{"Version":"2012-10-17"}`, MsgSyntax},
		{Identity, `{"Version":"2012-10-17","Statement":[]}`, MsgSyntax},
		{Identity, `{"Version":"2012-10-17","Statement":"x"}`, MsgSyntax},
		{Identity, `{"Version":"2012-10-17","Statement":` + allow + `,"Extra":1}`, MsgSyntax},
		{Identity, `{"Version":"2013-01-01","Statement":` + allow + `}`, MsgSyntax},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Maybe","Action":"s3:x","Resource":"*"}}`, MsgSyntax},
		{Identity, `{"Version":"2012-10-17","Statement":{"Action":"s3:x","Resource":"*"}}`, MsgSyntax},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","NotAction":"s3:y","Resource":"*"}}`, MsgSyntax},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:x",1],"Resource":"*"}}`, MsgSyntax},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*","Bogus":1}}`, MsgSyntax},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*","Condition":{"StringEquals":"x"}}}`, MsgSyntax},
		{Identity, `{"Statement":` + allow + `}`, MsgVersion},
		{Identity, `{"Version":"2008-10-17","Statement":` + allow + `}`, MsgVersion},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"allow","Action":"s3:x","Resource":"*"}}`, MsgLegacy},
		{Identity, `{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Action":"s3:x","Resource":"*"},{"Sid":"a","Effect":"Deny","Action":"s3:x","Resource":"*"}]}`, MsgSidUnique},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"*"}}`, MsgNoActions},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, MsgNoActions},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x"}}`, MsgNoResources},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:x","Resource":"bucket"}}`, `Resource bucket must be in ARN format or "*".`},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"getobject","Resource":"*"}}`, MsgVendorMissing},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:a:b","Resource":"*"}}`, MsgActionColons},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s 3:a","Resource":"*"}}`, "Vendor s 3 is not valid"},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:a","Resource":"*","Principal":"*"}}`, MsgPrincipalInID},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:a","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"yesterday"}}}}`, MsgLegacy},
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:a","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2024-01-02T03:04:05Z"}}}}`, ""},
		{Session, `{"Statement":` + allow + `}`, ""},
		{Trust, bootstrapTrust, ""},
		{Trust, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}`, ""},
		{Trust, `{"Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012","*"]},"Action":["sts:AssumeRole","sts:TagSession"]}}`, ""},
		{Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}}`, MsgTrustResource},
		{Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}}`, MsgTrustAction},
		{Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`, MsgTrustNoPrincipal},
		{Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"codebuild"},"Action":"sts:AssumeRole"}}`, `Invalid principal in policy: "SERVICE":"codebuild"`},
		{Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"sts:AssumeRole"}}`, `Invalid principal in policy: "AWS":"bob"`},
		{Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Users":"bob"},"Action":"sts:AssumeRole"}}`, `Invalid principal in policy: "Users":"bob"`},
		{Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"bob","Action":"sts:AssumeRole"}}`, MsgSyntax},
	}
	for _, c := range cases {
		_, err := ParseKind([]byte(c.doc), c.kind)
		if c.msg == "" {
			if err != nil {
				t.Errorf("%s %s: %v", c.kind, c.doc, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Message != c.msg {
			t.Errorf("%s %s:\n got %v\nwant %q", c.kind, c.doc, err, c.msg)
		}
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, value string
		want, fold     bool
	}{
		{"*", "", true, false},
		{"s3:*", "s3:GetObject", true, false},
		{"s3:Get*", "s3:getobject", false, false},
		{"s3:Get*", "S3:getobject", true, true},
		{"arn:aws:s3:::b/?", "arn:aws:s3:::b/k", true, false},
		{"arn:aws:s3:::b/?", "arn:aws:s3:::b/kk", false, false},
		{"a*b*c", "aXXbYYc", true, false},
		{"a*b*c", "aXXbYY", false, false},
		{"*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false},
		{"", "", true, false},
		{"", "x", false, false},
	}
	for _, c := range cases {
		got := Match(c.pattern, c.value)
		if c.fold {
			got = MatchFold(c.pattern, c.value)
		}
		if got != c.want {
			t.Errorf("match(%q, %q, fold=%v) = %v", c.pattern, c.value, c.fold, got)
		}
	}
}

func TestEquivalentAndSize(t *testing.T) {
	a := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`
	b := "{\n  \"Statement\": [ { \"Resource\": [\"*\"], \"Action\": [\"s3:*\", \"s3:*\"], \"Effect\": \"Allow\" } ],\n  \"Version\": \"2012-10-17\"\n}"
	c := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}`
	if !Equivalent([]byte(a), []byte(b)) || Equivalent([]byte(a), []byte(c)) || Equivalent([]byte("x"), []byte(a)) || !Equivalent([]byte("x"), []byte("x")) {
		t.Fatal("Equivalent")
	}
	pa, _ := Parse([]byte(a))
	pb, _ := Parse([]byte(b))
	if string(pa.Canonical()) != string(pb.Canonical()) {
		t.Fatalf("canonical forms differ:\n%s\n%s", pa.Canonical(), pb.Canonical())
	}
	if got := Size([]byte("{ \"a b\" :\n\t[ 1 ] }")); got != 11 {
		t.Fatalf("Size = %d, want 11", got)
	}
	if got := Size([]byte(`{"a\" b":"é"}`)); got != 13 {
		t.Fatalf("Size with escapes = %d, want 13", got)
	}
}
