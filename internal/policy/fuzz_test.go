package policy

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that parsing never panics, fails only with *Error
// carrying a message, and that what parses has a canonical form that parses
// again to itself, so comparisons built on it are stable.
func FuzzParse(f *testing.F) {
	seeds := []string{
		bootstrapTrust,
		`{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["ssm:Get*","ssm:Describe*"],"Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"iam:*","NotResource":["arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":false},"StringLike":{"s3:prefix":["a*",""]}}}}`,
		`{"Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/r"],"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}}`,
		`{"Statement":{"Effect":"Allow","NotPrincipal":"*","Action":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01"}}}}`,
		`{"Statement":{"Effect":"Allow","Principal":{"AWS":[],"X":[]},"Action":[],"Condition":{"StringEquals":{"k":[]}}}}`,
		`{"Version":"2012-10-17","Statement":[]}`,
		`[1,2,{"a":null}]`,
		`{"Statement":{"Effect":"allow","Action":"a:b:c","Resource":"arn:bad::x"}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		start := time.Now()
		p, err := Parse(doc)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("slow parse: %v for %d bytes", d, len(doc))
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("error %T %v is not an *Error with a message", err, err)
			}
			return
		}
		for _, k := range []Kind{Identity, Trust, Session} {
			if err := p.Validate(k); err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Message == "" {
					t.Fatalf("validate %s: %T %v", k, err, err)
				}
			}
		}
		c := p.Canonical()
		p2, err := Parse(c)
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", c, err)
		}
		if c2 := p2.Canonical(); !bytes.Equal(c, c2) {
			t.Fatalf("canonical form is not stable:\n%s\n%s", c, c2)
		}
		if !Equivalent(doc, c) {
			t.Fatalf("document is not equivalent to its canonical form %s", c)
		}
		if Size(doc) > len(doc) {
			t.Fatalf("Size %d > length %d", Size(doc), len(doc))
		}
		for _, s := range p.Statements {
			// Matching must terminate and not panic on whatever was parsed.
			s.MatchesAction("s3:GetObject")
			s.MatchesResource("arn:aws:s3:::b/k")
		}
	})
}

// FuzzEvaluate checks evaluation on whatever parses: it never panics or
// hangs, an explicit Deny always wins (adding an applicable Deny makes any
// set ExplicitDeny, and adding policies never undoes an ExplicitDeny), and
// adding an allow-everything policy leaves only Allowed or ExplicitDeny.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:Get*","Resource":"arn:aws:ssm:*:*:parameter/${aws:username}/*"}]}`),
		"ssm:GetParameter", "arn:aws:ssm:us-east-1:000000000000:parameter/alice/x", "aws:username", "alice")
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":"s3:*","NotResource":"*","Condition":{"ForAllValues:StringNotLikeIfExists":{"aws:TagKeys":["a*","${*}"]},"Null":{"x":"true"}}}]}`),
		"s3:GetObject", "arn:aws:s3:::b/k", "aws:tagkeys", "ab")
	f.Add([]byte(`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:*:iam::*:role/?"}, "IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateLessThan":{"aws:CurrentTime":"2030"}}}}`),
		"iam:CreateRole", "arn:aws:iam::000000000000:role/r", "aws:principalarn", "arn:aws:iam::000000000000:role/r")
	f.Fuzz(func(t *testing.T, doc []byte, action, resource, key, value string) {
		p, err := Parse(doc)
		if err != nil {
			return
		}
		req := Request{Action: action, Resource: resource, Context: map[string][]string{strings.ToLower(key): {value}}}
		start := time.Now()
		d := Evaluate([]*Policy{p}, req)
		if el := time.Since(start); el > 5*time.Second {
			t.Fatalf("slow evaluation: %v", el)
		}
		denyAll := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`)
		allowAll := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
		if got := Evaluate([]*Policy{p, denyAll}, req); got != ExplicitDeny {
			t.Fatalf("with a Deny of everything: %s", got)
		}
		if got := Evaluate([]*Policy{denyAll, p}, req); got != ExplicitDeny {
			t.Fatalf("with a Deny of everything first: %s", got)
		}
		withAllow := Evaluate([]*Policy{p, allowAll}, req)
		switch {
		case d == ExplicitDeny && withAllow != ExplicitDeny:
			t.Fatalf("an Allow undid an explicit Deny: %s", withAllow)
		case withAllow == ImplicitDeny:
			t.Fatal("allow-everything added, still implicitly denied")
		}
		// The same statements with every Allow turned into a Deny deny
		// wherever they allowed.
		if d == Allowed {
			q := *p
			q.Statements = append([]Statement(nil), p.Statements...)
			for i := range q.Statements {
				if q.Statements[i].Effect == Allow {
					q.Statements[i].Effect = Deny
				}
			}
			if got := Evaluate([]*Policy{p, &q}, req); got != ExplicitDeny {
				t.Fatalf("allowing statements made Deny: %s", got)
			}
		}
	})
}
