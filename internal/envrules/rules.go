package envrules

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/hangarci/hangar/internal/model"
)

// List names, as in codebuild.project.env.*.
const (
	ListDefaultPass = "default_pass"
	ListPass        = "pass"
	ListBlock       = "block"
)

// Spec is codebuild.project.env from the configuration.
type Spec struct {
	Vars        map[string]string // set on the project; values may be SSM:/SECRET: references
	DefaultPass []string
	Pass        []string
	Block       []string
}

// Rules is a parsed Spec.
type Rules struct {
	vars        map[string]string
	defaultPass []Rule
	pass        []Rule
	block       []Rule
}

// New parses every rule and checks every project variable, reporting all
// problems at once.
func New(spec Spec) (*Rules, error) {
	var errs []error
	parse := func(list string, entries []string) []Rule {
		var out []Rule
		for i, e := range entries {
			r, err := ParseRule(e)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s[%d]: %w", list, i, err))
				continue
			}
			// The Jets list is de-duplicated; keep the first so Explain names it.
			if !slices.ContainsFunc(out, func(o Rule) bool { return o.text == r.text }) {
				out = append(out, r)
			}
		}
		return out
	}
	r := &Rules{
		vars:        make(map[string]string, len(spec.Vars)),
		defaultPass: parse(ListDefaultPass, spec.DefaultPass),
		pass:        parse(ListPass, spec.Pass),
		block:       parse(ListBlock, spec.Block),
	}
	// Jets de-duplicates default_pass + pass as one list.
	r.pass = slices.DeleteFunc(r.pass, func(p Rule) bool {
		return slices.ContainsFunc(r.defaultPass, func(d Rule) bool { return d.text == p.text })
	})
	for _, name := range sortedKeys(spec.Vars) {
		if err := checkVar(name, spec.Vars[name]); err != nil {
			errs = append(errs, fmt.Errorf("vars: %w", err))
			continue
		}
		r.vars[name] = spec.Vars[name]
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("env rules: %w", errors.Join(errs...))
	}
	return r, nil
}

// CheckVar reports whether name=value may be a project variable
// (codebuild.project.env.vars): a valid name that the runner does not own,
// and a value that is not an empty reference.
func CheckVar(name, value string) error { return checkVar(name, value) }

func checkVar(name, value string) error {
	if RunnerOwned(name) {
		return fmt.Errorf("%s: the runner sets this variable; it cannot be set here", name)
	}
	_, err := Typed(name, value)
	return err
}

// ProjectVars returns the project-level variables (env.vars), typed and
// sorted by name so that a project definition, and its hash, is stable.
func (r *Rules) ProjectVars() []model.EnvironmentVariable {
	out := make([]model.EnvironmentVariable, 0, len(r.vars))
	for _, name := range sortedKeys(r.vars) {
		v, _ := Typed(name, r.vars[name]) // checked by New
		out = append(out, v)
	}
	return out
}

// Input is what a build's variable overrides are made from.
type Input struct {
	// Environ is the local environment in os.Environ form. When a name
	// appears twice the first wins, as with os.Getenv.
	Environ []string
	// Explicit are values given on the command line (-e KEY=VALUE). They are
	// typed like any value and are sent even when a block rule matches: the
	// user asked for them by name. They cannot replace runner-owned names.
	Explicit map[string]string
	// Runner are the values Hangar sets for this build (HANGAR_SOURCE, …).
	// They are sent as PLAINTEXT, never blocked and never overridden; their
	// names are runner-owned for this build in addition to RunnerOwned.
	Runner map[string]string
}

// Overrides returns the per-build variable overrides (StartBuild's
// environmentVariablesOverride), sorted by name: the local variables the
// rules pass, then Explicit, then Runner, each later source winning.
func (r *Rules) Overrides(in Input) ([]model.EnvironmentVariable, error) {
	env := EnvironMap(in.Environ)
	out := map[string]model.EnvironmentVariable{}
	var errs []error
	for _, d := range r.decide(env, in) {
		if d.Action != Passed {
			continue
		}
		v, err := Typed(d.Name, env[d.Name])
		if err != nil {
			errs = append(errs, fmt.Errorf("pass %s (matched %s): %w", d.Name, d.PassedBy[0], err))
			continue
		}
		out[d.Name] = v
	}
	for _, name := range sortedKeys(in.Explicit) {
		if owned(name, in.Runner) {
			errs = append(errs, fmt.Errorf("-e %s: the runner sets this variable", name))
			continue
		}
		v, err := Typed(name, in.Explicit[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("-e %s: %w", name, err))
			continue
		}
		out[name] = v
	}
	for name, value := range in.Runner {
		out[name] = model.EnvironmentVariable{Name: name, Value: value, Type: model.EnvPlaintext}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("build environment: %w", errors.Join(errs...))
	}
	vars := make([]model.EnvironmentVariable, 0, len(out))
	for _, name := range sortedKeys(out) {
		vars = append(vars, out[name])
	}
	return vars, nil
}

// Action says what happened to one variable.
type Action string

// Actions, as Explain reports them.
const (
	Passed      Action = "passed"       // a pass rule matched and no block rule did
	Blocked     Action = "blocked"      // a block rule matched
	RunnerValue Action = "runner-owned" // the runner's value is used; a local one is dropped
	ExplicitSet Action = "explicit"     // given with -e
	Invalid     Action = "invalid"      // would be passed, but the value cannot be sent
)

// Match names one rule that matched.
type Match struct {
	List string // ListDefaultPass, ListPass or ListBlock
	Rule string // as written
}

func (m Match) String() string { return m.List + " " + m.Rule }

// Decision explains one variable. It never carries the value.
type Decision struct {
	Name      string
	Action    Action
	Type      string  // CodeBuild type the value is sent as; "" when not sent
	PassedBy  []Match // every default_pass and pass rule that matched
	BlockedBy []Match // every block rule that matched
	Problem   string  // for Invalid: why
}

func (d Decision) String() string {
	var b strings.Builder
	b.WriteString(d.Name + ": " + string(d.Action))
	if d.Type != "" {
		b.WriteString(" as " + d.Type)
	}
	switch {
	case d.Action == Blocked:
		b.WriteString(" by " + joinMatches(d.BlockedBy))
		if len(d.PassedBy) > 0 {
			b.WriteString(" (also matched " + joinMatches(d.PassedBy) + ")")
		}
	case d.Action == Passed:
		b.WriteString(" by " + joinMatches(d.PassedBy))
	case len(d.PassedBy)+len(d.BlockedBy) > 0:
		b.WriteString(" (matched " + joinMatches(append(slices.Clone(d.PassedBy), d.BlockedBy...)) + ")")
	}
	if d.Problem != "" {
		b.WriteString(": " + d.Problem)
	}
	return b.String()
}

func joinMatches(ms []Match) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.String()
	}
	return strings.Join(s, ", ")
}

// Explain says, for every local variable some rule matched and for every
// explicit and runner value, what happens to it and why; sorted by name.
// Local variables no rule mentions are left out.
func (r *Rules) Explain(in Input) []Decision {
	env := EnvironMap(in.Environ)
	byName := map[string]Decision{}
	for _, d := range r.decide(env, in) {
		if d.Action == Passed {
			if _, err := Typed(d.Name, env[d.Name]); err != nil {
				d.Action, d.Type, d.Problem = Invalid, "", err.Error()
			}
		}
		byName[d.Name] = d
	}
	for name, value := range in.Explicit {
		d := byName[name]
		d.Name = name
		switch {
		case owned(name, in.Runner):
			d.Action, d.Type, d.Problem = Invalid, "", "the runner sets this variable"
		default:
			if v, err := Typed(name, value); err != nil {
				d.Action, d.Type, d.Problem = Invalid, "", err.Error()
			} else {
				d.Action, d.Type, d.Problem = ExplicitSet, v.Type, ""
			}
		}
		byName[name] = d
	}
	for name := range in.Runner {
		d := byName[name]
		d.Name, d.Action, d.Type, d.Problem = name, RunnerValue, model.EnvPlaintext, ""
		byName[name] = d
	}
	out := make([]Decision, 0, len(byName))
	for _, name := range sortedKeys(byName) {
		out = append(out, byName[name])
	}
	return out
}

// decide applies the rules to every local variable some rule matches.
func (r *Rules) decide(env map[string]string, in Input) []Decision {
	var out []Decision
	for _, name := range sortedKeys(env) {
		d := Decision{Name: name}
		d.PassedBy = append(matches(ListDefaultPass, r.defaultPass, name), matches(ListPass, r.pass, name)...)
		d.BlockedBy = matches(ListBlock, r.block, name)
		switch {
		case len(d.PassedBy) == 0 && len(d.BlockedBy) == 0:
			continue
		case owned(name, in.Runner):
			// Neither passed nor blockable: the runner's value (if any) is used.
			d.Action = RunnerValue
		case len(d.BlockedBy) > 0:
			d.Action = Blocked
		default:
			d.Action = Passed
			d.Type, _ = Classify(env[name])
		}
		out = append(out, d)
	}
	return out
}

func matches(list string, rules []Rule, name string) []Match {
	var out []Match
	for _, r := range rules {
		if r.Match(name) {
			out = append(out, Match{List: list, Rule: r.text})
		}
	}
	return out
}

func owned(name string, runner map[string]string) bool {
	if _, ok := runner[name]; ok {
		return true
	}
	return RunnerOwned(name)
}

// EnvironMap turns os.Environ-style entries into a map; the first of
// duplicate names wins (os.Getenv's rule) and malformed entries are skipped.
// config reads HANGAR_* with it too, so both see the same value of a name.
func EnvironMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if _, dup := m[name]; !dup {
			m[name] = value
		}
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// SDK converts variables to the AWS SDK's CodeBuild type, for StartBuild and
// CreateProject calls.
func SDK(vars []model.EnvironmentVariable) []cbtypes.EnvironmentVariable {
	out := make([]cbtypes.EnvironmentVariable, len(vars))
	for i, v := range vars {
		typ := v.Type
		if typ == "" {
			typ = model.EnvPlaintext
		}
		// Copies, so the SDK values do not alias the caller's slice.
		name, value := v.Name, v.Value
		out[i] = cbtypes.EnvironmentVariable{
			Name:  &name,
			Value: &value,
			Type:  cbtypes.EnvironmentVariableType(typ),
		}
	}
	return out
}
