package policy

import (
	"fmt"
	"strings"
	"testing"
)

func mustParse(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse %s: %v", doc, err)
	}
	return p
}

func stmt(effect, body string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":%q,%s}]}`, effect, body)
}

const paramArn = "arn:aws:ssm:us-east-1:000000000000:parameter/dev/db"

func TestEvaluateEffects(t *testing.T) {
	allowSSM := stmt("Allow", `"Action":"ssm:Get*","Resource":"*"`)
	denyDB := stmt("Deny", `"Action":"ssm:*","Resource":"arn:aws:ssm:*:*:parameter/dev/*"`)
	req := Request{Action: "ssm:GetParameter", Resource: paramArn}
	cases := []struct {
		name string
		docs []string
		req  Request
		want Decision
	}{
		{"no policies", nil, req, ImplicitDeny},
		{"allow", []string{allowSSM}, req, Allowed},
		{"action case-insensitive", []string{allowSSM}, Request{Action: "SSM:getparameter", Resource: paramArn}, Allowed},
		{"other action", []string{allowSSM}, Request{Action: "ssm:PutParameter", Resource: paramArn}, ImplicitDeny},
		{"deny wins over allow", []string{allowSSM, denyDB}, req, ExplicitDeny},
		{"deny wins in any order", []string{denyDB, allowSSM}, req, ExplicitDeny},
		{"deny elsewhere", []string{allowSSM, denyDB}, Request{Action: "ssm:GetParameter", Resource: "arn:aws:ssm:us-east-1:000000000000:parameter/prod/db"}, Allowed},
		{"resource case-sensitive", []string{stmt("Allow", `"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/Key"`)},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/key"}, ImplicitDeny},
		{"question mark", []string{stmt("Allow", `"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/k?"`)},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k1"}, Allowed},
		{"question mark is one char", []string{stmt("Allow", `"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/k?"`)},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k12"}, ImplicitDeny},
		{"action wildcard", []string{stmt("Allow", `"Action":"*","Resource":"*"`)}, req, Allowed},
		{"NotAction allow", []string{stmt("Allow", `"NotAction":"iam:*","Resource":"*"`)}, req, Allowed},
		{"NotAction excludes", []string{stmt("Allow", `"NotAction":"ssm:*","Resource":"*"`)}, req, ImplicitDeny},
		{"NotAction deny", []string{allowSSM, stmt("Deny", `"NotAction":"ssm:GetParameters","Resource":"*"`)}, req, ExplicitDeny},
		{"NotResource allow", []string{stmt("Allow", `"Action":"ssm:*","NotResource":"arn:aws:ssm:*:*:parameter/prod/*"`)}, req, Allowed},
		{"NotResource excludes", []string{stmt("Allow", `"Action":"ssm:*","NotResource":"arn:aws:ssm:*:*:parameter/dev/*"`)}, req, ImplicitDeny},
		{"empty resource list", []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":[]}]}`}, req, ImplicitDeny},
		{"lower-case effect is not an allow", []string{stmt("allow", `"Action":"*","Resource":"*"`)}, req, ImplicitDeny},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ps []*Policy
			for _, d := range c.docs {
				ps = append(ps, mustParse(t, d))
			}
			if got := Evaluate(ps, c.req); got != c.want {
				t.Fatalf("Evaluate = %s, want %s", got, c.want)
			}
		})
	}
}

func TestEvaluateConditions(t *testing.T) {
	ctx := map[string][]string{
		"aws:username":         {"alice"},
		"aws:principalarn":     {"arn:aws:iam::000000000000:user/team/alice"},
		"aws:securetransport":  {"false"},
		"aws:requestedregion":  {"us-east-1"},
		"aws:tagkeys":          {"env", "team"},
		"aws:sourceip":         {"127.0.0.1"},
		"aws:currenttime":      {"2025-06-01T00:00:00Z"},
		"s3:max-keys":          {"100"},
		"iam:passedtoservice":  {"codebuild.amazonaws.com"},
		"codebuild:empty-list": {},
	}
	cases := []struct {
		cond string
		want bool
	}{
		{`"StringEquals":{"aws:username":"alice"}`, true},
		{`"StringEquals":{"AWS:UserName":"alice"}`, true}, // keys are case-insensitive
		{`"StringEquals":{"aws:username":"Alice"}`, false},
		{`"StringEquals":{"aws:username":["bob","alice"]}`, true},                            // values ORed
		{`"StringEquals":{"aws:username":"alice","aws:requestedregion":"eu-west-1"}`, false}, // keys ANDed
		{`"StringNotEquals":{"aws:username":"bob"}`, true},
		{`"StringNotEquals":{"aws:username":["bob","alice"]}`, false}, // NOR
		{`"StringNotEquals":{"aws:missing":"x"}`, true},               // negated, key absent
		{`"StringEquals":{"aws:missing":"x"}`, false},                 // positive, key absent
		{`"StringEqualsIfExists":{"aws:missing":"x"}`, true},
		{`"StringEqualsIfExists":{"aws:username":"bob"}`, false},
		{`"StringEqualsIgnoreCase":{"aws:username":"ALICE"}`, true},
		{`"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}`, false},
		{`"StringLike":{"aws:principalarn":"arn:aws:iam::*:user/team/*"}`, true},
		{`"StringLike":{"aws:username":"al?ce"}`, true},
		{`"StringLike":{"aws:username":"al?"}`, false},
		{`"StringNotLike":{"aws:username":"b*"}`, true},
		{`"StringNotLike":{"aws:username":"a*"}`, false},
		{`"StringNotLikeIfExists":{"aws:missing":"a*"}`, true},
		{`"ArnLike":{"aws:principalarn":"arn:aws:iam::000000000000:user/*"}`, true},
		{`"ArnEquals":{"aws:principalarn":"arn:aws:iam::*:user/team/alice"}`, true},
		{`"ArnLike":{"aws:principalarn":"arn:aws:iam::000000000000:role/*"}`, false},
		{`"ArnLike":{"aws:principalarn":"not-an-arn"}`, false},
		{`"ArnNotLike":{"aws:principalarn":"arn:aws:iam::000000000000:role/*"}`, true},
		{`"ArnNotEquals":{"aws:missing":"arn:aws:iam::000000000000:role/r"}`, true},
		{`"Bool":{"aws:securetransport":"false"}`, true},
		{`"Bool":{"aws:securetransport":true}`, false},
		{`"Bool":{"aws:securetransport":"FALSE"}`, true},
		{`"BoolIfExists":{"aws:missing":"true"}`, true},
		{`"Null":{"aws:missing":"true"}`, true},
		{`"Null":{"aws:username":"true"}`, false},
		{`"Null":{"aws:username":"false"}`, true},
		{`"Null":{"codebuild:empty-list":"true"}`, true},
		{`"ForAnyValue:StringEquals":{"aws:tagkeys":["team","x"]}`, true},
		{`"ForAnyValue:StringEquals":{"aws:tagkeys":["x"]}`, false},
		{`"ForAnyValue:StringEquals":{"aws:missing":["x"]}`, false},
		{`"ForAllValues:StringEquals":{"aws:tagkeys":["env","team","x"]}`, true},
		{`"ForAllValues:StringEquals":{"aws:tagkeys":["env"]}`, false},
		{`"ForAllValues:StringEquals":{"aws:missing":["env"]}`, true}, // vacuously
		{`"ForAllValues:StringNotEquals":{"aws:tagkeys":["x"]}`, true},
		{`"ForAnyValue:StringNotEquals":{"aws:tagkeys":["env"]}`, true},
		{`"ForAllValues:StringLike":{"aws:tagkeys":["e*","t*"]}`, true},
		{`"StringEquals":{"aws:tagkeys":"team"}`, true}, // unqualified: any value
		{`"NumericLessThanEquals":{"s3:max-keys":"100"}`, true},
		{`"NumericLessThan":{"s3:max-keys":100}`, false},
		{`"NumericGreaterThan":{"s3:max-keys":"10"}`, true},
		{`"NumericEquals":{"s3:max-keys":"ten"}`, false},
		{`"DateLessThan":{"aws:currenttime":"2026-01-01T00:00:00Z"}`, true},
		{`"DateGreaterThan":{"aws:currenttime":"2026-01-01"}`, false},
		{`"IpAddress":{"aws:sourceip":"127.0.0.0/8"}`, true},
		{`"NotIpAddress":{"aws:sourceip":"10.0.0.0/8"}`, true},
		{`"IpAddress":{"aws:sourceip":"10.0.0.0/8"}`, false},
		{`"StringEquals":{"aws:principalarn":"arn:aws:iam::000000000000:user/team/${aws:username}"}`, true},
		{`"StringEquals":{"aws:username":"${aws:missing}"}`, false},
		{`"StringEquals":{"aws:username":"${aws:missing, 'alice'}"}`, true},
		{`"NoSuchOperator":{"aws:username":"alice"}`, false},
		{`"StringEquals":{"aws:username":"alice"},"Bool":{"aws:securetransport":"true"}`, false}, // operators ANDed
	}
	for _, c := range cases {
		t.Run(c.cond, func(t *testing.T) {
			p := mustParse(t, stmt("Allow", `"Action":"*","Resource":"*","Condition":{`+c.cond+`}`))
			got := Evaluate([]*Policy{p}, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: ctx}) == Allowed
			if got != c.want {
				t.Fatalf("holds = %v, want %v", got, c.want)
			}
		})
	}
}

func TestEvaluatePolicyVariables(t *testing.T) {
	ctx := map[string][]string{"aws:username": {"alice"}, "aws:userid": {"AIDA*"}}
	home := mustParse(t, stmt("Allow", `"Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"`))
	ok := func(p *Policy, res string) bool {
		return Evaluate([]*Policy{p}, Request{Action: "s3:GetObject", Resource: res, Context: ctx}) == Allowed
	}
	if !ok(home, "arn:aws:s3:::home/alice/notes") || ok(home, "arn:aws:s3:::home/bob/notes") {
		t.Fatal("${aws:username} in Resource")
	}
	// A value with wildcard characters in it is literal.
	byID := mustParse(t, stmt("Allow", `"Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:userid}"`))
	if ok(byID, "arn:aws:s3:::home/AIDAXYZ") || !ok(byID, "arn:aws:s3:::home/AIDA*") {
		t.Fatal("substituted '*' must be literal")
	}
	// No such key: the statement does not apply.
	if ok(mustParse(t, stmt("Allow", `"Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:nokey}/*"`)), "arn:aws:s3:::home//x") {
		t.Fatal("unresolved variable matched")
	}
	// ${*} is a literal star.
	star := mustParse(t, stmt("Allow", `"Action":"s3:*","Resource":"arn:aws:s3:::b/${*}"`))
	if ok(star, "arn:aws:s3:::b/x") || !ok(star, "arn:aws:s3:::b/*") {
		t.Fatal("${*}")
	}
	// Version 2008-10-17 has no variables: "${...}" is literal text.
	old := mustParse(t, `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}"}]}`)
	if ok(old, "arn:aws:s3:::home/alice") || !ok(old, "arn:aws:s3:::home/${aws:username}") {
		t.Fatal("2008-10-17 variables")
	}
}

// TestEvaluateDenyAlwaysWins checks the rule every other one yields to: an
// applicable Deny, wherever it is, whatever else allows.
func TestEvaluateDenyAlwaysWins(t *testing.T) {
	deny := mustParse(t, stmt("Deny", `"Action":"*","Resource":"*"`))
	allow := mustParse(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::x"}]}`)
	for _, order := range [][]*Policy{{allow, deny}, {deny, allow}, {allow, nil, deny}} {
		if got := Evaluate(order, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}); got != ExplicitDeny {
			t.Fatalf("got %s", got)
		}
	}
	if !strings.Contains(ExplicitDeny.String(), "Deny") {
		t.Fatal(ExplicitDeny.String())
	}
}
