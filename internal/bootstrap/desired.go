package bootstrap

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hangarci/hangar/internal/config"
	"github.com/hangarci/hangar/internal/envrules"
	"github.com/hangarci/hangar/internal/model"
)

// stateVersion changes whenever the rules below change what a given
// configuration produces, so that the stored hash of older runs no longer
// matches and the next run reconciles.
const stateVersion = 1

// Tags that mark what bootstrap created. Only resources carrying TagManaged
// are ever changed or deleted; anything else of the same name is an error.
const (
	TagManaged   = "hangar:managed"
	TagNamespace = "hangar:namespace"
	// TagState holds the hash of the desired state on the <ns>-remote
	// project, written last, so that one BatchGetProjects tells whether
	// anything needs doing.
	TagState = "hangar:state"
	// TagBucket holds the bucket's name on the <ns>-remote project, so the
	// fast path knows it without asking STS for the account.
	TagBucket = "hangar:bucket"
)

// SecretsPolicyName is the inline policy bootstrap adds when a project
// variable (or registry credential) is a Secrets Manager reference: the
// runner resolves it with the build role's rights, and Jets forgets this.
const SecretsPolicyName = "SecretsPolicy"

// placeholderBuildspec is the projects' own buildspec. Hangar always starts
// builds with an inline buildspec; this one only says so.
const placeholderBuildspec = `version: 0.2
phases:
  build:
    commands:
      - echo "This project runs builds started by hangar, which sends the buildspec with each build."
`

// codebuildTrust lets CodeBuild assume the build role.
const codebuildTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// ErrConfig marks errors in the configuration found while computing the
// desired state; callers treat them as usage errors (exit 2).
var ErrConfig = errors.New("bootstrap configuration")

// ErrConflict marks a resource of a wanted name that hangar did not make
// (no hangar:managed tag): bootstrap leaves it alone and stops.
var ErrConflict = errors.New("name taken")

// Desired is the state bootstrap reconciles to. It is computed from the
// configuration and the region alone; the account id enters only when names
// are made (Bucket, role ARN), so its hash can be compared before anything
// is asked of the target.
type Desired struct {
	Namespace string `json:"namespace"`
	Region    string `json:"region"`
	Partition string `json:"partition"`
	// BucketPrefix is the bucket's name up to the account and region.
	BucketPrefix string       `json:"bucketPrefix"`
	Role         RoleSpec     `json:"role"`
	Project      ProjectSpec  `json:"project"`
	Lambda       *ProjectSpec `json:"lambda,omitempty"`
	// LambdaName is the Lambda project's name, whether or not it is wanted
	// (bootstrap deletes it when it is not).
	LambdaName string     `json:"lambdaName"`
	Fleet      *FleetSpec `json:"fleet,omitempty"`
	FleetName  string     `json:"fleetName"`
}

// RoleSpec is the build role.
type RoleSpec struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Trust       string `json:"trust"` // JSON policy document
	// Inline are the inline policies in order: DefaultPolicy, CustomPolicy,
	// VpcPolicy (each when not empty), named ones, SecretsPolicy.
	Inline  []config.InlinePolicy `json:"inline"`
	Managed []string              `json:"managed"` // policy ARNs
}

// ProjectSpec is one CodeBuild project.
type ProjectSpec struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Environment is the CodeBuild environment in the API's camelCase,
	// without variables and fleet (those are Variables and UseFleet).
	Environment map[string]any              `json:"environment"`
	Variables   []model.EnvironmentVariable `json:"variables"`
	Lambda      bool                        `json:"lambda"` // Lambda compute
	CacheType   string                      `json:"cacheType"`
	CacheModes  []string                    `json:"cacheModes,omitempty"`
	// Timeout is timeoutInMinutes; 0 leaves it alone (Lambda compute
	// takes none).
	Timeout  int  `json:"timeout,omitempty"`
	UseFleet bool `json:"useFleet,omitempty"`
}

// FleetSpec is the managed fleet.
type FleetSpec struct {
	Name             string         `json:"name"`
	BaseCapacity     int            `json:"baseCapacity"`
	ComputeType      string         `json:"computeType"`
	EnvironmentType  string         `json:"environmentType"`
	ComputeConfig    map[string]any `json:"computeConfiguration,omitempty"`
	OverflowBehavior string         `json:"overflowBehavior"`
}

// NewDesired computes the desired state of cfg. region is the region the
// target is in ("" for cfg.Region; for target aws the profile's may differ).
func NewDesired(cfg *config.Config, region string) (*Desired, error) {
	if region == "" {
		region = cfg.Region
	}
	ns := cfg.Namespace()
	d := &Desired{
		Namespace:    ns,
		Region:       region,
		Partition:    config.Partition(region),
		BucketPrefix: bucketPrefix(ns, region),
		LambdaName:   cfg.LambdaProjectName(),
		FleetName:    cfg.FleetName(),
	}
	rules, err := envrules.New(cfg.EnvSpec())
	if err != nil {
		return nil, fmt.Errorf("%w: codebuild.project.env: %w", ErrConfig, err)
	}
	vars := rules.ProjectVars()
	if vars == nil {
		vars = []model.EnvironmentVariable{}
	}

	d.Project, err = projectSpec(cfg.ProjectName(), ns, cfg.Environment(), vars, cfg.CodeBuild.Project.TimeoutInMinutes)
	if err != nil {
		return nil, fmt.Errorf("%w: codebuild.project: %w", ErrConfig, err)
	}
	if cfg.CodeBuild.Lambda.Enable {
		// Only the Lambda compute type: codebuild.project.environment and
		// the fleet stay off this project (Jets bugs 9 and 10).
		lp, err := projectSpec(d.LambdaName, ns, cfg.LambdaEnvironment(), vars, 0)
		if err != nil {
			return nil, fmt.Errorf("%w: codebuild.lambda.project: %w", ErrConfig, err)
		}
		d.Lambda = &lp
	}
	if cfg.CodeBuild.Fleet.Enable {
		env := d.Project.Environment
		if d.Project.Lambda {
			return nil, fmt.Errorf("%w: codebuild.fleet.enable: a fleet runs container builds, but %s uses the Lambda compute type %v", ErrConfig, d.Project.Name, env["computeType"])
		}
		f := &FleetSpec{
			Name:             d.FleetName,
			BaseCapacity:     max(cfg.CodeBuild.Fleet.BaseCapacity, 1),
			ComputeType:      str(env["computeType"]),
			EnvironmentType:  str(env["type"]),
			OverflowBehavior: "QUEUE",
		}
		if cc, ok := env["computeConfiguration"].(map[string]any); ok {
			f.ComputeConfig = cc
		}
		d.Fleet = f
		d.Project.UseFleet = true
	}

	inline, err := cfg.InlinePolicies()
	if err != nil {
		return nil, fmt.Errorf("%w: codebuild.iam: %w", ErrConfig, err)
	}
	if usesSecrets(d) {
		if slices.ContainsFunc(inline, func(p config.InlinePolicy) bool { return p.Name == SecretsPolicyName }) {
			return nil, fmt.Errorf("%w: codebuild.iam.policy: the policy name %s is hangar's own (it lets builds read Secrets Manager references); choose another", ErrConfig, SecretsPolicyName)
		}
		inline = append(inline, config.InlinePolicy{Name: SecretsPolicyName, Document: secretsPolicy})
	}
	if inline == nil {
		inline = []config.InlinePolicy{}
	}
	managed := cfg.ManagedPolicyARNs()
	if managed == nil {
		managed = []string{}
	}
	d.Role = RoleSpec{
		Name:        cfg.RoleName(),
		Description: fmt.Sprintf("Build role of the hangar projects %s-remote* (hangar bootstrap)", ns),
		Trust:       codebuildTrust,
		Inline:      inline,
		Managed:     managed,
	}
	return d, nil
}

// secretsPolicy lets the build role read the secrets its variables name,
// and decrypt them when they use a customer managed key.
const secretsPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","kms:Decrypt"],"Resource":"*"}]}`

// usesSecrets reports whether a project needs Secrets Manager at build start.
func usesSecrets(d *Desired) bool {
	for _, p := range d.projects() {
		for _, v := range p.Variables {
			if v.Type == model.EnvSecretsManager {
				return true
			}
		}
		if rc, ok := p.Environment["registryCredential"].(map[string]any); ok && rc["credentialProvider"] == "SECRETS_MANAGER" {
			return true
		}
	}
	return false
}

// projects returns the wanted projects, <ns>-remote first.
func (d *Desired) projects() []*ProjectSpec {
	ps := []*ProjectSpec{&d.Project}
	if d.Lambda != nil {
		ps = append(ps, d.Lambda)
	}
	return ps
}

// projectSpec applies the finishing rules of DESIGN §6 to an environment:
// container compute gets the LOCAL caches, privileged mode (unless the
// configuration says otherwise) and the timeout; Lambda compute gets no
// cache, no privileged mode and no timeout.
func projectSpec(name, ns string, env map[string]any, vars []model.EnvironmentVariable, timeout int) (ProjectSpec, error) {
	env = maps.Clone(env)
	if env == nil {
		env = map[string]any{}
	}
	for _, k := range []string{"computeType", "image", "type"} {
		if str(env[k]) == "" {
			return ProjectSpec{}, fmt.Errorf("environment.%s is not set", k)
		}
	}
	lambda := model.IsLambdaCompute(str(env["computeType"]))
	if lambda != model.IsLambdaEnvironment(str(env["type"])) {
		return ProjectSpec{}, fmt.Errorf("compute type %v does not go with environment type %v: Lambda compute types (BUILD_LAMBDA_*) run only on LINUX_LAMBDA_CONTAINER or ARM_LAMBDA_CONTAINER", env["computeType"], env["type"])
	}
	if _, ok := env["imagePullCredentialsType"]; !ok {
		env["imagePullCredentialsType"] = "CODEBUILD"
	}
	// A fleet is the managed one (UseFleet) or one named in the file.
	p := ProjectSpec{
		Name:        name,
		Description: fmt.Sprintf("hangar remote runner of %s (hangar bootstrap)", ns),
		Variables:   vars,
		Lambda:      lambda,
	}
	if lambda {
		if pm, ok := env["privilegedMode"].(bool); ok && pm {
			return ProjectSpec{}, fmt.Errorf("environment.privilegedMode: Lambda compute (%v) cannot run privileged", env["computeType"])
		}
		env["privilegedMode"] = false
		p.CacheType = "NO_CACHE"
	} else {
		if _, ok := env["privilegedMode"]; !ok {
			env["privilegedMode"] = true // Docker needs it
		}
		p.CacheType = "LOCAL"
		p.CacheModes = []string{"LOCAL_DOCKER_LAYER_CACHE", "LOCAL_CUSTOM_CACHE"}
		p.Timeout = timeout
		if p.Timeout == 0 {
			p.Timeout = 60
		}
	}
	p.Environment = env
	return p, nil
}

// Hash is a digest of the desired state, stored on the <ns>-remote project
// once the state is reached.
func (d *Desired) Hash() string {
	b, err := json.Marshal(struct {
		V int      `json:"v"`
		D *Desired `json:"d"`
	}{stateVersion, d})
	if err != nil {
		// Every member is plain data from JSON-able configuration.
		panic(fmt.Sprintf("bootstrap: hash desired state: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Bucket is the bucket's name in account.
func (d *Desired) Bucket(account string) string {
	return d.BucketPrefix + "-" + account + "-" + d.Region
}

// RoleArn is the build role's ARN in account.
func (d *Desired) RoleArn(account string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", d.Partition, account, d.Role.Name)
}

// bucketPrefix makes the namespace part of the bucket name: S3 allows
// 3–63 characters of [a-z0-9.-]. The account (12 digits) and region follow;
// a namespace too long for that is cut and given a short hash of itself, so
// two long namespaces still differ.
func bucketPrefix(ns, region string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(ns) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if s := b.String(); s != "" && !strings.HasSuffix(s, "-") {
				b.WriteByte('-')
			}
		}
	}
	p := strings.Trim(b.String(), "-")
	if p == "" {
		p = "hangar"
	}
	room := 63 - len("-000000000000-") - len(region)
	if len(p) > room {
		sum := sha256.Sum256([]byte(ns))
		suffix := "-" + hex.EncodeToString(sum[:])[:8]
		p = strings.TrimRight(p[:max(room-len(suffix), 1)], "-") + suffix
	}
	return p
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// managedTags are the tags every resource bootstrap creates carries.
func (d *Desired) managedTags() map[string]string {
	return map[string]string{TagManaged: "true", TagNamespace: d.Namespace}
}
