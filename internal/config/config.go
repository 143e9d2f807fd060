// Package config loads hangar.yml: the file found by walking up from a
// directory, its hangar.<env>.yml overlay, HANGAR_* variables and flags,
// merged in that order of precedence over the defaults (DESIGN §2). Every
// effective value keeps where it came from, for `hangar config`.
//
// The codebuild.* keys are those of the Jets remote runner, including the
// ones Jets documents but ignores (codebuild.timeout, codebuild.fleet_override).
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/hangarci/hangar/internal/envrules"
)

// FileName is the configuration file, found by walking up like .git.
const FileName = "hangar.yml"

// OverlayName is the per-environment overlay beside hangar.yml.
func OverlayName(env string) string { return "hangar." + env + ".yml" }

// Target says what runs the builds.
type Target string

// Targets (DESIGN's table).
const (
	TargetEmbedded Target = "embedded"
	TargetServer   Target = "server"
	TargetAWS      Target = "aws"
)

// Config is the effective configuration.
type Config struct {
	// Root is the project root: the directory of hangar.yml, or the
	// directory loading started from when there is none.
	Root string
	// Files are the files read, hangar.yml first, as shown in messages.
	Files []string

	Project  string
	Env      string
	Extra    string
	Target   Target
	Endpoint string // URL of a hangar server (target server)
	// Region is the region for ARNs, and for target aws. For target aws,
	// AWS_REGION and AWS_DEFAULT_REGION already win over the files here; a
	// region from the AWS profile is applied by AWSRegion.
	Region    string
	Code      Code
	CodeBuild CodeBuild

	// Warnings are things that work but are probably not meant.
	Warnings []string

	entries []Entry
}

// Code is code.*.
type Code struct{ Copy Copy }

// Copy is code.copy.*.
type Copy struct {
	AlwaysKeep   []string // packed even when ignored
	AlwaysRemove []string // never packed
}

// CodeBuild is codebuild.*.
type CodeBuild struct {
	Project BuildProject
	Fleet   Fleet
	// FleetOverride is an existing fleet's ARN that builds of the <ns>-remote
	// project run on, winning over the managed fleet. Set by
	// codebuild.project.fleet_override (what Jets reads), codebuild.fleet_override
	// (what Jets documents) or HANGAR_CODEBUILD_FLEET_OVERRIDE.
	FleetOverride string
	IAM           IAM
	Lambda        Lambda
}

// BuildProject is codebuild.project.*.
type BuildProject struct {
	ComputeType ComputeType
	// Environment holds CodeBuild ProjectEnvironment keys in the API's
	// camelCase (PascalCase in the file is accepted and converted), deep-
	// merged over ComputeType by (*Config).Environment.
	Environment map[string]any
	Env         Env
	// TimeoutInMinutes is the build timeout (5–2160). The spellings
	// codebuild.project.timeout_in_minutes, codebuild.project.timeout and
	// codebuild.timeout all set it; see Load for which wins.
	TimeoutInMinutes int
}

// ComputeType is a compute_type map.
type ComputeType struct {
	ComputeType string
	Image       string
	Type        string
}

func (c ComputeType) asMap() map[string]any {
	return map[string]any{"computeType": c.ComputeType, "image": c.Image, "type": c.Type}
}

// Env is codebuild.project.env.*.
type Env struct {
	Vars        map[string]string
	DefaultPass []string
	Pass        []string
	Block       []string
}

// Fleet is codebuild.fleet.*.
type Fleet struct {
	Enable       bool
	BaseCapacity int
}

// IAM is codebuild.iam.*.
type IAM struct {
	DefaultPolicy        []PolicyEntry
	Policy               []PolicyEntry
	DefaultVpcPolicy     []PolicyEntry
	DefaultManagedPolicy []string
	ManagedPolicy        []string
}

// Lambda is codebuild.lambda.*.
type Lambda struct {
	Enable  bool
	Project LambdaProject
}

// LambdaProject is codebuild.lambda.project.*.
type LambdaProject struct{ ComputeType ComputeType }

// Namespace is <project>-<env>[-<extra>], underscores turned to dashes.
func (c *Config) Namespace() string { return namespace(c.Project, c.Env, c.Extra) }

// SSMEnv is the env whose parameters ${ssm_env} points at: env itself for
// dev and prod, dev for every other env (Jets' rule).
func (c *Config) SSMEnv() string { return ssmEnv(c.Env) }

// ProjectName is the CodeBuild project builds run in.
func (c *Config) ProjectName() string { return c.Namespace() + "-remote" }

// LambdaProjectName is the project on Lambda compute (codebuild.lambda.enable).
func (c *Config) LambdaProjectName() string { return c.Namespace() + "-remote-lambda" }

// FleetName is the managed fleet (codebuild.fleet.enable).
func (c *Config) FleetName() string { return c.Namespace() + "-fleet" }

// RoleName is the builds' IAM role.
func (c *Config) RoleName() string { return c.Namespace() + "-codebuild-role" }

// Environment is the <ns>-remote project's CodeBuild environment: the
// compute_type with codebuild.project.environment deep-merged over it, in
// the API's camelCase. The result is a new map; the Config is not changed
// (Jets merges into its config in place).
func (c *Config) Environment() map[string]any {
	return deepMerge(c.CodeBuild.Project.ComputeType.asMap(), c.CodeBuild.Project.Environment)
}

// LambdaEnvironment is the <ns>-remote-lambda project's environment: its
// own compute_type only. Unlike Jets, codebuild.project.environment does not
// leak into it (an Image set there would break the Lambda project).
func (c *Config) LambdaEnvironment() map[string]any {
	return c.CodeBuild.Lambda.Project.ComputeType.asMap()
}

// EnvSpec is codebuild.project.env for envrules.New.
func (c *Config) EnvSpec() envrules.Spec {
	e := c.CodeBuild.Project.Env
	return envrules.Spec{Vars: maps.Clone(e.Vars), DefaultPass: e.DefaultPass, Pass: e.Pass, Block: e.Block}
}

// AWSRegion is the region to use for target aws, given the region of the
// AWS profile as the SDK resolves it ("" when none): a flag, HANGAR_REGION,
// AWS_REGION or AWS_DEFAULT_REGION win over the profile, which wins over
// hangar.yml and the default.
func (c *Config) AWSRegion(profileRegion string) string {
	if src, _ := c.Source("region"); src.rank >= rankAWSEnv || profileRegion == "" {
		return c.Region
	}
	return profileRegion
}

func deepMerge(dst, src map[string]any) map[string]any {
	out := maps.Clone(dst)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := out[k].(map[string]any); ok {
				out[k] = deepMerge(dm, sm)
				continue
			}
			out[k] = deepMerge(nil, sm)
			continue
		}
		out[k] = v
	}
	return out
}

// Options say where to load from.
type Options struct {
	// Dir is where the walk up for hangar.yml starts; "" is the current
	// directory.
	Dir string
	// Environ is the environment in os.Environ form. HANGAR_<KEY> variables
	// set scalar keys (HANGAR_ENV, HANGAR_TARGET, HANGAR_CODEBUILD_TIMEOUT,
	// …; see EnvVarName); empty ones count as unset. For target aws,
	// AWS_REGION and AWS_DEFAULT_REGION are read too.
	Environ []string
	// Flags set keys from the command line; they win over everything.
	Flags []Flag
	// Arch is the runner's architecture (GOARCH spelling) for the default
	// compute types of a hangar runner; "" is runtime.GOARCH.
	Arch string
}

// Flag is a command-line flag that sets a scalar key.
type Flag struct {
	Name  string // as typed, for messages and `hangar config`: "--timeout"
	Key   string // the key it sets: "codebuild.project.timeout_in_minutes"
	Value string // parsed like a HANGAR_* value
}

// Find walks up from dir to the first directory that holds hangar.yml and
// returns the file's path, or "" when there is none.
func Find(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find %s: %w", FileName, err)
	}
	for {
		p := filepath.Join(dir, FileName)
		st, err := os.Stat(p)
		switch {
		case err == nil && st.Mode().IsRegular():
			return p, nil
		case err == nil:
			return "", fmt.Errorf("find %s: %s is not a regular file", FileName, p)
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("find %s: %w", FileName, err)
		}
		// A hangar.yaml would otherwise be silently skipped.
		if _, err := os.Stat(filepath.Join(dir, "hangar.yaml")); err == nil {
			return "", fmt.Errorf("find %s: found %s; Hangar reads %s", FileName, filepath.Join(dir, "hangar.yaml"), FileName)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil
		}
		dir = parent
	}
}

// Load finds and reads the configuration. Precedence, highest first:
// flags, HANGAR_* variables, hangar.<env>.yml, hangar.yml, defaults. Maps
// are merged key by key across layers (a null value drops what lower layers
// set); lists and scalars are replaced whole.
//
// Keys with several spellings resolve by layer first, so an overlay's
// codebuild.timeout beats hangar.yml's codebuild.project.timeout_in_minutes.
// Within one layer the order is, for the timeout, codebuild.project.timeout,
// then codebuild.project.timeout_in_minutes, then codebuild.timeout (Jets
// reads the first two in that order; the third is its documented shorthand),
// and for the fleet override codebuild.project.fleet_override, then
// codebuild.fleet_override. Differing values in one layer give a warning.
//
// All problems are returned together as Errors.
func Load(opts Options) (*Config, error) {
	dir := opts.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("load config: %w", err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	path, err := Find(dir)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	in := input{root: dir}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("load config: %w", err)
		}
		in.root = filepath.Dir(path)
		in.base = &file{shown: shownPath(dir, path), data: data}
		in.overlay = func(env string) (*file, error) {
			p := filepath.Join(in.root, OverlayName(env))
			data, err := os.ReadFile(p)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return &file{shown: shownPath(dir, p), data: data}, nil
		}
	}
	return load(opts, in)
}

// shownPath is how messages name a file: relative to where the user is.
func shownPath(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil {
		return rel
	}
	return path
}

type file struct {
	shown string
	data  []byte
}

type input struct {
	root    string
	base    *file
	overlay func(env string) (*file, error)
}

func load(opts Options, in input) (*Config, error) {
	sch := schema()
	var known []string
	walkSpec(sch, "", func(p string, s *spec) {
		if s.reject == "" {
			known = append(known, p)
		}
	})
	var e errs
	environ := envrules.EnvironMap(opts.Environ)
	arch := opts.Arch
	if arch == "" {
		arch = runtime.GOARCH
	}
	c := &Config{Root: in.root}

	var base, overlay *node
	if in.base != nil {
		var perrs Errors
		base, perrs = parseYAML(in.base.shown, rankBase, in.base.data)
		e.list = append(e.list, perrs...)
		c.Files = append(c.Files, in.base.shown)
	}
	envLayer := envTree(sch, environ)
	flagLayer := flagTree(sch, opts.Flags, &e)

	// The env picks the overlay, so the overlay cannot set it.
	env := pickText("env", "dev", flagLayer, envLayer, base)
	if in.overlay != nil && checkName(env) == nil {
		f, err := in.overlay(env)
		if err != nil {
			return nil, fmt.Errorf("load config: read %s: %w", OverlayName(env), err)
		}
		if f != nil {
			var perrs Errors
			overlay, perrs = parseYAML(f.shown, rankOverlay, f.data)
			e.list = append(e.list, perrs...)
			c.Files = append(c.Files, f.shown)
		}
	}
	folder := folderName(in.root)
	project := pickText("project", folder, flagLayer, envLayer, overlay, base)
	extra := pickText("extra", "", flagLayer, envLayer, overlay, base)
	vv := vars{env: env, project: project, namespace: namespace(project, env, extra), ssmEnv: ssmEnv(env)}

	var merged *node
	for _, l := range []struct {
		n             *node
		text, overlay bool
	}{{base, false, false}, {overlay, false, true}, {envLayer, true, false}, {flagLayer, true, false}} {
		if l.n == nil || l.n.kind != kindMap {
			continue
		}
		v := &validator{schema: sch, known: known, errs: &e, vars: vv, text: l.text, overlay: l.overlay}
		merged = merge(merged, v.value(sch, l.n, "", "", l.n.src))
	}

	d := &decoder{root: merged, errs: &e, environ: environ}
	d.decode(c, folder, arch)
	if len(e.list) > 0 {
		return nil, e.list.sorted()
	}
	return c, nil
}

// pickText is a top-level scalar from the first layer that sets it.
func pickText(key, def string, layers ...*node) string {
	for _, l := range layers {
		if n := l.get(key); n != nil && n.kind == kindScalar {
			return n.text
		}
	}
	return def
}

// folderName is the default project: the root folder's name, made fit to
// name CodeBuild projects and IAM roles.
func folderName(root string) string {
	name := []byte(filepath.Base(root))
	for i, b := range name {
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			name[i] = '-'
		}
	}
	s := strings.TrimLeft(string(name), "-_")
	if s == "" {
		return "hangar"
	}
	return s
}

// envTree is the layer of HANGAR_* variables.
func envTree(sch *spec, environ map[string]string) *node {
	root := &node{kind: kindMap, src: Source{Kind: FromEnv, rank: rankEnv}}
	walkSpec(sch, "", func(p string, s *spec) {
		if !s.env {
			return
		}
		name := EnvVarName(p)
		if v := environ[name]; v != "" {
			insert(root, p, &node{kind: kindScalar, text: v, src: Source{Kind: FromEnv, Name: name, rank: rankEnv}})
		}
	})
	return root
}

// flagTree is the layer of flags; a later flag for the same key wins.
func flagTree(sch *spec, flags []Flag, e *errs) *node {
	root := &node{kind: kindMap, src: Source{Kind: FromFlag, rank: rankFlag}}
	for _, f := range flags {
		src := Source{Kind: FromFlag, Name: f.Name, rank: rankFlag}
		if s := lookupSpec(sch, f.Key); s == nil || !s.env {
			e.add(src, f.Key, "not a key a flag can set")
			continue
		}
		insert(root, f.Key, &node{kind: kindScalar, text: f.Value, src: src})
	}
	return root
}

func insert(root *node, path string, leaf *node) {
	segs := strings.Split(path, ".")
	n := root
	for i, seg := range segs {
		j := -1
		for k, f := range n.fields {
			if f.key == seg {
				j = k
			}
		}
		if i == len(segs)-1 {
			if j >= 0 {
				n.fields[j] = field{key: seg, val: leaf, src: leaf.src}
			} else {
				n.fields = append(n.fields, field{key: seg, val: leaf, src: leaf.src})
			}
			return
		}
		if j < 0 {
			n.fields = append(n.fields, field{key: seg, val: &node{kind: kindMap, src: leaf.src}, src: leaf.src})
			j = len(n.fields) - 1
		}
		n = n.fields[j].val
	}
}

// merge lays b over a: maps merge key by key, null removes, anything else
// replaces. Neither input is changed.
func merge(a, b *node) *node {
	switch {
	case b == nil:
		return a
	case b.kind == kindNull:
		return nil
	case a == nil || a.kind != kindMap || b.kind != kindMap:
		return clean(b)
	}
	out := &node{kind: kindMap, src: b.src}
	idx := map[string]int{}
	for _, f := range a.fields {
		idx[f.key] = len(out.fields)
		out.fields = append(out.fields, f)
	}
	for _, f := range b.fields {
		if i, ok := idx[f.key]; ok {
			out.fields[i] = field{key: f.key, val: merge(out.fields[i].val, f.val), src: f.src}
			continue
		}
		if v := clean(f.val); v != nil {
			idx[f.key] = len(out.fields)
			out.fields = append(out.fields, field{key: f.key, val: v, src: f.src})
		}
	}
	kept := out.fields[:0]
	for _, f := range out.fields {
		if f.val != nil {
			kept = append(kept, f)
		}
	}
	out.fields = kept
	return out
}

// clean drops nulls (which only mean "reset" against a lower layer).
func clean(n *node) *node {
	if n == nil || n.kind == kindNull {
		return nil
	}
	if n.kind != kindMap {
		return n
	}
	out := &node{kind: kindMap, src: n.src}
	for _, f := range n.fields {
		if v := clean(f.val); v != nil {
			out.fields = append(out.fields, field{key: f.key, val: v, src: f.src})
		}
	}
	return out
}
