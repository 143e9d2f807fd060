package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hangarci/hangar/internal/envrules"
)

// validator checks one layer (a file, the environment or the flags) against
// the schema and returns it normalised: canonical keys, strings expanded,
// integers and booleans parsed. Invalid values are reported and dropped, so
// every problem of every layer is found in one pass.
type validator struct {
	schema  *spec
	known   []string // every key path, for suggestions
	errs    *errs
	vars    vars
	text    bool // values are strings to parse (environment, flags), not YAML scalars
	overlay bool
}

// value checks n against sp. shown is the key path as the user wrote it
// (for messages), path the canonical one; at is where the value is.
func (v *validator) value(sp *spec, n *node, shown, path string, at Source) *node {
	if n.kind == kindNull {
		// null resets the key to what lower layers (or the default) say.
		return &node{kind: kindNull, src: at}
	}
	switch sp.kind {
	case specSection:
		return v.section(sp, n, shown, path, at)
	case specString:
		s, ok := v.scalarText(n, shown, at, "a string")
		if !ok {
			return nil
		}
		if s, ok = v.expand(sp, s, shown, at); !ok {
			return nil
		}
		if len(sp.enum) > 0 && !slices.Contains(sp.enum, s) {
			msg := fmt.Sprintf("must be one of %s (got %q)", strings.Join(sp.enum, ", "), s)
			if hint := nearest(s, sp.enum); hint != "" {
				msg += fmt.Sprintf("; did you mean %s?", hint)
			}
			v.errs.add(at, shown, "%s", msg)
			return nil
		}
		if sp.check != nil {
			if err := sp.check(s); err != nil {
				v.errs.add(at, shown, "%v", err)
				return nil
			}
		}
		return &node{kind: kindScalar, text: s, src: at}
	case specInt:
		num, ok := v.integer(n, shown, at)
		if !ok {
			return nil
		}
		if num < sp.min || num > sp.max {
			if sp.max >= 1<<31-1 {
				v.errs.add(at, shown, "must be at least %d (got %d)", sp.min, num)
			} else {
				v.errs.add(at, shown, "must be between %d and %d (got %d)", sp.min, sp.max, num)
			}
			return nil
		}
		return &node{kind: kindScalar, stype: scalarInt, num: num, text: strconv.FormatInt(num, 10), src: at}
	case specBool:
		b, ok := v.boolean(n, shown, at)
		if !ok {
			return nil
		}
		return &node{kind: kindScalar, stype: scalarBool, bit: b, text: strconv.FormatBool(b), src: at}
	case specStrings, specRules:
		return v.list(sp, n, shown, at)
	case specVars:
		return v.envVars(n, shown, at)
	case specPolicies:
		return v.policies(n, shown, at)
	}
	v.errs.add(at, shown, "cannot be set here")
	return nil
}

func (v *validator) section(sp *spec, n *node, shown, path string, at Source) *node {
	if n.kind != kindMap {
		v.errs.add(at, shown, "must be a map of keys, not %s", n.typeName())
		return nil
	}
	out := &node{kind: kindMap, src: at}
	written := map[string]string{} // canonical → as written, to catch Image + image
	for _, f := range n.fields {
		fshown := join(shown, f.key)
		c := sp.child(f.key)
		if c == nil {
			v.unknown(sp, path, f.key, fshown, f.src)
			continue
		}
		if c.reject != "" {
			v.errs.add(f.src, fshown, "not allowed here: %s", c.reject)
			continue
		}
		if v.overlay && path == "" && c.name == "env" {
			v.errs.add(f.src, fshown, "cannot be set in an overlay (the env chose this file); set it in hangar.yml, HANGAR_ENV or --env")
			continue
		}
		if prev, dup := written[c.name]; dup {
			v.errs.add(f.src, fshown, "same key as %s", join(shown, prev))
			continue
		}
		written[c.name] = f.key
		if val := v.value(c, f.val, fshown, join(path, c.name), f.src); val != nil {
			out.fields = append(out.fields, field{key: c.name, val: val, src: f.src})
		}
	}
	return out
}

func (v *validator) unknown(sp *spec, path, key, shown string, at Source) {
	var siblings []string
	for _, c := range sp.children {
		if c.reject == "" {
			siblings = append(siblings, c.name)
		}
	}
	hint := suggest(path, key, siblings, v.known)
	if hint != "" && sp.pascal && keyCase(key) {
		// Answer in the style the user writes: PrivilegeMode → PrivilegedMode.
		i := strings.LastIndexByte(hint, '.') + 1
		hint = hint[:i] + strings.ToUpper(hint[i:i+1]) + hint[i+1:]
	}
	if hint != "" {
		v.errs.add(at, shown, "unknown key (did you mean %s?)", hint)
		return
	}
	v.errs.add(at, shown, "unknown key")
}

func (v *validator) scalarText(n *node, shown string, at Source, want string) (string, bool) {
	if n.kind != kindScalar {
		v.errs.add(at, shown, "must be %s, not %s", want, n.typeName())
		return "", false
	}
	return n.text, true
}

func (v *validator) expand(sp *spec, s, shown string, at Source) (string, bool) {
	if sp != nil && sp.literal {
		if strings.Contains(s, "${") {
			v.errs.add(at, shown, "${…} cannot be used here: the variables are made from this value")
			return "", false
		}
		return s, true
	}
	out, err := expand(s, v.vars)
	if err != nil {
		v.errs.add(at, shown, "%v", err)
		return "", false
	}
	return out, true
}

func (v *validator) integer(n *node, shown string, at Source) (int64, bool) {
	if v.text && n.kind == kindScalar {
		num, err := strconv.ParseInt(strings.TrimSpace(n.text), 10, 64)
		if err != nil {
			v.errs.add(at, shown, "must be a whole number (got %q)", n.text)
			return 0, false
		}
		return num, true
	}
	if n.kind != kindScalar || n.stype != scalarInt {
		got := n.typeName()
		if n.kind == kindScalar {
			got += fmt.Sprintf(" %q", n.text)
		}
		v.errs.add(at, shown, "must be a whole number, not %s", got)
		return 0, false
	}
	return n.num, true
}

func (v *validator) boolean(n *node, shown string, at Source) (bool, bool) {
	if v.text && n.kind == kindScalar {
		b, err := strconv.ParseBool(strings.TrimSpace(n.text))
		if err != nil {
			v.errs.add(at, shown, "must be true or false (got %q)", n.text)
			return false, false
		}
		return b, true
	}
	if n.kind != kindScalar || n.stype != scalarBool {
		got := n.typeName()
		if n.kind == kindScalar {
			got += fmt.Sprintf(" %q", n.text)
		}
		v.errs.add(at, shown, "must be true or false, not %s", got)
		return false, false
	}
	return n.bit, true
}

func (v *validator) list(sp *spec, n *node, shown string, at Source) *node {
	if n.kind != kindSeq {
		v.errs.add(at, shown, "must be a list, not %s", n.typeName())
		return nil
	}
	out := &node{kind: kindSeq, src: at}
	check := sp.check
	if sp.kind == specRules {
		check = checkRule
	}
	for i, item := range n.items {
		ishown := fmt.Sprintf("%s[%d]", shown, i)
		s, ok := v.scalarText(item, ishown, item.src, "a string")
		if !ok {
			continue
		}
		if s, ok = v.expand(nil, s, ishown, item.src); !ok {
			continue
		}
		if check != nil {
			if err := check(s); err != nil {
				v.errs.add(item.src, ishown, "%v", err)
				continue
			}
		}
		out.items = append(out.items, &node{kind: kindScalar, text: s, src: item.src})
	}
	return out
}

func (v *validator) envVars(n *node, shown string, at Source) *node {
	if n.kind != kindMap {
		v.errs.add(at, shown, "must be a map of NAME: value, not %s", n.typeName())
		return nil
	}
	out := &node{kind: kindMap, src: at}
	for _, f := range n.fields {
		fshown := join(shown, f.key)
		if f.val.kind == kindNull {
			// Drops the variable a lower layer set (Jets drops nil values too).
			out.fields = append(out.fields, field{key: f.key, val: &node{kind: kindNull, src: f.src}, src: f.src})
			continue
		}
		s, ok := v.scalarText(f.val, fshown, f.src, "a string")
		if !ok {
			continue
		}
		if s, ok = v.expand(nil, s, fshown, f.src); !ok {
			continue
		}
		if err := envrules.CheckVar(f.key, s); err != nil {
			// envrules names the variable; the key path already does.
			v.errs.add(f.src, fshown, "%s", strings.TrimPrefix(err.Error(), f.key+": "))
			continue
		}
		out.fields = append(out.fields, field{key: f.key, val: &node{kind: kindScalar, text: s, src: f.src}, src: f.src})
	}
	return out
}

// nearest is the closest of choices to s, for enum typos.
func nearest(s string, choices []string) string {
	best, bestD := "", len(s)/3+1
	for _, c := range choices {
		if d := distance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
