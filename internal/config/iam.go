package config

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// PolicyEntry is one entry of codebuild.iam.default_policy, policy or
// default_vpc_policy: a string, or a map.
type PolicyEntry struct {
	// Action is a service ("s3", becoming s3:*) or an action as it is
	// ("sts:GetCallerIdentity"); "" when the entry is a map.
	Action string
	// Map is a statement (it has Action or NotAction), a policy document (it
	// has Statement), or a named policy {PolicyName, PolicyDocument}.
	Map map[string]any
}

// MarshalJSON writes the entry as it would appear in hangar.yml.
func (p PolicyEntry) MarshalJSON() ([]byte, error) {
	if p.Map != nil {
		return json.Marshal(p.Map)
	}
	return json.Marshal(p.Action)
}

// InlinePolicy is one inline policy of the build role.
type InlinePolicy struct {
	Name     string
	Document string // JSON policy document
}

// Inline policy names of the build role, as Jets names them.
const (
	DefaultPolicyName = "DefaultPolicy"
	CustomPolicyName  = "CustomPolicy"
	VpcPolicyName     = "VpcPolicy"
)

type policyDocument struct {
	Version   string `json:"Version"`
	ID        string `json:"Id,omitempty"`
	Statement []any  `json:"Statement"`
}

const policyVersion = "2012-10-17"

// ExpandPolicy applies the Jets rules to one policy list:
//
//   - only strings: one Allow statement on Resource "*" whose actions are
//     "<svc>:*" for each entry, or the entry itself when it has a ':';
//   - mixed: each string is such a statement of its own, a map with
//     Statement has its statements added, a map with Action (or NotAction)
//     is one statement (Effect defaults to Allow);
//   - a map {PolicyName, PolicyDocument} becomes an inline policy of that
//     name (Jets documents this form but crashes on it).
//
// The statements form the policy called name, left out when there are none
// (so an empty default_vpc_policy adds no VpcPolicy); named policies follow.
func ExpandPolicy(name string, entries []PolicyEntry) ([]InlinePolicy, error) {
	var stmts []any
	var named []InlinePolicy
	allStrings := len(entries) > 0 && !slices.ContainsFunc(entries, func(e PolicyEntry) bool { return e.Map != nil })
	if allStrings {
		actions := make([]any, len(entries))
		for i, e := range entries {
			actions[i] = serviceAction(e.Action)
		}
		stmts = append(stmts, allowAll(actions))
	}
	for i, e := range entries {
		switch {
		case allStrings:
		case e.Map == nil:
			stmts = append(stmts, allowAll([]any{serviceAction(e.Action)}))
		case e.Map["PolicyName"] != nil:
			pname, _ := e.Map["PolicyName"].(string)
			doc, ok := e.Map["PolicyDocument"].(map[string]any)
			if pname == "" || !ok {
				return nil, fmt.Errorf("policy %s entry %d: a named policy needs PolicyName and a PolicyDocument map", name, i)
			}
			body, err := documentJSON(doc)
			if err != nil {
				return nil, fmt.Errorf("policy %s entry %d (%s): %w", name, i, pname, err)
			}
			named = append(named, InlinePolicy{Name: pname, Document: body})
		case e.Map["Statement"] != nil:
			s, err := statements(e.Map["Statement"])
			if err != nil {
				return nil, fmt.Errorf("policy %s entry %d: %w", name, i, err)
			}
			stmts = append(stmts, s...)
		case e.Map["Action"] != nil || e.Map["NotAction"] != nil:
			stmts = append(stmts, withEffect(e.Map))
		default:
			return nil, fmt.Errorf("policy %s entry %d: a map needs Action, Statement, or PolicyName and PolicyDocument", name, i)
		}
	}
	var out []InlinePolicy
	if len(stmts) > 0 {
		body, err := json.Marshal(policyDocument{Version: policyVersion, Statement: stmts})
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", name, err)
		}
		out = append(out, InlinePolicy{Name: name, Document: string(body)})
	}
	return append(out, named...), nil
}

func serviceAction(s string) string {
	if strings.Contains(s, ":") || s == "*" {
		return s
	}
	return s + ":*"
}

func allowAll(actions []any) map[string]any {
	return map[string]any{"Effect": "Allow", "Action": actions, "Resource": "*"}
}

func withEffect(stmt map[string]any) map[string]any {
	if _, ok := stmt["Effect"]; ok {
		return stmt
	}
	out := make(map[string]any, len(stmt)+1)
	for k, v := range stmt {
		out[k] = v
	}
	out["Effect"] = "Allow"
	return out
}

func statements(v any) ([]any, error) {
	switch v := v.(type) {
	case map[string]any:
		return []any{withEffect(v)}, nil
	case []any:
		out := make([]any, 0, len(v))
		for _, s := range v {
			m, ok := s.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("a statement must be a map, not %T", s)
			}
			out = append(out, withEffect(m))
		}
		return out, nil
	}
	return nil, fmt.Errorf("Statement must be a map or a list of maps, not %T", v)
}

func documentJSON(doc map[string]any) (string, error) {
	stmts, err := statements(doc["Statement"])
	if err != nil {
		return "", err
	}
	version, _ := doc["Version"].(string)
	if version == "" {
		version = policyVersion
	}
	id, _ := doc["Id"].(string)
	body, err := json.Marshal(policyDocument{Version: version, ID: id, Statement: stmts})
	return string(body), err
}

// InlinePolicies returns the build role's inline policies: DefaultPolicy,
// CustomPolicy and VpcPolicy (each only when it has statements), then any
// named policies, in that order.
func (c *Config) InlinePolicies() ([]InlinePolicy, error) {
	var out []InlinePolicy
	for _, l := range []struct {
		name    string
		entries []PolicyEntry
	}{
		{DefaultPolicyName, c.CodeBuild.IAM.DefaultPolicy},
		{CustomPolicyName, c.CodeBuild.IAM.Policy},
		{VpcPolicyName, c.CodeBuild.IAM.DefaultVpcPolicy},
	} {
		ps, err := ExpandPolicy(l.name, l.entries)
		if err != nil {
			return nil, fmt.Errorf("expand IAM policies: %w", err)
		}
		out = append(out, ps...)
	}
	seen := map[string]bool{}
	for _, p := range out {
		if seen[p.Name] {
			return nil, fmt.Errorf("expand IAM policies: two inline policies are named %s", p.Name)
		}
		seen[p.Name] = true
	}
	return out, nil
}

// ManagedPolicyARNs returns default_managed_policy then managed_policy as
// ARNs, without repeats.
func (c *Config) ManagedPolicyARNs() []string {
	part := "aws" // a hangar runner's ARNs are always in the aws partition
	if c.Target == TargetAWS {
		part = Partition(c.Region)
	}
	var out []string
	for _, name := range slices.Concat(c.CodeBuild.IAM.DefaultManagedPolicy, c.CodeBuild.IAM.ManagedPolicy) {
		if arn := ManagedPolicyARN(part, name); !slices.Contains(out, arn) {
			out = append(out, arn)
		}
	}
	return out
}

// ManagedPolicyARN gives an AWS managed policy name its ARN; ARNs are kept.
// Jets hard-codes the aws partition; this takes it from the region.
func ManagedPolicyARN(partition, name string) string {
	if strings.HasPrefix(name, "arn:") {
		return name
	}
	return "arn:" + partition + ":iam::aws:policy/" + strings.TrimPrefix(name, "/")
}

// Partition is the AWS partition of a region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	}
	return "aws"
}

// Policy validation, at load time so problems name file and line.

func statementKeys() []string {
	return []string{"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
}

func (v *validator) policies(n *node, shown string, at Source) *node {
	items := []*node{n}
	switch n.kind {
	case kindSeq:
		items = n.items
	case kindMap:
		// A single map is one entry (Jets' top-level Hash form, which it
		// cannot actually reach).
	default:
		v.errs.add(at, shown, "must be a list of services, actions or policy maps, not %s", n.typeName())
		return nil
	}
	out := &node{kind: kindSeq, src: at}
	reserved := []string{DefaultPolicyName, CustomPolicyName, VpcPolicyName}
	for i, item := range items {
		ishown := shown
		if n.kind == kindSeq {
			ishown = fmt.Sprintf("%s[%d]", shown, i)
		}
		iat := item.src
		if n.kind == kindMap {
			iat = at
		}
		switch item.kind {
		case kindScalar:
			s, ok := v.expand(nil, item.text, ishown, iat)
			if !ok {
				continue
			}
			if err := checkAction(s); err != nil {
				v.errs.add(iat, ishown, "%v", err)
				continue
			}
			out.items = append(out.items, &node{kind: kindScalar, text: s, src: iat})
		case kindMap:
			if !v.policyMap(item, ishown, iat, reserved) {
				continue
			}
			if x, ok := v.expandTree(item, ishown, iat); ok {
				out.items = append(out.items, x)
			}
		default:
			v.errs.add(iat, ishown, "must be a service, an action or a policy map, not %s", item.typeName())
		}
	}
	return out
}

func (v *validator) policyMap(n *node, shown string, at Source, reserved []string) bool {
	switch {
	case n.get("PolicyName") != nil || n.get("PolicyDocument") != nil:
		ok := v.keysIn(n, shown, []string{"PolicyName", "PolicyDocument"})
		name, doc := n.get("PolicyName"), n.get("PolicyDocument")
		if name == nil || doc == nil {
			v.errs.add(at, shown, "a named policy needs both PolicyName and PolicyDocument")
			return false
		}
		if name.kind != kindScalar || len(name.text) > 128 || !policyNameRE.MatchString(name.text) {
			v.errs.add(fieldSrc(n, "PolicyName", at), shown+".PolicyName", "must be a policy name (letters, digits, +=,.@_-), not %s", name.typeName())
			ok = false
		} else if slices.Contains(reserved, name.text) {
			v.errs.add(fieldSrc(n, "PolicyName", at), shown+".PolicyName", "%s is the name of a policy Hangar makes; choose another", name.text)
			ok = false
		}
		if doc.kind != kindMap {
			v.errs.add(fieldSrc(n, "PolicyDocument", at), shown+".PolicyDocument", "must be a policy document map, not %s", doc.typeName())
			return false
		}
		return v.document(doc, shown+".PolicyDocument", fieldSrc(n, "PolicyDocument", at)) && ok
	case n.get("Statement") != nil:
		return v.document(n, shown, at)
	case slices.ContainsFunc(statementKeys(), func(k string) bool { return n.get(k) != nil }):
		// Statement-like (say Actions + Resource): report it as a statement,
		// which names the misspelt key.
		return v.statement(n, shown, at)
	}
	v.errs.add(at, shown, "a policy map needs Action (a statement), Statement (a policy document), or PolicyName and PolicyDocument")
	return false
}

func (v *validator) document(n *node, shown string, at Source) bool {
	ok := v.keysIn(n, shown, []string{"Version", "Id", "Statement"})
	if ver := n.get("Version"); ver != nil && (ver.kind != kindScalar || (ver.text != "2012-10-17" && ver.text != "2008-10-17")) {
		v.errs.add(fieldSrc(n, "Version", at), shown+".Version", "must be 2012-10-17")
		ok = false
	}
	st := n.get("Statement")
	switch {
	case st == nil:
		v.errs.add(at, shown, "a policy document needs Statement")
		return false
	case st.kind == kindMap:
		return v.statement(st, shown+".Statement", fieldSrc(n, "Statement", at)) && ok
	case st.kind == kindSeq && len(st.items) > 0:
		for i, s := range st.items {
			sshown := fmt.Sprintf("%s.Statement[%d]", shown, i)
			if s.kind != kindMap {
				v.errs.add(s.src, sshown, "must be a statement map, not %s", s.typeName())
				ok = false
				continue
			}
			ok = v.statement(s, sshown, s.src) && ok
		}
		return ok
	}
	v.errs.add(fieldSrc(n, "Statement", at), shown+".Statement", "must be a statement or a non-empty list of statements")
	return false
}

func (v *validator) statement(n *node, shown string, at Source) bool {
	ok := v.keysIn(n, shown, statementKeys())
	if n.get("Action") != nil == (n.get("NotAction") != nil) {
		v.errs.add(at, shown, "a statement needs Action or NotAction (one of them)")
		ok = false
	}
	if n.get("Resource") != nil == (n.get("NotResource") != nil) {
		v.errs.add(at, shown, "a statement needs Resource or NotResource (one of them)")
		ok = false
	}
	if e := n.get("Effect"); e != nil && (e.kind != kindScalar || (e.text != "Allow" && e.text != "Deny")) {
		v.errs.add(fieldSrc(n, "Effect", at), shown+".Effect", "must be Allow or Deny")
		ok = false
	}
	for _, k := range []string{"Action", "NotAction", "Resource", "NotResource"} {
		val := n.get(k)
		if val == nil {
			continue
		}
		items := []*node{val}
		if val.kind == kindSeq {
			items = val.items
		}
		if len(items) == 0 {
			v.errs.add(fieldSrc(n, k, at), shown+"."+k, "must not be empty")
			ok = false
		}
		for _, it := range items {
			if it.kind != kindScalar || it.stype != scalarString {
				v.errs.add(fieldSrc(n, k, at), shown+"."+k, "must be a string or a list of strings")
				ok = false
				break
			}
			if strings.HasSuffix(k, "Action") && it.text != "*" && !strings.Contains(it.text, ":") {
				v.errs.add(fieldSrc(n, k, at), shown+"."+k, "%q is not an action; write %s:* (only plain list entries get :* added)", it.text, it.text)
				ok = false
			}
		}
	}
	if c := n.get("Condition"); c != nil && c.kind != kindMap {
		v.errs.add(fieldSrc(n, "Condition", at), shown+".Condition", "must be a map")
		ok = false
	}
	return ok
}

// keysIn reports keys of n outside allowed, with suggestions.
func (v *validator) keysIn(n *node, shown string, allowed []string) bool {
	ok := true
	for _, f := range n.fields {
		if slices.Contains(allowed, f.key) {
			continue
		}
		ok = false
		if f.key == "Principal" || f.key == "NotPrincipal" {
			v.errs.add(f.src, join(shown, f.key), "a role's own policy cannot name a principal")
			continue
		}
		if hint := nearest(f.key, allowed); hint != "" {
			v.errs.add(f.src, join(shown, f.key), "unknown key (did you mean %s?)", hint)
			continue
		}
		v.errs.add(f.src, join(shown, f.key), "unknown key (expected one of %s)", strings.Join(allowed, ", "))
	}
	return ok
}

func fieldSrc(n *node, key string, def Source) Source {
	for _, f := range n.fields {
		if f.key == key {
			return f.src
		}
	}
	return def
}

// expandTree copies a free-form value (a policy map) with ${…} expanded in
// every string.
func (v *validator) expandTree(n *node, shown string, at Source) (*node, bool) {
	switch n.kind {
	case kindScalar:
		if n.stype != scalarString {
			return n, true
		}
		s, ok := v.expand(nil, n.text, shown, at)
		if !ok {
			return nil, false
		}
		c := *n
		c.text = s
		return &c, true
	case kindSeq:
		c := &node{kind: kindSeq, src: n.src}
		ok := true
		for i, it := range n.items {
			x, good := v.expandTree(it, fmt.Sprintf("%s[%d]", shown, i), it.src)
			ok = ok && good
			c.items = append(c.items, x)
		}
		return c, ok
	case kindMap:
		c := &node{kind: kindMap, src: n.src}
		ok := true
		for _, f := range n.fields {
			x, good := v.expandTree(f.val, join(shown, f.key), f.src)
			ok = ok && good
			c.fields = append(c.fields, field{key: f.key, val: x, src: f.src})
		}
		return c, ok
	}
	return n, true
}

// toAny turns a value into plain Go data for JSON.
func toAny(n *node) any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case kindScalar:
		switch n.stype {
		case scalarInt:
			return n.num
		case scalarBool:
			return n.bit
		case scalarFloat:
			// JSON has no Inf or NaN; those stay text.
			if f, err := strconv.ParseFloat(n.text, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f
			}
		}
		return n.text
	case kindSeq:
		out := make([]any, len(n.items))
		for i, it := range n.items {
			out[i] = toAny(it)
		}
		return out
	case kindMap:
		out := make(map[string]any, len(n.fields))
		for _, f := range n.fields {
			out[f.key] = toAny(f.val)
		}
		return out
	}
	return nil
}
