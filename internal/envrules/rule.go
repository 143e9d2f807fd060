// Package envrules decides which local environment variables reach a build,
// and turns variable values into typed CodeBuild environment variables.
//
// It implements the Jets remote runner's pass / default_pass / block rules
// (codebuild.project.env.*) and its SSM:/SECRET: value prefixes, without the
// Jets gaps: runner-owned names are really protected, and a bare "SSM" is a
// plain value.
//
// Regular expressions are Go's (RE2), not Ruby's. For variable names (one
// line, no newline) `^` and `$` behave like Ruby's `\A` and `\z`, so anchored
// Jets patterns keep their meaning. What differs: lookaround (`(?=…)`,
// `(?<=…)`), backreferences, possessive quantifiers, `\h` and `\Z` do not
// exist in RE2 and are rejected when the rule is parsed, never silently
// ignored.
package envrules

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Rule is one entry of a default_pass, pass or block list: either an exact,
// case-sensitive variable name, or a regular expression written /…/ (or
// /…/i for a case-insensitive one) that is searched for, unanchored, in the
// name — the way Ruby's =~ does.
type Rule struct {
	text string
	re   *regexp.Regexp // nil for an exact name
}

// ParseRule parses one list entry.
func ParseRule(entry string) (Rule, error) {
	if entry == "" {
		return Rule{}, errors.New("empty entry: write a variable name or /REGEXP/")
	}
	if strings.HasPrefix(entry, "/") {
		last := strings.LastIndexByte(entry, '/')
		if last == 0 {
			return Rule{}, fmt.Errorf("%q starts with / but does not end with /: write /REGEXP/ or /REGEXP/i", entry)
		}
		body, flags := entry[1:last], entry[last+1:]
		switch flags {
		case "":
		case "i":
			body = "(?i)" + body
		default:
			return Rule{}, fmt.Errorf("%q: unsupported regexp flags %q (only i is supported)", entry, flags)
		}
		re, err := regexp.Compile(body)
		if err != nil {
			return Rule{}, fmt.Errorf("bad regexp %s: %w", entry, err)
		}
		return Rule{text: entry, re: re}, nil
	}
	// A name with '=' could never be matched: environ splits at the first '='.
	if strings.ContainsAny(entry, "=\x00") {
		return Rule{}, fmt.Errorf("%q is not a variable name (contains '=' or NUL)", entry)
	}
	return Rule{text: entry}, nil
}

// Match reports whether the rule selects the variable name.
func (r Rule) Match(name string) bool {
	if r.re != nil {
		return r.re.MatchString(name)
	}
	return r.text != "" && name == r.text
}

// IsRegexp reports whether the rule was written /…/.
func (r Rule) IsRegexp() bool { return r.re != nil }

// String returns the entry as it was written.
func (r Rule) String() string { return r.text }
