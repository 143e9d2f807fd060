package iam

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hangarci/hangar/internal/awsapi"
)

// The embedded IAM model (internal/awsapi/models/iam.json) covers only the
// operations bootstrap needed first; awsapi's validator lets the others
// through unchecked. checks applies the botocore constraints of those
// others' members here, with the validator's messages, and steps aside for
// any operation the model knows (so a regenerated model takes over).

// Patterns of the IAM model, as botocore writes them (shown in messages)
// and compiled (matched whole).
const (
	namePattern       = `[\w+=,.@-]+`
	documentPattern   = `[\u0009\u000A\u000D\u0020-\u00FF]+`
	pathPattern       = `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`
	pathPrefixPattern = `\u002F[\u0021-\u007F]*`
	policyPathPattern = `((/[A-Za-z0-9\.,\+@=_-]+)*)/`
	versionPattern    = `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`
	descPattern       = `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`
	markerPattern     = `[\u0020-\u00FF]+`
	keyIDPattern      = `[\w]+`
	tagKeyPattern     = `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`
)

// toGo turns a botocore pattern into a Go regexp matching whole strings.
func toGo(p string) *regexp.Regexp {
	p = strings.NewReplacer(`\u`, `\x{`).Replace(p)
	// \x{0009 → \x{0009}: close the four-digit escapes opened above.
	re := regexp.MustCompile(`\\x\{([0-9A-Fa-f]{4})`)
	p = re.ReplaceAllString(p, `\x{$1}`)
	return regexp.MustCompile(`^(?:` + p + `)$`)
}

// compilePatterns compiles every pattern checks uses, once per Service.
func compilePatterns() map[string]*regexp.Regexp {
	m := map[string]*regexp.Regexp{}
	for _, p := range []string{namePattern, documentPattern, pathPattern, pathPrefixPattern, policyPathPattern,
		versionPattern, descPattern, markerPattern, keyIDPattern, tagKeyPattern} {
		m[p] = toGo(p)
	}
	return m
}

// checks collects constraint violations of one request.
type checks struct {
	patterns map[string]*regexp.Regexp
	errs     []string
}

func (c *checks) add(format string, a ...any) { c.errs = append(c.errs, fmt.Sprintf(format, a...)) }

// str checks a string member: required when min > 0 and the value is
// missing; length in runes; pattern when given.
func (c *checks) str(field string, v *string, required bool, min, max int, pattern string) {
	if v == nil {
		if required {
			c.add("Value null at '%s' failed to satisfy constraint: Member must not be null", field)
		}
		return
	}
	n := utf8.RuneCountInString(*v)
	switch {
	case n < min:
		c.add("Value '%s' at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", *v, field, min)
	case max > 0 && n > max:
		c.add("Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", *v, field, max)
	case pattern != "" && !c.patterns[pattern].MatchString(*v):
		c.add("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", *v, field, pattern)
	}
}

// req is str for a required member given as a plain string ("" is null).
func (c *checks) req(field, v string, min, max int, pattern string) {
	if v == "" {
		c.str(field, nil, true, min, max, pattern)
		return
	}
	c.str(field, &v, true, min, max, pattern)
}

func (c *checks) rng(field string, v *int, min, max int) {
	switch {
	case v == nil:
	case *v < min:
		c.add("Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to %d", *v, field, min)
	case *v > max:
		c.add("Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", *v, field, max)
	}
}

func (c *checks) enum(field, v string, values ...string) {
	if v == "" {
		return
	}
	for _, ok := range values {
		if v == ok {
			return
		}
	}
	c.add("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]", v, field, strings.Join(values, ", "))
}

// paging checks Marker and MaxItems.
func (c *checks) paging(marker *string, maxItems *int32) {
	c.str("marker", marker, false, 1, 320, markerPattern)
	if maxItems != nil {
		n := int(*maxItems)
		c.rng("maxItems", &n, 1, 1000)
	}
}

func (c *checks) err() error {
	switch len(c.errs) {
	case 0:
		return nil
	case 1:
		return validationError("1 validation error detected: %s", c.errs[0])
	}
	return validationError("%s validation errors detected: %s", strconv.Itoa(len(c.errs)), strings.Join(c.errs, "; "))
}

// validate runs fn's checks for op unless the embedded model knows op.
func (s *Service) validate(op string, fn func(c *checks)) error {
	if s.modeled != nil && s.modeled.HasOperation(op) {
		return nil
	}
	c := checks{patterns: s.patterns}
	fn(&c)
	return c.err()
}

// modelValidator is what validate asks whether the model knows an
// operation (*awsapi.Validator).
type modelValidator interface {
	HasOperation(op string) bool
}

var _ modelValidator = (*awsapi.Validator)(nil)
