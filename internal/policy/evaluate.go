package policy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Request is one request as policy evaluation sees it: an action on one
// resource, with the request context its conditions are tested against.
type Request struct {
	// Action is "service:Operation", e.g. "ssm:GetParameters".
	Action string
	// Resource is the ARN the action is on, or "*" for actions without
	// resource-level permissions.
	Resource string
	// Context holds the request's condition keys by lower-case name
	// (keys are case-insensitive in IAM); a key with several values is
	// multi-valued. Absent keys are absent, not empty.
	Context map[string][]string
}

// Decision is the outcome of evaluating policies for a request.
type Decision int

// Outcomes, in the order they win: an explicit Deny beats an Allow, which
// beats the implicit deny of no matching statement.
const (
	ImplicitDeny Decision = iota
	Allowed
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Evaluate decides a request against a set of policies of one kind (all
// the identity-based policies of a principal, or all of a session's
// policies): ExplicitDeny when any applicable statement denies, else
// Allowed when any allows, else ImplicitDeny. A statement applies when its
// Action (or NotAction), Resource (or NotResource) and every condition
// match. Nil policies are skipped.
func Evaluate(policies []*Policy, req Request) Decision {
	d := ImplicitDeny
	for _, p := range policies {
		if p == nil {
			continue
		}
		for i := range p.Statements {
			s := &p.Statements[i]
			if !s.appliesTo(p.Version, req) {
				continue
			}
			if s.Effect == Deny {
				return ExplicitDeny
			}
			if s.Effect == Allow {
				d = Allowed
			}
		}
	}
	return d
}

// Applies reports whether the statement applies to req (its effect aside).
// Policy variables are resolved as in a 2012-10-17 document.
func (s *Statement) Applies(req Request) bool { return s.appliesTo(Version2012, req) }

func (s *Statement) appliesTo(version string, req Request) bool {
	if !s.MatchesAction(req.Action) {
		return false
	}
	// Policy variables exist only in version 2012-10-17; older documents
	// take "${...}" literally.
	vars := version == Version2012
	switch {
	case len(s.NotResource) > 0:
		if anyResource(s.NotResource, req, vars) {
			return false
		}
	case len(s.Resource) > 0:
		if !anyResource(s.Resource, req, vars) {
			return false
		}
	case s.Has("Resource") || s.Has("NotResource"):
		return false // an empty list matches nothing
	}
	for _, c := range s.Conditions {
		if !c.holds(req.Context, vars) {
			return false
		}
	}
	return true
}

func anyResource(patterns []string, req Request, vars bool) bool {
	for _, p := range patterns {
		if matchPattern(p, req.Resource, req.Context, vars, false) {
			return true
		}
	}
	return false
}

// matchPattern matches value against an IAM wildcard pattern whose policy
// variables are first replaced from ctx. Replaced text is literal: a '*'
// in a user name does not become a wildcard. A variable that cannot be
// resolved (and has no default) makes the pattern match nothing, as IAM
// does.
func matchPattern(pattern, value string, ctx map[string][]string, vars, fold bool) bool {
	if !vars || !strings.Contains(pattern, "${") {
		return match(pattern, value, fold)
	}
	p, lit, ok := substitute(pattern, ctx)
	if !ok {
		return false
	}
	return matchLiteral(p, lit, value, fold)
}

// substitute replaces the policy variables of pattern: ${key} by the
// key's single value, ${key, 'default'} by the default when the key is
// absent, and ${*}, ${?}, ${$} by the literal character. lit marks the
// bytes of the result that are literal, never wildcards.
func substitute(pattern string, ctx map[string][]string) (string, []bool, bool) {
	var b strings.Builder
	var lit []bool
	add := func(s string, literal bool) {
		b.WriteString(s)
		for range len(s) {
			lit = append(lit, literal)
		}
	}
	for {
		i := strings.Index(pattern, "${")
		if i < 0 {
			add(pattern, false)
			break
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			add(pattern, false)
			break
		}
		add(pattern[:i], false)
		inner := pattern[i+2 : i+j]
		pattern = pattern[i+j+1:]
		switch inner {
		case "*", "?", "$":
			add(inner, true)
			continue
		}
		key, def, hasDef := strings.Cut(inner, ",")
		key = strings.ToLower(strings.TrimSpace(key))
		if vals, ok := ctx[key]; ok && len(vals) == 1 {
			add(vals[0], true)
			continue
		}
		if !hasDef {
			return "", nil, false
		}
		def = strings.TrimSpace(def)
		if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
			return "", nil, false
		}
		add(def[1:len(def)-1], true)
	}
	return b.String(), lit, true
}

// matchLiteral matches value against an IAM wildcard pattern whose bytes
// marked in lit (nil: none) are literal, as policy variables' values are.
// It is the classic linear-backtracking glob: on a mismatch it retries from
// the last '*', so it runs in O(len(pattern)*len(value)) at worst and never
// recurses.
func matchLiteral(pattern string, lit []bool, value string, fold bool) bool {
	eq := func(a, b byte) bool {
		if fold {
			return lower(a) == lower(b)
		}
		return a == b
	}
	wild := func(i int, c byte) bool { return pattern[i] == c && (lit == nil || !lit[i]) }
	p, v := 0, 0
	star, mark := -1, 0
	for v < len(value) {
		switch {
		case p < len(pattern) && (wild(p, '?') || !wild(p, '*') && eq(pattern[p], value[v])):
			p++
			v++
		case p < len(pattern) && wild(p, '*'):
			star, mark = p, v
			p++
		case star >= 0:
			p = star + 1
			mark++
			v = mark
		default:
			return false
		}
	}
	for p < len(pattern) && wild(p, '*') {
		p++
	}
	return p == len(pattern)
}

// holds reports whether the condition holds for the request context, with
// IAM's rules: several values of the condition are ORed (NORed for a
// negated operator); a missing key makes positive operators false and
// negated ones true, except that ...IfExists is true, Null tests presence,
// ForAllValues is true and ForAnyValue false on no values. Unknown
// operators never hold, so a statement using one does not apply.
func (c Condition) holds(ctx map[string][]string, vars bool) bool {
	base := c.Base()
	op, ok := operators[base]
	if !ok {
		return false
	}
	got, present := ctx[strings.ToLower(c.Key)]
	present = present && len(got) > 0
	if base == "Null" {
		if len(c.Values) == 0 {
			return false
		}
		// "true": the key must be absent; "false": present.
		for _, v := range c.Values {
			if want, err := strconv.ParseBool(v); err == nil && want != present {
				return true
			}
		}
		return false
	}
	qual := c.SetQualifier()
	if !present {
		switch {
		case c.IfExists():
			return true
		case qual == "ForAllValues":
			return true
		case qual == "ForAnyValue":
			return false
		}
		return op.negated
	}
	want := c.Values
	if vars && op.vars {
		want = make([]string, 0, len(c.Values))
		for _, v := range c.Values {
			if !strings.Contains(v, "${") {
				want = append(want, v)
				continue
			}
			s, _, ok := substitute(v, ctx)
			if ok {
				want = append(want, s)
			}
		}
	}
	matchOne := func(v string) bool {
		for _, w := range want {
			if op.cmp(w, v) {
				return true
			}
		}
		return false
	}
	switch qual {
	case "ForAllValues":
		for _, v := range got {
			if matchOne(v) == op.negated {
				return false
			}
		}
		return true
	case "ForAnyValue":
		for _, v := range got {
			if matchOne(v) != op.negated {
				return true
			}
		}
		return false
	}
	matched := false
	for _, v := range got {
		if matchOne(v) {
			matched = true
			break
		}
	}
	return matched != op.negated
}

// operator is a condition operator: cmp compares one policy value with one
// request value in the positive sense; negated operators hold when no
// pair compares.
type operator struct {
	cmp     func(policyValue, requestValue string) bool
	negated bool
	vars    bool // policy variables allowed in values
}

func stringEquals(w, v string) bool     { return w == v }
func stringEqualsFold(w, v string) bool { return strings.EqualFold(w, v) }
func stringLike(w, v string) bool       { return match(w, v, false) }

// arnLike compares ARNs field by field (the resource, the sixth field, may
// hold colons), each with wildcards; IAM's ArnEquals behaves the same.
func arnLike(w, v string) bool {
	wp, vp := strings.SplitN(w, ":", 6), strings.SplitN(v, ":", 6)
	if len(wp) != 6 || len(vp) != 6 {
		return false
	}
	for i := range wp {
		if !match(wp[i], vp[i], false) {
			return false
		}
	}
	return true
}

func boolEquals(w, v string) bool {
	a, err1 := strconv.ParseBool(strings.ToLower(w))
	b, err2 := strconv.ParseBool(strings.ToLower(v))
	return err1 == nil && err2 == nil && a == b
}

func numeric(f func(a, b float64) bool) func(w, v string) bool {
	return func(w, v string) bool {
		a, err1 := strconv.ParseFloat(v, 64)
		b, err2 := strconv.ParseFloat(w, 64)
		return err1 == nil && err2 == nil && f(a, b)
	}
}

// parseDate reads the date forms IAM takes: ISO 8601 or epoch seconds.
func parseDate(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func date(f func(a, b time.Time) bool) func(w, v string) bool {
	return func(w, v string) bool {
		a, ok1 := parseDate(v)
		b, ok2 := parseDate(w)
		return ok1 && ok2 && f(a, b)
	}
}

// ipIn tells whether address v is in the CIDR block (or address) w.
func ipIn(w, v string) bool {
	addr, err := netip.ParseAddr(v)
	if err != nil {
		return false
	}
	if p, err := netip.ParsePrefix(w); err == nil {
		return p.Contains(addr)
	}
	a, err := netip.ParseAddr(w)
	return err == nil && a == addr
}

// operators are the condition operators evaluation knows, by base name
// (without ForAnyValue:/ForAllValues: and IfExists). Read-only.
var operators = map[string]operator{
	"StringEquals":              {cmp: stringEquals, vars: true},
	"StringNotEquals":           {cmp: stringEquals, negated: true, vars: true},
	"StringEqualsIgnoreCase":    {cmp: stringEqualsFold, vars: true},
	"StringNotEqualsIgnoreCase": {cmp: stringEqualsFold, negated: true, vars: true},
	"StringLike":                {cmp: stringLike, vars: true},
	"StringNotLike":             {cmp: stringLike, negated: true, vars: true},
	"ArnEquals":                 {cmp: arnLike, vars: true},
	"ArnLike":                   {cmp: arnLike, vars: true},
	"ArnNotEquals":              {cmp: arnLike, negated: true, vars: true},
	"ArnNotLike":                {cmp: arnLike, negated: true, vars: true},
	"Bool":                      {cmp: boolEquals, vars: true},
	"BinaryEquals":              {cmp: stringEquals},
	"NumericEquals":             {cmp: numeric(func(a, b float64) bool { return a == b })},
	"NumericNotEquals":          {cmp: numeric(func(a, b float64) bool { return a == b }), negated: true},
	"NumericLessThan":           {cmp: numeric(func(a, b float64) bool { return a < b })},
	"NumericLessThanEquals":     {cmp: numeric(func(a, b float64) bool { return a <= b })},
	"NumericGreaterThan":        {cmp: numeric(func(a, b float64) bool { return a > b })},
	"NumericGreaterThanEquals":  {cmp: numeric(func(a, b float64) bool { return a >= b })},
	"DateEquals":                {cmp: date(func(a, b time.Time) bool { return a.Equal(b) })},
	"DateNotEquals":             {cmp: date(func(a, b time.Time) bool { return a.Equal(b) }), negated: true},
	"DateLessThan":              {cmp: date(func(a, b time.Time) bool { return a.Before(b) })},
	"DateLessThanEquals":        {cmp: date(func(a, b time.Time) bool { return !a.After(b) })},
	"DateGreaterThan":           {cmp: date(func(a, b time.Time) bool { return a.After(b) })},
	"DateGreaterThanEquals":     {cmp: date(func(a, b time.Time) bool { return !a.Before(b) })},
	"IpAddress":                 {cmp: ipIn},
	"NotIpAddress":              {cmp: ipIn, negated: true},
	"Null":                      {},
}
