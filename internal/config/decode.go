package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Entry is one effective value and where it came from.
type Entry struct {
	Key    string // dotted key; map entries add their own key (codebuild.project.env.vars.NAME)
	Value  string // JSON-style rendering
	Source Source
}

// Entries lists every effective value in schema order, derived names last.
func (c *Config) Entries() []Entry { return slices.Clone(c.entries) }

// Source says where the value of key came from.
func (c *Config) Source(key string) (Source, bool) {
	for _, e := range c.entries {
		if e.Key == key {
			return e.Source, true
		}
	}
	return Source{}, false
}

// Defaults that DESIGN §2 fixes.
func defaultPolicy() []string {
	return []string{"apigateway", "cloudformation", "cloudfront", "codebuild", "dynamodb", "ecr", "ecr-public",
		"events", "iam", "lambda", "logs", "route53", "s3", "sns", "sqs", "sts:GetServiceBearerToken", "waf", "wafv2"}
}

const (
	defaultRegion  = "us-east-1"
	defaultTimeout = 60
)

// defaultCompute is the compute_type a project gets unless set: for target
// aws, Jets' ARM defaults; for a hangar runner, its own architecture.
func defaultCompute(target Target, arch string, lambda bool) (ComputeType, string) {
	armImage := ComputeType{"BUILD_GENERAL1_SMALL", "aws/codebuild/amazonlinux2-aarch64-standard:3.0", "ARM_CONTAINER"}
	armLambda := ComputeType{"BUILD_LAMBDA_1GB", "aws/codebuild/amazonlinux-aarch64-lambda-standard:go1.24", "ARM_LAMBDA_CONTAINER"}
	x86Image := ComputeType{"BUILD_GENERAL1_SMALL", "aws/codebuild/amazonlinux2-x86_64-standard:5.0", "LINUX_CONTAINER"}
	x86Lambda := ComputeType{"BUILD_LAMBDA_1GB", "aws/codebuild/amazonlinux-x86_64-lambda-standard:go1.24", "LINUX_LAMBDA_CONTAINER"}
	note := "runner arch " + arch
	arm := arch == "arm64"
	if target == TargetAWS {
		note, arm = "target aws", true
	}
	switch {
	case arm && lambda:
		return armLambda, note
	case arm:
		return armImage, note
	case lambda:
		return x86Lambda, note
	}
	return x86Image, note
}

type decoder struct {
	root    *node
	errs    *errs
	environ map[string]string
	entries []Entry
	warns   []string
}

func (d *decoder) at(path string) *node {
	n := d.root
	for _, seg := range strings.Split(path, ".") {
		if n = n.get(seg); n == nil {
			return nil
		}
	}
	return n
}

func (d *decoder) add(key string, v any, src Source) {
	d.entries = append(d.entries, Entry{Key: key, Value: render(v), Source: src})
}

func render(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func defaultSrc(note string) Source { return Source{Kind: FromDefault, Note: note} }

// pick is the winning spelling of a key: the highest layer, then the first
// of paths. It warns when one layer gives two spellings different values.
func (d *decoder) pick(paths ...string) (*node, string) {
	var best *node
	bestPath := ""
	for _, p := range paths {
		n := d.at(p)
		if n == nil || n.kind != kindScalar {
			continue
		}
		switch {
		case best == nil || n.src.rank > best.src.rank:
			best, bestPath = n, p
		case n.src.rank == best.src.rank && n.text != best.text:
			d.warns = append(d.warns, fmt.Sprintf("%s: %s = %s is ignored: %s = %s (%s) wins",
				n.src, p, n.text, bestPath, best.text, best.src))
		}
	}
	return best, bestPath
}

func (d *decoder) str(key, def string, defSrc Source, aliases ...string) (string, Source) {
	n, p := d.pick(append([]string{key}, aliases...)...)
	if n == nil {
		d.add(key, def, defSrc)
		return def, defSrc
	}
	src := n.src
	if p != key {
		src.As = p
	}
	d.add(key, n.text, src)
	return n.text, src
}

// integer reads key; spellings, when given, are every path that sets it,
// in the order they win within one layer.
func (d *decoder) integer(key string, def int, spellings ...string) (int, Source) {
	if len(spellings) == 0 {
		spellings = []string{key}
	}
	n, p := d.pick(spellings...)
	if n == nil {
		d.add(key, def, defaultSrc(""))
		return def, defaultSrc("")
	}
	src := n.src
	if p != key {
		src.As = p
	}
	d.add(key, n.num, src)
	return int(n.num), src
}

func (d *decoder) boolean(key string) bool {
	if n := d.at(key); n != nil && n.kind == kindScalar {
		d.add(key, n.bit, n.src)
		return n.bit
	}
	d.add(key, false, defaultSrc(""))
	return false
}

func (d *decoder) list(key string, def []string) []string {
	n := d.at(key)
	if n == nil || n.kind != kindSeq {
		d.add(key, def, defaultSrc(""))
		return def
	}
	out := make([]string, 0, len(n.items))
	for _, it := range n.items {
		out = append(out, it.text)
	}
	d.add(key, out, n.src)
	return out
}

func (d *decoder) policies(key string, def []string) []PolicyEntry {
	out := []PolicyEntry{}
	n := d.at(key)
	if n == nil || n.kind != kindSeq {
		for _, s := range def {
			out = append(out, PolicyEntry{Action: s})
		}
		d.add(key, out, defaultSrc(""))
		return out
	}
	for _, it := range n.items {
		if it.kind == kindMap {
			m, _ := toAny(it).(map[string]any)
			out = append(out, PolicyEntry{Map: m})
		} else {
			out = append(out, PolicyEntry{Action: it.text})
		}
	}
	d.add(key, out, n.src)
	return out
}

// compute resolves a compute_type key by key over the default, so setting
// only ComputeType keeps the default image and type (Jets would drop them).
func (d *decoder) compute(key string, def ComputeType, note string) ComputeType {
	src := defaultSrc(note)
	var ct ComputeType
	ct.ComputeType, _ = d.str(key+".computeType", def.ComputeType, src)
	ct.Image, _ = d.str(key+".image", def.Image, src)
	ct.Type, _ = d.str(key+".type", def.Type, src)
	return ct
}

// tree lists a free-form map leaf by leaf.
func (d *decoder) tree(key string) map[string]any {
	n := d.at(key)
	if n == nil || n.kind != kindMap || len(n.fields) == 0 {
		d.add(key, map[string]any{}, defaultSrc(""))
		return map[string]any{}
	}
	var walk func(prefix string, n *node)
	walk = func(prefix string, n *node) {
		for _, f := range n.fields {
			if f.val.kind == kindMap && len(f.val.fields) > 0 {
				walk(join(prefix, f.key), f.val)
				continue
			}
			d.add(join(prefix, f.key), toAny(f.val), f.src)
		}
	}
	walk(key, n)
	m, _ := toAny(n).(map[string]any)
	return m
}

func (d *decoder) vars(key string) map[string]string {
	out := map[string]string{}
	n := d.at(key)
	if n == nil || n.kind != kindMap || len(n.fields) == 0 {
		d.add(key, map[string]any{}, defaultSrc(""))
		return out
	}
	fields := slices.Clone(n.fields)
	slices.SortFunc(fields, func(a, b field) int { return strings.Compare(a.key, b.key) })
	for _, f := range fields {
		out[f.key] = f.val.text
		d.add(key+"."+f.key, f.val.text, f.src)
	}
	return out
}

func (d *decoder) decode(c *Config, folder, arch string) {
	var projectSrc Source
	c.Project, projectSrc = d.str("project", folder, defaultSrc("folder name"))
	c.Env, _ = d.str("env", "dev", defaultSrc(""))
	c.Extra, _ = d.str("extra", "", defaultSrc(""))
	target, targetSrc := d.str("target", string(TargetEmbedded), defaultSrc(""))
	c.Target = Target(target)
	c.Endpoint, _ = d.str("endpoint", "", defaultSrc(""))
	c.Region = d.region(c.Target)

	c.Code.Copy.AlwaysKeep = d.list("code.copy.always_keep", []string{})
	c.Code.Copy.AlwaysRemove = d.list("code.copy.always_remove", []string{"tmp"})

	p := &c.CodeBuild.Project
	def, note := defaultCompute(c.Target, arch, false)
	p.ComputeType = d.compute("codebuild.project.compute_type", def, note)
	p.Environment = d.tree("codebuild.project.environment")
	p.Env.Vars = d.vars("codebuild.project.env.vars")
	p.Env.DefaultPass = d.list("codebuild.project.env.default_pass", []string{"HANGAR_ENV", "HANGAR_EXTRA", "HANGAR_PROJECT"})
	p.Env.Pass = d.list("codebuild.project.env.pass", []string{})
	p.Env.Block = d.list("codebuild.project.env.block", []string{})
	// Jets reads project.timeout before timeout_in_minutes; codebuild.timeout
	// is only in its docs, so it comes last (see Load).
	p.TimeoutInMinutes, _ = d.integer("codebuild.project.timeout_in_minutes", defaultTimeout,
		"codebuild.project.timeout", "codebuild.project.timeout_in_minutes", "codebuild.timeout")
	// Listed under the project key Jets reads, whichever spelling set it.
	c.CodeBuild.FleetOverride, _ = d.str("codebuild.project.fleet_override", "", defaultSrc(""), "codebuild.fleet_override")

	c.CodeBuild.Fleet.Enable = d.boolean("codebuild.fleet.enable")
	c.CodeBuild.Fleet.BaseCapacity, _ = d.integer("codebuild.fleet.base_capacity", 1)

	iam := &c.CodeBuild.IAM
	iam.DefaultPolicy = d.policies("codebuild.iam.default_policy", defaultPolicy())
	iam.Policy = d.policies("codebuild.iam.policy", []string{})
	iam.DefaultVpcPolicy = d.policies("codebuild.iam.default_vpc_policy", []string{"ec2"})
	iam.DefaultManagedPolicy = d.list("codebuild.iam.default_managed_policy", []string{"AmazonSSMReadOnlyAccess", "AWSCertificateManagerReadOnly"})
	iam.ManagedPolicy = d.list("codebuild.iam.managed_policy", []string{})

	c.CodeBuild.Lambda.Enable = d.boolean("codebuild.lambda.enable")
	def, note = defaultCompute(c.Target, arch, true)
	c.CodeBuild.Lambda.Project.ComputeType = d.compute("codebuild.lambda.project.compute_type", def, note)

	d.check(c, projectSrc, targetSrc)

	derived := Source{Kind: FromDerived}
	d.add("namespace", c.Namespace(), Source{Kind: FromDerived, Note: "project-env[-extra]"})
	d.add("ssm_env", c.SSMEnv(), Source{Kind: FromDerived, Note: "env if dev or prod, else dev"})
	d.add("project_name", c.ProjectName(), derived)
	d.add("lambda_project_name", c.LambdaProjectName(), derived)
	d.add("fleet_name", c.FleetName(), derived)
	d.add("role_name", c.RoleName(), derived)
	d.add("project_environment", c.Environment(), Source{Kind: FromDerived, Note: "compute_type + environment"})
	d.add("lambda_project_environment", c.LambdaEnvironment(), Source{Kind: FromDerived, Note: "lambda compute_type"})
	c.entries = d.entries
	c.Warnings = d.warns
}

// region applies AWS_REGION / AWS_DEFAULT_REGION for target aws, above the
// files and below HANGAR_REGION and --region.
func (d *decoder) region(target Target) string {
	n := d.at("region")
	if target == TargetAWS && (n == nil || n.src.rank < rankAWSEnv) {
		for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
			v := d.environ[name]
			if v == "" {
				continue
			}
			src := Source{Kind: FromEnv, Name: name, rank: rankAWSEnv}
			if err := checkRegion(v); err != nil {
				d.errs.add(src, "region", "%v", err)
				break
			}
			d.add("region", v, src)
			return v
		}
	}
	r, _ := d.str("region", defaultRegion, defaultSrc(""))
	return r
}

// check finds problems that involve several keys.
func (d *decoder) check(c *Config, projectSrc, targetSrc Source) {
	if c.Target == TargetServer && c.Endpoint == "" {
		d.errs.add(targetSrc, "target", "server needs endpoint: the URL of the hangar server (or set HANGAR_ENDPOINT)")
	}
	if c.Target == TargetEmbedded && c.Endpoint != "" {
		d.warns = append(d.warns, fmt.Sprintf("%s: endpoint is ignored with target embedded (set target: server to use it)", d.source("endpoint")))
	}
	// IAM role names stop at 64 characters.
	if ns := c.Namespace(); len(ns) > 64-len("-codebuild-role") {
		d.errs.add(projectSrc, "project", "namespace %q is %d characters; the role name %s-codebuild-role must fit IAM's 64, so keep project-env-extra within %d",
			ns, len(ns), ns, 64-len("-codebuild-role"))
	}
	d.checkEnvironment("codebuild.project", []string{"codebuild.project.environment", "codebuild.project.compute_type"}, c.Environment(), false)
	d.checkEnvironment("codebuild.lambda.project", []string{"codebuild.lambda.project.compute_type"}, c.LambdaEnvironment(), true)
}

func (d *decoder) source(key string) Source {
	for _, e := range d.entries {
		if e.Key == key {
			return e.Source
		}
	}
	return Source{}
}

// effective is the entry that sets name: the first of keys (most specific
// first) that lists it.
func (d *decoder) effective(keys []string, name string) *Entry {
	for _, k := range keys {
		for i := range d.entries {
			if d.entries[i].Key == k+"."+name {
				return &d.entries[i]
			}
		}
	}
	return nil
}

// checkEnvironment rejects environments CodeBuild would refuse: Lambda
// compute on a non-Lambda type and the reverse, and a CodeBuild image of
// one architecture on the other's type. The problem is reported where the
// most recently layered of the keys involved was set.
func (d *decoder) checkEnvironment(what string, keys []string, env map[string]any, lambdaOnly bool) {
	compute, _ := env["computeType"].(string)
	typ, _ := env["type"].(string)
	image, _ := env["image"].(string)
	blame := func(problem string, names ...string) {
		var best *Entry
		for _, name := range names {
			if e := d.effective(keys, name); e != nil && (best == nil || e.Source.rank > best.Source.rank) {
				best = e
			}
		}
		if best == nil {
			d.errs.add(Source{}, what, "%s", problem)
			return
		}
		d.errs.add(best.Source, best.Key, "%s", problem)
	}
	lambdaCompute := strings.HasPrefix(compute, "BUILD_LAMBDA_")
	lambdaType := strings.HasSuffix(typ, "_LAMBDA_CONTAINER")
	switch {
	case lambdaOnly && !lambdaCompute:
		blame(fmt.Sprintf("the Lambda project needs a BUILD_LAMBDA_* compute type, not %s", compute), "computeType")
	case lambdaOnly && !lambdaType:
		blame(fmt.Sprintf("the Lambda project needs type LINUX_LAMBDA_CONTAINER or ARM_LAMBDA_CONTAINER, not %s", typ), "type")
	case lambdaCompute && !lambdaType:
		blame(fmt.Sprintf("compute type %s needs type LINUX_LAMBDA_CONTAINER or ARM_LAMBDA_CONTAINER, not %s", compute, typ), "computeType", "type")
	case lambdaType && !lambdaCompute:
		blame(fmt.Sprintf("type %s needs a BUILD_LAMBDA_* compute type, not %s", typ, compute), "computeType", "type")
	}
	if strings.HasPrefix(image, "aws/codebuild/") {
		arm := strings.HasPrefix(typ, "ARM_")
		switch {
		case strings.Contains(image, "aarch64") && !arm:
			blame(fmt.Sprintf("image %s is for arm64, but type %s is not an ARM type; set image and type together", image, typ), "image", "type")
		case strings.Contains(image, "x86_64") && arm:
			blame(fmt.Sprintf("image %s is for x86_64, but type %s is an ARM type; set image and type together", image, typ), "image", "type")
		}
	}
}
