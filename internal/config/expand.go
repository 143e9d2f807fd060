package config

import (
	"fmt"
	"strings"
)

// vars are the names ${…} may use in any string value.
type vars struct {
	env, project, namespace, ssmEnv string
}

func (v vars) lookup(name string) (string, bool) {
	switch name {
	case "env":
		return v.env, true
	case "project":
		return v.project, true
	case "namespace":
		return v.namespace, true
	case "ssm_env":
		return v.ssmEnv, true
	}
	return "", false
}

// expand replaces ${env}, ${project}, ${namespace} and ${ssm_env}. "$${"
// stands for a literal "${", for values that mean shell syntax; any other
// "$" is kept as it is.
func expand(s string, v vars) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i]) // keeps one '$' of "$$"
			b.WriteString("{")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", s[i:])
		}
		name := s[i+2 : i+end]
		val, ok := v.lookup(name)
		if !ok {
			return "", fmt.Errorf("unknown variable ${%s} (known: ${env}, ${namespace}, ${project}, ${ssm_env}; write $${ for a literal ${)", name)
		}
		b.WriteString(val)
		s = s[i+end+1:]
	}
}

// ssmEnv is Jets' rule: dev and prod have their own parameters, every other
// environment reads dev's.
func ssmEnv(env string) string {
	if env == "prod" {
		return "prod"
	}
	return "dev"
}

// namespace is <project>-<env>[-<extra>] with underscores as dashes, as Jets
// names its stacks and projects.
func namespace(project, env, extra string) string {
	ns := project + "-" + env
	if extra != "" {
		ns += "-" + extra
	}
	return strings.ReplaceAll(ns, "_", "-")
}
