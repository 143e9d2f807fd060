package config

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"

	"github.com/hangarci/hangar/internal/envrules"
)

type specKind int

const (
	specSection  specKind = iota
	specString            // a scalar, kept as text
	specInt               // a YAML integer
	specBool              // a YAML boolean
	specStrings           // a list of strings
	specRules             // a list of env rules (exact names or /regex/)
	specVars              // a map of variable name → value
	specPolicies          // a list of IAM strings or maps
)

// spec describes one key of hangar.yml.
type spec struct {
	name     string
	kind     specKind
	children []*spec
	pascal   bool // section also takes CloudFormation PascalCase keys (normalised to camelCase)
	enum     []string
	min, max int64
	check    func(string) error // extra check of a string, or of each list item
	reject   string             // the key is known but cannot be used here: why
	literal  bool               // ${…} is not expanded here (project, env, extra)
	env      bool               // settable as HANGAR_<PATH> and by flags
}

func (s *spec) child(key string) *spec {
	for _, c := range s.children {
		if c.name == key {
			return c
		}
	}
	if s.pascal && keyCase(key) {
		lower := strings.ToLower(key[:1]) + key[1:]
		for _, c := range s.children {
			if c.name == lower {
				return c
			}
		}
	}
	return nil
}

func section(name string, children ...*spec) *spec {
	return &spec{name: name, kind: specSection, children: children}
}

func str(name string, check func(string) error) *spec {
	return &spec{name: name, kind: specString, check: check}
}

func enum(name string, values ...string) *spec {
	return &spec{name: name, kind: specString, enum: values}
}

func integer(name string, lo, hi int64) *spec {
	return &spec{name: name, kind: specInt, min: lo, max: hi}
}

func boolean(name string) *spec { return &spec{name: name, kind: specBool} }

func strings_(name string, check func(string) error) *spec {
	return &spec{name: name, kind: specStrings, check: check}
}

// CodeBuild enums, from the service model.
func environmentTypes() []string {
	return []string{"LINUX_CONTAINER", "ARM_CONTAINER", "LINUX_LAMBDA_CONTAINER", "ARM_LAMBDA_CONTAINER",
		"LINUX_GPU_CONTAINER", "WINDOWS_CONTAINER", "WINDOWS_SERVER_2019_CONTAINER", "WINDOWS_SERVER_2022_CONTAINER",
		"LINUX_EC2", "ARM_EC2", "WINDOWS_EC2", "MAC_ARM"}
}

func computeTypes() []string {
	return []string{"BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE",
		"BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE", "BUILD_LAMBDA_1GB", "BUILD_LAMBDA_2GB",
		"BUILD_LAMBDA_4GB", "BUILD_LAMBDA_8GB", "BUILD_LAMBDA_10GB", "ATTRIBUTE_BASED_COMPUTE", "CUSTOM_INSTANCE_TYPE"}
}

// environmentSpec is a CodeBuild ProjectEnvironment; computeOnly limits it to
// the three keys of a compute_type.
func environmentSpec(name string, computeOnly bool) *spec {
	base := []*spec{
		enum("computeType", computeTypes()...),
		str("image", nonEmpty),
		enum("type", environmentTypes()...),
	}
	if !computeOnly {
		base = append(base,
			pascal(section("computeConfiguration",
				integer("vCpu", 1, math.MaxInt32),
				integer("memory", 1, math.MaxInt32),
				integer("disk", 1, math.MaxInt32),
				enum("machineType", "GENERAL", "NVME"),
				str("instanceType", nonEmpty))),
			pascal(section("fleet", str("fleetArn", checkFleetARN))),
			&spec{name: "environmentVariables", reject: "set build variables in codebuild.project.env.vars"},
			boolean("privilegedMode"),
			str("certificate", nil),
			pascal(section("registryCredential",
				str("credential", nonEmpty),
				enum("credentialProvider", "SECRETS_MANAGER"))),
			enum("imagePullCredentialsType", "CODEBUILD", "SERVICE_ROLE"),
			pascal(section("dockerServer",
				enum("computeType", computeTypes()...),
				strings_("securityGroupIds", nonEmpty))),
		)
	}
	return pascal(section(name, base...))
}

func pascal(s *spec) *spec { s.pascal = true; return s }

func literal(s *spec) *spec { s.literal = true; return s }

// schema is every key of hangar.yml, in the order `hangar config` lists
// them: DESIGN §2's two tables plus the other spellings Jets users write.
func schema() *spec {
	timeout := func(name string) *spec { return integer(name, 5, 2160) } // CodeBuild's BuildTimeOut
	root := section("",
		literal(str("project", checkName)),
		literal(str("env", checkName)),
		literal(str("extra", checkExtra)),
		enum("target", string(TargetEmbedded), string(TargetServer), string(TargetAWS)),
		str("endpoint", checkEndpoint),
		str("region", checkRegion),
		section("code", section("copy",
			strings_("always_keep", checkPath),
			strings_("always_remove", checkPath))),
		section("codebuild",
			section("project",
				environmentSpec("compute_type", true),
				environmentSpec("environment", false),
				section("env",
					&spec{name: "vars", kind: specVars},
					&spec{name: "default_pass", kind: specRules},
					&spec{name: "pass", kind: specRules},
					&spec{name: "block", kind: specRules}),
				timeout("timeout_in_minutes"),
				timeout("timeout"),
				str("fleet_override", checkFleetARN)),
			timeout("timeout"),
			str("fleet_override", checkFleetARN),
			section("fleet",
				boolean("enable"),
				integer("base_capacity", 1, math.MaxInt32)),
			section("iam",
				&spec{name: "default_policy", kind: specPolicies},
				&spec{name: "policy", kind: specPolicies},
				&spec{name: "default_vpc_policy", kind: specPolicies},
				strings_("default_managed_policy", checkManaged),
				strings_("managed_policy", checkManaged)),
			section("lambda",
				boolean("enable"),
				section("project", environmentSpec("compute_type", true)))),
	)
	markEnv(root, false)
	return root
}

// markEnv makes every scalar outside the CodeBuild environment maps
// settable from HANGAR_* variables and flags.
func markEnv(s *spec, inEnv bool) {
	inEnv = inEnv || s.pascal
	switch s.kind {
	case specSection:
		for _, c := range s.children {
			markEnv(c, inEnv)
		}
	case specString, specInt, specBool:
		s.env = !inEnv && s.reject == ""
	}
}

// walkSpec visits every key with its dotted path.
func walkSpec(s *spec, path string, fn func(path string, s *spec)) {
	for _, c := range s.children {
		p := join(path, c.name)
		fn(p, c)
		walkSpec(c, p, fn)
	}
}

func lookupSpec(root *spec, path string) *spec {
	s := root
	for _, seg := range strings.Split(path, ".") {
		if s = s.child(seg); s == nil {
			return nil
		}
	}
	return s
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// EnvVarName is the HANGAR_* variable that sets a key: HANGAR_ + the upper-
// cased path with dots as underscores (codebuild.fleet_override →
// HANGAR_CODEBUILD_FLEET_OVERRIDE).
func EnvVarName(key string) string {
	return "HANGAR_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Compiled patterns; read-only.
var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	// IAM and CodeBuild resource names must not carry anything else.
	policyNameRE = regexp.MustCompile(`^[\w+=,.@-]+$`) // length checked apart: see iam.go
	actionRE     = regexp.MustCompile(`^(\*|[a-z0-9-]+(:[A-Za-z0-9*?]+)?)$`)
)

func nonEmpty(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

func checkName(s string) error {
	if !nameRE.MatchString(s) {
		return fmt.Errorf("%q: use letters, digits, - and _, starting with a letter or digit (it names CodeBuild projects and IAM roles)", s)
	}
	return nil
}

func checkExtra(s string) error {
	if s == "" {
		return nil
	}
	return checkName(s)
}

func checkEndpoint(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", s)
	}
	return nil
}

func checkRegion(s string) error {
	if !regionRE.MatchString(s) {
		return fmt.Errorf("%q is not a region name like us-east-1", s)
	}
	return nil
}

func checkPath(s string) error {
	if s == "" {
		return fmt.Errorf("empty path")
	}
	for _, seg := range strings.Split(strings.ReplaceAll(s, `\`, "/"), "/") {
		if seg == ".." {
			return fmt.Errorf("%q leaves the project (..)", s)
		}
	}
	return nil
}

func checkFleetARN(s string) error {
	if s == "" {
		return nil
	}
	if !strings.HasPrefix(s, "arn:") || !strings.Contains(s, ":codebuild:") || !strings.Contains(s, ":fleet/") {
		return fmt.Errorf("%q is not a fleet ARN (arn:aws:codebuild:REGION:ACCOUNT:fleet/NAME:ID)", s)
	}
	return nil
}

func checkManaged(s string) error {
	if strings.HasPrefix(s, "arn:") {
		if !strings.Contains(s, ":iam::") || !strings.Contains(s, ":policy/") {
			return fmt.Errorf("%q is not a policy ARN", s)
		}
		return nil
	}
	if s == "" || strings.ContainsAny(s, " \t:") {
		return fmt.Errorf("%q is not a managed policy name or ARN", s)
	}
	return nil
}

func checkAction(s string) error {
	if !actionRE.MatchString(s) {
		return fmt.Errorf("%q is not a service (s3) or an action (sts:GetCallerIdentity)", s)
	}
	return nil
}

func checkRule(s string) error {
	_, err := envrules.ParseRule(s)
	return err
}
