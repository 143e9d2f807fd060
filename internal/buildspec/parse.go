package buildspec

import (
	"fmt"
	"strings"

	"github.com/hangarci/hangar/internal/model"
)

// Parse parses and validates a buildspec. A buildspec that cannot be used
// returns an *Error; unknown keys only add to Spec.Warnings.
func Parse(data []byte) (*Spec, error) {
	b := &budget{left: maxNodes}
	root, perr := parseYAML(data, b)
	if perr != nil {
		return nil, perr
	}
	d := decoder{budget: b}
	spec, derr := d.spec(root)
	if derr != nil {
		return nil, derr
	}
	spec.Warnings = d.warnings
	return spec, nil
}

type decoder struct {
	budget   *budget
	warnings []Warning
}

type handlers map[string]func(p pair) *Error

// fields runs the handler of each key of map n in file order; keys without
// a handler become a warning for section, as CodeBuild does.
func (d *decoder) fields(n *node, section string, h handlers) *Error {
	// Warnings of inner sections come after this one's, in file order.
	slot := len(d.warnings)
	var unknown []string
	for _, p := range n.pairs {
		if err := d.budget.spend(); err != nil {
			return err
		}
		f, ok := h[p.key]
		if !ok {
			unknown = append(unknown, p.key)
			continue
		}
		if err := f(p); err != nil {
			return err
		}
	}
	if len(unknown) > 0 {
		d.warnings = append(d.warnings[:slot], append([]Warning{{Section: section, Keys: unknown}}, d.warnings[slot:]...)...)
	}
	return nil
}

func (d *decoder) spec(root *node) (*Spec, *Error) {
	if root == nil || root.kind == kindNull {
		return nil, errorf(0, msgNoVersion)
	}
	if root.kind != kindMap {
		return nil, typeMismatch("buildspec", "map", root)
	}
	s := &Spec{}
	// The version decides everything else, so it is checked first.
	var version *pair
	for i := range root.pairs {
		if root.pairs[i].key == "version" {
			version = &root.pairs[i]
		}
	}
	if version == nil || version.val.kind == kindNull {
		return nil, errorf(0, msgNoVersion)
	}
	if version.val.kind != kindScalar {
		return nil, typeMismatch("version", "string", version.val)
	}
	s.Version = version.val.text
	if s.Version != "0.2" && s.Version != "0.1" {
		return nil, errorf(version.val.line, msgBadVersion, s.Version)
	}
	phasesSeen := false
	err := d.fields(root, "root", handlers{
		"version": func(pair) *Error { return nil },
		"run-as": func(p pair) (err *Error) {
			s.RunAs, err = d.str("run-as", p.val)
			return err
		},
		"env": func(p pair) *Error { return d.env(p.val, &s.Env) },
		// The 0.1 name of env.variables, still accepted by CodeBuild.
		"environment_variables": func(p pair) *Error { return d.envV01(p.val, &s.Env) },
		"phases": func(p pair) *Error {
			phasesSeen = true
			return d.phases(p, &s.Phases)
		},
		"artifacts": func(p pair) (err *Error) {
			if p.val.kind == kindNull {
				return nil
			}
			s.Artifacts, err = d.artifacts(p, "artifacts", true)
			return err
		},
		"reports": func(p pair) (err *Error) {
			s.Reports, err = d.reports(p.val)
			return err
		},
		"cache": func(p pair) (err *Error) {
			if p.val.kind == kindNull {
				return nil
			}
			s.Cache, err = d.cache(p)
			return err
		},
		"proxy": func(p pair) (err *Error) {
			if p.val.kind == kindNull {
				return nil
			}
			s.Proxy, err = d.proxy(p.val)
			return err
		},
		"batch": func(p pair) (err *Error) {
			s.Batch, err = plain(p.val, d.budget, 0)
			return err
		},
	})
	if err != nil {
		return nil, err
	}
	if !phasesSeen {
		return nil, errorf(0, "phases is required, see documentation")
	}
	return s, nil
}

func (d *decoder) env(n *node, env *Env) *Error {
	if n.kind == kindNull {
		return nil
	}
	if n.kind != kindMap {
		return typeMismatch("env", "map", n)
	}
	return d.fields(n, "env", handlers{
		"shell": func(p pair) (err *Error) {
			env.Shell, err = d.str("shell", p.val)
			return err
		},
		"variables": func(p pair) (err *Error) {
			env.Variables, err = d.strMap("Variables", p.val)
			return err
		},
		"parameter-store": func(p pair) (err *Error) {
			env.ParameterStore, err = d.strMap("ParameterStore", p.val)
			return err
		},
		"secrets-manager": func(p pair) (err *Error) {
			env.SecretsManager, err = d.strMap("SecretsManager", p.val)
			return err
		},
		"exported-variables": func(p pair) (err *Error) {
			env.ExportedVariables, err = d.strList("ExportedVariables", p.val)
			return err
		},
		"git-credential-helper": func(p pair) (err *Error) {
			env.GitCredentialHelper, err = d.yesNo("git-credential-helper", p.val)
			return err
		},
	})
}

func (d *decoder) envV01(n *node, env *Env) *Error {
	if n.kind == kindNull {
		return nil
	}
	if n.kind != kindMap {
		return typeMismatch("environment_variables", "map", n)
	}
	return d.fields(n, "environment_variables", handlers{
		"plaintext": func(p pair) *Error {
			vars, err := d.strMap("Variables", p.val)
			env.Variables = append(env.Variables, vars...)
			return err
		},
	})
}

func (d *decoder) phases(p pair, out *Phases) *Error {
	n := p.val
	if n.kind == kindNull || (n.kind == kindMap && len(n.pairs) == 0) {
		return errorf(p.line, "phases is required, see documentation")
	}
	if n.kind != kindMap {
		return typeMismatch("phases", "map", n)
	}
	for _, pp := range n.pairs {
		t, ok := phaseForKey(pp.key)
		if !ok {
			return errorf(pp.line, msgBadPhaseName, pp.key)
		}
		ph, err := d.phase(t, pp)
		if err != nil {
			return err
		}
		out.set(t, ph)
	}
	return nil
}

func (d *decoder) phase(t string, p pair) (*Phase, *Error) {
	ph := &Phase{Name: t, Line: p.line}
	n := p.val
	switch n.kind {
	case kindNull:
		return nil, errorf(p.line, "commands is required in phase %s", phaseKey(t))
	case kindMap:
	default:
		return nil, typeMismatch("phase "+phaseKey(t), "map", n)
	}
	h := handlers{
		"run-as": func(p pair) (err *Error) {
			ph.RunAs, err = d.str("run-as", p.val)
			return err
		},
		"on-failure": func(p pair) *Error {
			v, err := d.str("on-failure", p.val)
			if err != nil {
				return err
			}
			o, perr := ParseOnFailure(v)
			if perr != nil {
				return errorf(p.val.line, "invalid on-failure value %q in phase %s (%v); expecting ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex>", v, phaseKey(t), perr)
			}
			ph.OnFailure = o
			return nil
		},
		"commands": func(p pair) (err *Error) {
			ph.Commands, err = d.commands("Commands", p.val)
			return err
		},
		"finally": func(p pair) (err *Error) {
			ph.Finally, err = d.commands("Finally", p.val)
			return err
		},
		// GitHub Actions steps need GitHub's runner, which Hangar does not have.
		"steps": func(p pair) *Error {
			return errorf(p.line, "unsupported field \"steps\" in buildspec: Hangar does not run GitHub Actions steps")
		},
	}
	if t == model.PhaseInstall {
		h["runtime-versions"] = func(p pair) (err *Error) {
			ph.RuntimeVersions, err = d.strMap("RuntimeVersions", p.val)
			return err
		}
	}
	if err := d.fields(n, t, h); err != nil {
		return nil, err
	}
	if len(ph.Commands) == 0 {
		switch {
		case len(ph.Finally) > 0:
			return nil, errorf(p.line, "commands is required when finally is set in phase %s", phaseKey(t))
		case t == model.PhaseInstall && len(ph.RuntimeVersions) > 0:
		default:
			return nil, errorf(p.line, "commands is required in phase %s", phaseKey(t))
		}
	}
	return ph, nil
}

// commands reads a list of commands. A null entry is refused: it is nearly
// always a command that went onto the next line.
func (d *decoder) commands(what string, n *node) ([]string, *Error) {
	if n.kind == kindNull {
		return nil, nil
	}
	if n.kind != kindSeq {
		return nil, typeMismatch(what, "list", n)
	}
	out := make([]string, 0, len(n.items))
	for i, item := range n.items {
		if err := d.budget.spend(); err != nil {
			return nil, err
		}
		if item.kind != kindScalar {
			return nil, typeMismatch(fmt.Sprintf("%s[%d]", what, i), "string", item)
		}
		out = append(out, item.text)
	}
	return out, nil
}

func (d *decoder) artifacts(p pair, section string, top bool) (*Artifacts, *Error) {
	n := p.val
	if n.kind != kindMap {
		return nil, typeMismatch(section, "map", n)
	}
	a := &Artifacts{}
	hasFiles := false
	h := handlers{
		"files": func(p pair) (err *Error) {
			a.Files, err = d.paths("Files", p.val)
			hasFiles = len(a.Files) > 0
			return err
		},
		"name": func(p pair) (err *Error) {
			a.Name, err = d.str("name", p.val)
			return err
		},
		"discard-paths": func(p pair) (err *Error) {
			a.DiscardPaths, err = d.yesNo("discard-paths", p.val)
			return err
		},
		"base-directory": func(p pair) (err *Error) {
			a.BaseDirectory, err = d.str("base-directory", p.val)
			return err
		},
		"exclude-paths": func(p pair) (err *Error) {
			a.ExcludePaths, err = d.paths("ExcludePaths", p.val)
			return err
		},
		"enable-symlinks": func(p pair) (err *Error) {
			a.EnableSymlinks, err = d.yesNo("enable-symlinks", p.val)
			return err
		},
		"s3-prefix": func(p pair) (err *Error) {
			a.S3Prefix, err = d.str("s3-prefix", p.val)
			return err
		},
	}
	if top {
		h["secondary-artifacts"] = func(p pair) *Error {
			if p.val.kind == kindNull {
				return nil
			}
			if p.val.kind != kindMap {
				return typeMismatch("secondary-artifacts", "map", p.val)
			}
			for _, sp := range p.val.pairs {
				sa, err := d.artifacts(sp, "secondary-artifacts."+sp.key, false)
				if err != nil {
					return err
				}
				a.Secondary = append(a.Secondary, SecondaryArtifact{Identifier: sp.key, Artifacts: *sa})
			}
			return nil
		}
	}
	if err := d.fields(n, section, h); err != nil {
		return nil, err
	}
	if !hasFiles {
		return nil, errorf(p.line, "files is required in %s", section)
	}
	return a, nil
}

func (d *decoder) reports(n *node) ([]Report, *Error) {
	if n.kind == kindNull {
		return nil, nil
	}
	if n.kind != kindMap {
		return nil, typeMismatch("reports", "map", n)
	}
	var out []Report
	for _, p := range n.pairs {
		if p.val.kind != kindMap {
			return nil, typeMismatch("reports."+p.key, "map", p.val)
		}
		r := Report{Name: p.key}
		hasFiles := false
		err := d.fields(p.val, "reports."+p.key, handlers{
			"files": func(p pair) (err *Error) {
				r.Files, err = d.paths("Files", p.val)
				hasFiles = len(r.Files) > 0
				return err
			},
			"base-directory": func(p pair) (err *Error) {
				r.BaseDirectory, err = d.str("base-directory", p.val)
				return err
			},
			"discard-paths": func(p pair) (err *Error) {
				r.DiscardPaths, err = d.yesNo("discard-paths", p.val)
				return err
			},
			"file-format": func(p pair) (err *Error) {
				r.FileFormat, err = d.str("file-format", p.val)
				return err
			},
		})
		if err != nil {
			return nil, err
		}
		if !hasFiles {
			return nil, errorf(p.line, "files is required in reports.%s", p.key)
		}
		out = append(out, r)
	}
	return out, nil
}

func (d *decoder) cache(p pair) (*Cache, *Error) {
	n := p.val
	if n.kind != kindMap {
		return nil, typeMismatch("cache", "map", n)
	}
	c := &Cache{}
	err := d.fields(n, "cache", handlers{
		"key": func(p pair) (err *Error) {
			c.Key, err = d.str("key", p.val)
			return err
		},
		"fallback-keys": func(p pair) (err *Error) {
			c.FallbackKeys, err = d.paths("FallbackKeys", p.val)
			return err
		},
		"action": func(p pair) *Error {
			v, err := d.str("action", p.val)
			if err != nil {
				return err
			}
			if v != "" && v != "restore" && v != "save" {
				return errorf(p.val.line, "invalid cache action %s, expecting restore or save", v)
			}
			c.Action = v
			return nil
		},
		"paths": func(p pair) (err *Error) {
			c.Paths, err = d.paths("Paths", p.val)
			return err
		},
	})
	if err != nil {
		return nil, err
	}
	if len(c.Paths) == 0 {
		return nil, errorf(p.line, "paths is required in cache")
	}
	return c, nil
}

func (d *decoder) proxy(n *node) (*Proxy, *Error) {
	if n.kind != kindMap {
		return nil, typeMismatch("proxy", "map", n)
	}
	px := &Proxy{}
	err := d.fields(n, "proxy", handlers{
		"upload-artifacts": func(p pair) (err *Error) {
			px.UploadArtifacts, err = d.yesNo("upload-artifacts", p.val)
			return err
		},
		"logs": func(p pair) (err *Error) {
			px.Logs, err = d.yesNo("logs", p.val)
			return err
		},
	})
	return px, err
}

// str reads a string: any scalar as written, null as "".
func (d *decoder) str(what string, n *node) (string, *Error) {
	switch n.kind {
	case kindScalar:
		return n.text, nil
	case kindNull:
		return "", nil
	}
	return "", typeMismatch(what, "string", n)
}

func (d *decoder) strList(what string, n *node) ([]string, *Error) {
	if n.kind == kindNull {
		return nil, nil
	}
	if n.kind != kindSeq {
		return nil, typeMismatch(what, "list", n)
	}
	out := make([]string, 0, len(n.items))
	for i, item := range n.items {
		if err := d.budget.spend(); err != nil {
			return nil, err
		}
		s, err := d.str(fmt.Sprintf("%s[%d]", what, i), item)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// paths reads a list of path patterns. One string stands for a list of one:
// CodeBuild's own samples write "files: imagedefinitions.json".
func (d *decoder) paths(what string, n *node) ([]string, *Error) {
	if n.kind == kindScalar {
		return []string{n.text}, nil
	}
	return d.strList(what, n)
}

// strMap reads a map of strings in file order.
func (d *decoder) strMap(what string, n *node) ([]Var, *Error) {
	if n.kind == kindNull {
		return nil, nil
	}
	if n.kind != kindMap {
		return nil, typeMismatch(what, "map", n)
	}
	out := make([]Var, 0, len(n.pairs))
	for _, p := range n.pairs {
		if err := d.budget.spend(); err != nil {
			return nil, err
		}
		v, err := d.str(fmt.Sprintf("%s[%s]", what, p.key), p.val)
		if err != nil {
			return nil, err
		}
		out = append(out, Var{Name: p.key, Value: v})
	}
	return out, nil
}

// yesNo reads the buildspec's yes/no flags; true/false are accepted too
// because YAML writers emit them.
func (d *decoder) yesNo(what string, n *node) (bool, *Error) {
	v, err := d.str(what, n)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(v) {
	case "yes", "true":
		return true, nil
	case "no", "false", "":
		return false, nil
	}
	return false, errorf(n.line, "invalid %s value %s, expecting yes or no", what, v)
}
