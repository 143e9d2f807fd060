package bootstrap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/hangarci/hangar/internal/envrules"
)

// A view flattens the members of a resource that bootstrap manages into
// "path → value" pairs, the same way for what is wanted and what the
// target returned, so that comparing them is comparing maps and the diff
// names each member by its API path (environment.computeType).
type view map[string]string

// internalKey reports members that are hangar's bookkeeping, not settings:
// they make a resource need an update but are not shown in the diff.
func internalKey(k string) bool {
	return k == "tags."+TagState || k == "tags."+TagBucket
}

// projectView is the managed members of a project. Timeouts are compared
// only when they are wanted: Lambda compute has none, and a runner may
// still report a default.
func projectView(p *cbtypes.Project, withTimeout bool) view {
	v := view{}
	set := func(k, val string) {
		if val != "" {
			v[k] = val
		}
	}
	set("description", aws.ToString(p.Description))
	if p.Source != nil {
		set("source.type", string(p.Source.Type))
		set("source.buildspec", aws.ToString(p.Source.Buildspec))
	}
	if p.Artifacts != nil {
		set("artifacts.type", string(p.Artifacts.Type))
	}
	set("serviceRole", aws.ToString(p.ServiceRole))
	if p.Environment != nil {
		e := *p.Environment
		vars := e.EnvironmentVariables
		e.EnvironmentVariables = nil
		flatten("environment", e, v)
		for _, ev := range vars {
			typ := string(ev.Type)
			if typ == "" {
				typ = "PLAINTEXT"
			}
			v["environment.environmentVariables."+aws.ToString(ev.Name)] = typ + " " + aws.ToString(ev.Value)
		}
	}
	if p.Cache != nil {
		set("cache.type", string(p.Cache.Type))
		modes := make([]string, len(p.Cache.Modes))
		for i, m := range p.Cache.Modes {
			modes[i] = string(m)
		}
		slices.Sort(modes)
		set("cache.modes", strings.Join(modes, ", "))
	}
	if withTimeout && p.TimeoutInMinutes != nil {
		set("timeoutInMinutes", strconv.Itoa(int(*p.TimeoutInMinutes)))
	}
	if p.LogsConfig != nil && p.LogsConfig.CloudWatchLogs != nil {
		set("logsConfig.cloudWatchLogs.status", string(p.LogsConfig.CloudWatchLogs.Status))
	}
	for _, t := range p.Tags {
		v["tags."+aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return v
}

// projectRemovable says which members present only on the target are
// removals to make: environment settings (a variable, the fleet, a
// certificate dropped from the file). Other members the target reports and
// bootstrap does not set (insecureSsl, badge, …) are left alone, and so
// are tags someone else added.
func projectRemovable(k string) bool {
	return strings.HasPrefix(k, "environment.") && !strings.HasPrefix(k, "environment.dockerServer.status")
}

// fleetView is the managed members of a fleet.
func fleetView(f *cbtypes.Fleet) view {
	v := view{}
	if f.BaseCapacity != nil {
		v["baseCapacity"] = strconv.Itoa(int(*f.BaseCapacity))
	}
	if f.ComputeType != "" {
		v["computeType"] = string(f.ComputeType)
	}
	if f.EnvironmentType != "" {
		v["environmentType"] = string(f.EnvironmentType)
	}
	if f.OverflowBehavior != "" {
		v["overflowBehavior"] = string(f.OverflowBehavior)
	}
	if f.ComputeConfiguration != nil {
		flatten("computeConfiguration", f.ComputeConfiguration, v)
	}
	for _, t := range f.Tags {
		v["tags."+aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return v
}

func fleetRemovable(k string) bool { return strings.HasPrefix(k, "computeConfiguration.") }

// flatten adds the members of an SDK value (marshalled as JSON, so field
// names are the Go ones) under prefix, in the API's camelCase. Empty
// strings, nulls and empty lists are left out; a list of scalars is one
// value, sorted (IAM and CodeBuild treat them as sets).
func flatten(prefix string, x any, out view) {
	b, err := json.Marshal(x)
	if err != nil {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return
	}
	flattenValue(prefix, v, out)
}

func flattenValue(path string, v any, out view) {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			flattenValue(path+"."+lowerFirst(k), c, out)
		}
	case []any:
		var scalars []string
		for i, c := range v {
			switch c.(type) {
			case map[string]any, []any:
				flattenValue(path+"."+strconv.Itoa(i), c, out)
			default:
				scalars = append(scalars, scalar(c))
			}
		}
		if len(scalars) > 0 {
			slices.Sort(scalars)
			out[path] = strings.Join(scalars, ", ")
		}
	case nil:
	default:
		if s := scalar(v); s != "" {
			out[path] = s
		}
	}
}

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// diffViews lists what changes from have to want: "k: old → new",
// "+ k: new" and, for members removable says may go, "- k: old". changed
// also counts internal members, which are not listed.
func diffViews(want, have view, removable func(string) bool) (lines []string, changed bool) {
	keys := make([]string, 0, len(want)+len(have))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range have {
		if _, ok := want[k]; !ok && removable(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		w, inWant := want[k]
		h, inHave := have[k]
		if inWant && inHave && w == h {
			continue
		}
		changed = true
		if internalKey(k) {
			continue
		}
		switch {
		case !inHave:
			lines = append(lines, fmt.Sprintf("+ %s: %s", k, show(w)))
		case !inWant:
			lines = append(lines, fmt.Sprintf("- %s: %s", k, show(h)))
		default:
			lines = append(lines, fmt.Sprintf("%s: %s → %s", k, show(h), show(w)))
		}
	}
	return lines, changed
}

// listView lists a new resource's members for its create line.
func listView(want view) []string {
	keys := make([]string, 0, len(want))
	for k := range want {
		if !internalKey(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = fmt.Sprintf("%s: %s", k, show(want[k]))
	}
	return lines
}

// show keeps a value on one line.
func show(s string) string {
	if strings.ContainsAny(s, "\n\t") || s == "" {
		q := strconv.Quote(s)
		if len(q) > 72 {
			q = q[:69] + `…"`
		}
		return q
	}
	return s
}

// sdkEnvironment turns an environment in the API's camelCase into the
// SDK's type (encoding/json matches field names without regard to case).
func sdkEnvironment(spec *ProjectSpec, fleetArn string) (*cbtypes.ProjectEnvironment, error) {
	b, err := json.Marshal(spec.Environment)
	if err != nil {
		return nil, fmt.Errorf("encode environment of %s: %w", spec.Name, err)
	}
	env := new(cbtypes.ProjectEnvironment)
	if err := json.Unmarshal(b, env); err != nil {
		return nil, fmt.Errorf("environment of %s: %w", spec.Name, err)
	}
	env.EnvironmentVariables = envrules.SDK(spec.Variables)
	if spec.UseFleet {
		env.Fleet = &cbtypes.ProjectFleet{FleetArn: aws.String(fleetArn)}
	}
	return env, nil
}

// sdkProject is the project as CodeBuild stores it.
func sdkProject(spec *ProjectSpec, roleArn, fleetArn string, tags map[string]string) (*cbtypes.Project, error) {
	env, err := sdkEnvironment(spec, fleetArn)
	if err != nil {
		return nil, err
	}
	p := &cbtypes.Project{
		Name:        aws.String(spec.Name),
		Description: aws.String(spec.Description),
		Source: &cbtypes.ProjectSource{
			Type:      cbtypes.SourceTypeNoSource,
			Buildspec: aws.String(placeholderBuildspec),
		},
		Artifacts:   &cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeNoArtifacts},
		Environment: env,
		ServiceRole: aws.String(roleArn),
		Cache:       &cbtypes.ProjectCache{Type: cbtypes.CacheType(spec.CacheType)},
		LogsConfig: &cbtypes.LogsConfig{
			CloudWatchLogs: &cbtypes.CloudWatchLogsConfig{Status: cbtypes.LogsConfigStatusTypeEnabled},
		},
		Tags: sdkTags(tags),
	}
	for _, m := range spec.CacheModes {
		p.Cache.Modes = append(p.Cache.Modes, cbtypes.CacheMode(m))
	}
	if spec.Timeout > 0 {
		p.TimeoutInMinutes = aws.Int32(int32(spec.Timeout))
	}
	return p, nil
}

func sdkFleet(spec *FleetSpec, tags map[string]string) (*cbtypes.Fleet, error) {
	f := &cbtypes.Fleet{
		Name:             aws.String(spec.Name),
		BaseCapacity:     aws.Int32(int32(spec.BaseCapacity)),
		ComputeType:      cbtypes.ComputeType(spec.ComputeType),
		EnvironmentType:  cbtypes.EnvironmentType(spec.EnvironmentType),
		OverflowBehavior: cbtypes.FleetOverflowBehavior(spec.OverflowBehavior),
		Tags:             sdkTags(tags),
	}
	if spec.ComputeConfig != nil {
		b, err := json.Marshal(spec.ComputeConfig)
		if err != nil {
			return nil, fmt.Errorf("encode computeConfiguration of %s: %w", spec.Name, err)
		}
		f.ComputeConfiguration = new(cbtypes.ComputeConfiguration)
		if err := json.Unmarshal(b, f.ComputeConfiguration); err != nil {
			return nil, fmt.Errorf("computeConfiguration of %s: %w", spec.Name, err)
		}
	}
	return f, nil
}

// sdkTags sorts tags by key, so requests are stable.
func sdkTags(tags map[string]string) []cbtypes.Tag {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]cbtypes.Tag, len(keys))
	for i, k := range keys {
		out[i] = cbtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])}
	}
	return out
}

func cbTagMap(tags []cbtypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// policyText decodes a policy document as IAM returns it: URL-encoded
// (RFC 3986) on AWS. A document that is JSON already is kept.
func policyText(s string) string {
	if json.Valid([]byte(s)) {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// policySummary says in one line what a policy document allows:
// "Allow s3:*, sqs:* on *".
func policySummary(doc string) string {
	var d struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &d) != nil {
		return "(not a JSON policy document)"
	}
	var stmts []map[string]any
	if json.Unmarshal(d.Statement, &stmts) != nil {
		var one map[string]any
		if json.Unmarshal(d.Statement, &one) != nil {
			return "(no statements)"
		}
		stmts = []map[string]any{one}
	}
	parts := make([]string, 0, len(stmts))
	for _, s := range stmts {
		var b strings.Builder
		fmt.Fprint(&b, s["Effect"])
		if a, ok := s["Action"]; ok {
			b.WriteString(" " + strings.Join(strList(a), ", "))
		} else if a, ok := s["NotAction"]; ok {
			b.WriteString(" all but " + strings.Join(strList(a), ", "))
		}
		if r, ok := s["Resource"]; ok {
			b.WriteString(" on " + strings.Join(strList(r), ", "))
		} else if r, ok := s["NotResource"]; ok {
			b.WriteString(" on all but " + strings.Join(strList(r), ", "))
		}
		if _, ok := s["Condition"]; ok {
			b.WriteString(" (with conditions)")
		}
		parts = append(parts, b.String())
	}
	if len(parts) == 0 {
		return "(no statements)"
	}
	return strings.Join(parts, "; ")
}

func strList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}
