package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// SourceKind says what kind of place a value came from.
type SourceKind int

// Source kinds, lowest precedence first.
const (
	FromDefault SourceKind = iota
	FromFile               // hangar.yml or its hangar.<env>.yml overlay
	FromEnv                // a HANGAR_* (or, for region, AWS_*) variable
	FromFlag               // a command-line flag
	FromDerived            // computed from other values (namespace, names)
)

// Source is where one effective value came from.
type Source struct {
	Kind SourceKind
	File string // FromFile: the file as shown in messages
	Line int    // FromFile: 1-based line of the key
	Name string // FromEnv: the variable; FromFlag: the flag as typed (--timeout)
	As   string // the key as spelled, when another spelling of the key set it
	Note string // FromDefault, FromDerived: why this value
	rank int    // precedence layer; higher wins
}

// Precedence layers (Source.rank): flags > HANGAR_* > overlay > hangar.yml > defaults.
const (
	rankDefault = iota
	rankBase
	rankOverlay
	rankAWSEnv // AWS_REGION for target aws: above files, below HANGAR_REGION
	rankEnv
	rankFlag
)

func (s Source) String() string {
	var out string
	switch s.Kind {
	case FromFile:
		out = fmt.Sprintf("%s:%d", s.File, s.Line)
	case FromEnv:
		out = "env " + s.Name
	case FromFlag:
		out = "flag " + s.Name
	case FromDerived:
		out = "derived"
	default:
		out = "default"
	}
	var notes []string
	if s.As != "" {
		notes = append(notes, "as "+s.As)
	}
	if s.Note != "" {
		notes = append(notes, s.Note)
	}
	if len(notes) > 0 {
		out += " (" + strings.Join(notes, ", ") + ")"
	}
	return out
}

// Error is one configuration problem, printed as "file:line: key: problem"
// (or "env HANGAR_X: key: problem", "flag --x: key: problem").
type Error struct {
	Source Source
	Key    string // dotted key path as written; "" for file-level problems
	Msg    string
}

func (e *Error) Error() string {
	where := e.Source.String()
	if e.Source.Kind == FromFile {
		where = fmt.Sprintf("%s:%d", e.Source.File, e.Source.Line)
	}
	if e.Key == "" {
		return where + ": " + e.Msg
	}
	return where + ": " + e.Key + ": " + e.Msg
}

// Errors is every problem found while loading, in file order. Load returns
// it as its error; errors.As gives the individual problems.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As and errors.Is see each problem.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sorted orders by layer (base file before overlay before env before
// flags), then line, then key; duplicates (the same problem found twice, e.g.
// through a YAML alias) are dropped.
func (es Errors) sorted() Errors {
	out := slices.Clone(es)
	slices.SortStableFunc(out, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Source.rank, b.Source.rank),
			cmp.Compare(a.Source.File, b.Source.File),
			cmp.Compare(a.Source.Line, b.Source.Line),
			cmp.Compare(a.Source.Name, b.Source.Name),
			cmp.Compare(a.Key, b.Key),
		)
	})
	return slices.CompactFunc(out, func(a, b *Error) bool { return a.Error() == b.Error() })
}

// errs collects problems.
type errs struct{ list Errors }

func (e *errs) add(src Source, key, format string, args ...any) {
	e.list = append(e.list, &Error{Source: src, Key: key, Msg: fmt.Sprintf(format, args...)})
}
