package buildspec

import (
	"fmt"
	"strings"
)

// StatusCode is the phase context status code of a build whose buildspec
// cannot be used; DOWNLOAD_SOURCE fails with it.
const StatusCode = "YAML_FILE_ERROR"

// Error is a buildspec that cannot be used. Message is the full text users
// see, in CodeBuild's words where they are known, including " at line N"
// when the problem has a place.
type Error struct {
	Message string
	Line    int // 1-based; 0 when the problem is not on one line
}

func (e *Error) Error() string { return e.Message }

// errorf builds an *Error; line > 0 appends CodeBuild's " at line N".
func errorf(line int, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		msg = fmt.Sprintf("%s at line %d", msg, line)
	}
	return &Error{Message: msg, Line: line}
}

// Messages seen in CodeBuild build logs (sources in the package report).
const (
	// Empty buildspec, and one without a version (a SAM template, a project
	// JSON file): CodeBuild's agent answers with this.
	msgNoVersion = "wrong number of container tags, expected 1"
	// version other than 0.1 / 0.2: "invalid buildspec `version` specified: 1.0, see documentation".
	msgBadVersion = "invalid buildspec `version` specified: %s, see documentation"
	// phases: { postbuild: … }.
	msgBadPhaseName = "Invalid buildspec phase name: %s. Expecting: build,install,post_build,pre_build"
)

// typeMismatch is CodeBuild's "Expected Commands[0] to be of string type:
// found subkeys instead at line 6, value of the key tag on line 5 might be
// empty" family. The hint is CodeBuild's: for a string that YAML read as a
// map (an unquoted ": " in a command) it points at the line above.
func typeMismatch(what, want string, n *node) *Error {
	e := errorf(n.line, "Expected %s to be of %s type: found %s instead", what, want, n.describe())
	if want == "string" && n.kind == kindMap && n.line > 1 {
		e.Message += fmt.Sprintf(", value of the key tag on line %d might be empty", n.line-1)
	}
	return e
}

// syntaxMessage turns go-yaml's wording into libyaml's where CodeBuild's
// (libyaml-based) agent is known to say it differently, so users can search
// for what they see.
func syntaxMessage(msg string) string {
	switch {
	case strings.HasPrefix(msg, "found character") && strings.HasSuffix(msg, "that cannot start any token"):
		return "found character that cannot start any token"
	case msg == "',' or ']' must be specified":
		return "did not find expected ',' or ']'"
	case msg == "',' or '}' must be specified":
		return "did not find expected ',' or '}'"
	case msg == "mapping value is not allowed in this context":
		return "mapping values are not allowed in this context"
	}
	return msg
}

// Warning lists keys of one section that the buildspec format does not know.
// CodeBuild runs such a buildspec and only logs them.
type Warning struct {
	Section string // "env", "artifacts", "BUILD", … ("root" for top-level keys)
	Keys    []string
}

// SyntaxWarnings renders the warnings the way CodeBuild's agent logs them,
// or "" when there are none.
func (s *Spec) SyntaxWarnings() string {
	if len(s.Warnings) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Found possible syntax errors in buildspec: ")
	for _, w := range s.Warnings {
		fmt.Fprintf(&b, "\nIn the section %s\n    The following keys cannot be identified:", w.Section)
		for _, k := range w.Keys {
			fmt.Fprintf(&b, "\n        %s", k)
		}
	}
	return b.String()
}
