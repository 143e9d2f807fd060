package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
)

// isTopElement and isStatementElement tell the elements IAM knows at the
// top of a document and in a statement; anything else is a syntax error.
func isTopElement(k string) bool {
	switch k {
	case "Version", "Id", "Statement":
		return true
	}
	return false
}

func isStatementElement(k string) bool {
	switch k {
	case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition":
		return true
	}
	return false
}

// Parse parses a policy document, checking its grammar: it fails with an
// *Error carrying MsgInvalidJSON for text that is not JSON and MsgSyntax for
// JSON that is not a policy. It does not apply the rules of any kind of
// policy; see Validate.
func Parse(doc []byte) (*Policy, error) {
	v, err := decodeJSON(doc)
	if err != nil {
		return nil, fail(MsgInvalidJSON)
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fail(MsgSyntax)
	}
	for k := range top {
		if !isTopElement(k) {
			return nil, fail(MsgSyntax)
		}
	}
	p := &Policy{}
	if v, ok := top["Version"]; ok {
		s, ok := v.(string)
		if !ok || s != Version2012 && s != Version2008 {
			return nil, fail(MsgSyntax)
		}
		p.Version = s
	}
	if v, ok := top["Id"]; ok {
		s, ok := v.(string)
		if !ok {
			return nil, fail(MsgSyntax)
		}
		p.ID = s
	}
	var raw []any
	switch st := top["Statement"].(type) {
	case map[string]any:
		raw = []any{st}
	case []any:
		raw = st
	default: // absent, or not an object or list
		return nil, fail(MsgSyntax)
	}
	if len(raw) == 0 {
		return nil, fail(MsgSyntax)
	}
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, fail(MsgSyntax)
		}
		s, err := parseStatement(m)
		if err != nil {
			return nil, err
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

// decodeJSON decodes one JSON value, numbers kept as json.Number, and
// refuses anything after it.
func decodeJSON(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("content after the document")
	}
	return v, nil
}

func parseStatement(m map[string]any) (Statement, error) {
	s := Statement{has: make(map[string]bool, len(m))}
	for k := range m {
		if !isStatementElement(k) {
			return s, fail(MsgSyntax)
		}
		s.has[k] = true
	}
	for _, pair := range [][2]string{{"Action", "NotAction"}, {"Resource", "NotResource"}, {"Principal", "NotPrincipal"}} {
		if s.has[pair[0]] && s.has[pair[1]] {
			return s, fail(MsgSyntax)
		}
	}
	effect, ok := m["Effect"].(string)
	if !ok {
		return s, fail(MsgSyntax)
	}
	// IAM's grammar takes the effect in any case; its later "legacy"
	// check insists on the exact spelling (see Validate).
	if !equalFold(effect, string(Allow)) && !equalFold(effect, string(Deny)) {
		return s, fail(MsgSyntax)
	}
	s.Effect = Effect(effect)
	if v, ok := m["Sid"]; ok {
		sid, ok := v.(string)
		if !ok {
			return s, fail(MsgSyntax)
		}
		s.Sid = sid
	}
	var err error
	lists := []struct {
		name string
		dst  *[]string
	}{{"Action", &s.Action}, {"NotAction", &s.NotAction}, {"Resource", &s.Resource}, {"NotResource", &s.NotResource}}
	for _, l := range lists {
		if v, ok := m[l.name]; ok {
			if *l.dst, err = stringList(v); err != nil {
				return s, err
			}
		}
	}
	if v, ok := m["Principal"]; ok {
		if s.Principal, err = parsePrincipal(v); err != nil {
			return s, err
		}
	}
	if v, ok := m["NotPrincipal"]; ok {
		if s.NotPrincipal, err = parsePrincipal(v); err != nil {
			return s, err
		}
	}
	if v, ok := m["Condition"]; ok {
		if s.Conditions, err = parseConditions(v); err != nil {
			return s, err
		}
	}
	return s, nil
}

// stringList reads a string or a list of strings.
func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fail(MsgSyntax)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fail(MsgSyntax)
}

func parsePrincipal(v any) (*Principal, error) {
	if s, ok := v.(string); ok {
		if s != "*" {
			return nil, fail(MsgSyntax)
		}
		return &Principal{Wildcard: true}, nil
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, fail(MsgSyntax)
	}
	p := &Principal{}
	for k, raw := range m {
		vals, err := stringList(raw)
		if err != nil {
			return nil, err
		}
		switch k {
		case "AWS":
			p.AWS = vals
		case "Service":
			p.Service = vals
		case "Federated":
			p.Federated = vals
		case "CanonicalUser":
			p.CanonicalUser = vals
		default:
			if p.Other == nil {
				p.Other = map[string][]string{}
			}
			p.Other[k] = vals
		}
	}
	return p, nil
}

// parseConditions reads {"Operator": {"key": value-or-list}}, in a stable
// order (operators, then keys, sorted) since JSON objects have none.
func parseConditions(v any) ([]Condition, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fail(MsgSyntax)
	}
	var out []Condition
	for _, op := range sortedKeys(m) {
		block, ok := m[op].(map[string]any)
		if !ok {
			return nil, fail(MsgSyntax)
		}
		for _, key := range sortedKeys(block) {
			vals, err := conditionValues(block[key])
			if err != nil {
				return nil, err
			}
			out = append(out, Condition{Operator: op, Key: key, Values: vals})
		}
	}
	return out, nil
}

// conditionValues reads a condition value: a string, number or boolean, or
// a list of them; IAM compares them as text.
func conditionValues(v any) ([]string, error) {
	scalar := func(v any) (string, bool) {
		switch v := v.(type) {
		case string:
			return v, true
		case json.Number:
			return v.String(), true
		case bool:
			if v {
				return "true", true
			}
			return "false", true
		}
		return "", false
	}
	if s, ok := scalar(v); ok {
		return []string{s}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fail(MsgSyntax)
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := scalar(e)
		if !ok {
			return nil, fail(MsgSyntax)
		}
		out = append(out, s)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// equalFold compares ASCII strings without regard to case.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
