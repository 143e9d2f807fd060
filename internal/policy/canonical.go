package policy

import (
	"bytes"
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// Canonical returns a normal form of the policy for comparison: keys in a
// fixed order, every list as a sorted list without duplicates (IAM treats
// them as sets), statements in document order, no whitespace. Two documents
// with the same Canonical form grant the same thing. It is never stored or
// sent: IAM keeps documents as they were written.
func (p *Policy) Canonical() []byte {
	type statement struct {
		Sid          string                         `json:"Sid,omitempty"`
		Effect       Effect                         `json:"Effect"`
		Principal    any                            `json:"Principal,omitempty"`
		NotPrincipal any                            `json:"NotPrincipal,omitempty"`
		Action       []string                       `json:"Action,omitempty"`
		NotAction    []string                       `json:"NotAction,omitempty"`
		Resource     []string                       `json:"Resource,omitempty"`
		NotResource  []string                       `json:"NotResource,omitempty"`
		Condition    map[string]map[string][]string `json:"Condition,omitempty"`
	}
	set := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		out := slices.Clone(s)
		slices.Sort(out)
		return slices.Compact(out)
	}
	// list keeps an empty list a list, so that the form parses again.
	list := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	// conv returns "*" or {type: values}, the two shapes a principal has.
	conv := func(pr *Principal) any {
		if pr == nil {
			return nil
		}
		m := map[string][]string{}
		for k, v := range map[string][]string{"AWS": pr.AWS, "Service": pr.Service, "Federated": pr.Federated, "CanonicalUser": pr.CanonicalUser} {
			if v != nil { // present, maybe empty
				m[k] = list(set(v))
			}
		}
		for k, v := range pr.Other {
			m[k] = list(set(v))
		}
		// {"AWS": "*"} and "*" are the same principal.
		if pr.Wildcard || len(m) == 1 && slices.Equal(m["AWS"], []string{"*"}) {
			return "*"
		}
		return m
	}
	version := p.Version
	if version == "" {
		version = Version2008 // what IAM assumes when it is left out
	}
	doc := struct {
		Version   string      `json:"Version"`
		ID        string      `json:"Id,omitempty"`
		Statement []statement `json:"Statement"`
	}{Version: version, ID: p.ID}
	for _, s := range p.Statements {
		cs := statement{
			Sid: s.Sid, Effect: s.Effect, Principal: conv(s.Principal), NotPrincipal: conv(s.NotPrincipal),
			Action: set(s.Action), NotAction: set(s.NotAction), Resource: set(s.Resource), NotResource: set(s.NotResource),
		}
		for _, c := range s.Conditions {
			if cs.Condition == nil {
				cs.Condition = map[string]map[string][]string{}
			}
			if cs.Condition[c.Operator] == nil {
				cs.Condition[c.Operator] = map[string][]string{}
			}
			// Never nil: an empty list must stay a list to parse again.
			cs.Condition[c.Operator][c.Key] = list(set(append(cs.Condition[c.Operator][c.Key], c.Values...)))
		}
		doc.Statement = append(doc.Statement, cs)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		// Only strings, maps and slices of them: Marshal cannot fail.
		panic("policy: canonical form: " + err.Error())
	}
	return b
}

// Equivalent reports whether two documents parse to the same Canonical
// form. A document that does not parse is equivalent to nothing but the
// same bytes.
func Equivalent(a, b []byte) bool {
	pa, errA := Parse(a)
	pb, errB := Parse(b)
	if errA != nil || errB != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(pa.Canonical(), pb.Canonical())
}

// Size returns the size of a document as IAM counts it against its quotas:
// characters, leaving out whitespace outside strings.
func Size(doc []byte) int {
	n := 0
	inString, escaped := false, false
	for i := 0; i < len(doc); {
		r, w := utf8.DecodeRune(doc[i:])
		i += w
		switch {
		case inString:
			n++
			switch {
			case escaped:
				escaped = false
			case r == '\\':
				escaped = true
			case r == '"':
				inString = false
			}
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
		default:
			n++
			if r == '"' {
				inString = true
			}
		}
	}
	return n
}
