package codebuild

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/store"
)

// ProjectInput is the input of CreateProject and UpdateProject.
type ProjectInput struct {
	Name                    string                    `json:"name"`
	Description             *string                   `json:"description"`
	Source                  *model.ProjectSource      `json:"source"`
	SecondarySources        json.RawMessage           `json:"secondarySources"`
	SourceVersion           *string                   `json:"sourceVersion"`
	SecondarySourceVersions json.RawMessage           `json:"secondarySourceVersions"`
	Artifacts               *model.ProjectArtifacts   `json:"artifacts"`
	SecondaryArtifacts      json.RawMessage           `json:"secondaryArtifacts"`
	Cache                   *model.ProjectCache       `json:"cache"`
	Environment             *model.ProjectEnvironment `json:"environment"`
	ServiceRole             *string                   `json:"serviceRole"`
	TimeoutInMinutes        *int                      `json:"timeoutInMinutes"`
	QueuedTimeoutInMinutes  *int                      `json:"queuedTimeoutInMinutes"`
	EncryptionKey           *string                   `json:"encryptionKey"`
	Tags                    []model.Tag               `json:"tags"`
	VpcConfig               json.RawMessage           `json:"vpcConfig"`
	BadgeEnabled            *bool                     `json:"badgeEnabled"`
	LogsConfig              *model.LogsConfig         `json:"logsConfig"`
	FileSystemLocations     json.RawMessage           `json:"fileSystemLocations"`
	BuildBatchConfig        json.RawMessage           `json:"buildBatchConfig"`
	ConcurrentBuildLimit    *int                      `json:"concurrentBuildLimit"`
	AutoRetryLimit          *int                      `json:"autoRetryLimit"`
}

// ProjectOutput is the output of CreateProject and UpdateProject.
type ProjectOutput struct {
	Project *model.Project `json:"project"`
}

// projectNameRE is CodeBuild's project name pattern (the model's, anchored).
var projectNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9\-_]+$`)

// roleRE accepts an IAM role ARN, or a bare role name as CodeBuild does.
// Lengths are checked apart: a bounded repetition like {1,512} compiles
// into a program large enough to slow every start of the binary (and every
// sandbox init is this binary).
var roleRE = regexp.MustCompile(`^(arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/[\w+=,.@\-/]+|[\w+=,.@\-]+)$`)

func validRole(s string) bool {
	return len(s) <= 600 && roleRE.MatchString(s)
}

// CreateProject creates a project.
func (s *Service) CreateProject(ctx context.Context, in *ProjectInput) (*ProjectOutput, error) {
	if in.Name == "" || in.Source == nil || in.Artifacts == nil || in.Environment == nil || in.ServiceRole == nil {
		return nil, invalid("name, source, artifacts, environment and serviceRole are required")
	}
	if len(in.Name) < 2 || len(in.Name) > 150 || !projectNameRE.MatchString(in.Name) {
		return nil, invalid("Invalid project name: %s", in.Name)
	}
	now := model.NewTime(s.now())
	p := &model.Project{
		Name:    in.Name,
		Arn:     s.names.ProjectArn(in.Name),
		Created: now.Ptr(),
		Tags:    []model.Tag{},
	}
	applyProjectInput(p, in)
	s.projectDefaults(p)
	if err := s.checkProject(p, in, true); err != nil {
		return nil, err
	}
	p.LastModified = now.Ptr()
	body, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode project %s: %w", p.Name, err)
	}
	err = s.db.CreateProject(ctx, store.ProjectRow{Name: p.Name, Created: now.UnixMilli(), Modified: now.UnixMilli(), Body: body})
	if err == store.ErrExists {
		return nil, awsErr("ResourceAlreadyExistsException", "Project already exists: %s", p.Arn)
	}
	if err != nil {
		return nil, fmt.Errorf("create project %s: %w", p.Name, err)
	}
	return &ProjectOutput{Project: p}, nil
}

// UpdateProject changes the members of a project that the input sets.
func (s *Service) UpdateProject(ctx context.Context, in *ProjectInput) (*ProjectOutput, error) {
	name := model.ProjectNameFromArn(in.Name)
	var out *model.Project
	_, err := s.db.UpdateProject(ctx, name, func(cur store.ProjectRow) (store.ProjectRow, error) {
		p := new(model.Project)
		if err := json.Unmarshal(cur.Body, p); err != nil {
			return cur, fmt.Errorf("decode project %s: %w", name, err)
		}
		applyProjectInput(p, in)
		s.projectDefaults(p)
		if err := s.checkProject(p, in, false); err != nil {
			return cur, err
		}
		now := model.NewTime(s.now())
		p.LastModified = now.Ptr()
		body, err := json.Marshal(p)
		if err != nil {
			return cur, fmt.Errorf("encode project %s: %w", name, err)
		}
		out = p
		return store.ProjectRow{Name: name, Created: cur.Created, Modified: now.UnixMilli(), Body: body}, nil
	})
	if isNotFound(err) {
		return nil, notFound("Project cannot be found: %s", s.names.ProjectArn(name))
	}
	if err != nil {
		return nil, err
	}
	return &ProjectOutput{Project: out}, nil
}

// applyProjectInput copies every member the input sets onto p.
func applyProjectInput(p *model.Project, in *ProjectInput) {
	setStr := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setRaw := func(dst *json.RawMessage, v json.RawMessage) {
		if v != nil {
			*dst = v
		}
	}
	setStr(&p.Description, in.Description)
	if in.Source != nil {
		p.Source = in.Source
	}
	setRaw(&p.SecondarySources, in.SecondarySources)
	setStr(&p.SourceVersion, in.SourceVersion)
	setRaw(&p.SecondarySourceVersions, in.SecondarySourceVersions)
	if in.Artifacts != nil {
		p.Artifacts = in.Artifacts
	}
	setRaw(&p.SecondaryArtifacts, in.SecondaryArtifacts)
	if in.Cache != nil {
		p.Cache = in.Cache
	}
	if in.Environment != nil {
		p.Environment = in.Environment
	}
	setStr(&p.ServiceRole, in.ServiceRole)
	if in.TimeoutInMinutes != nil {
		p.TimeoutInMinutes = in.TimeoutInMinutes
	}
	if in.QueuedTimeoutInMinutes != nil {
		p.QueuedTimeoutInMinutes = in.QueuedTimeoutInMinutes
	}
	setStr(&p.EncryptionKey, in.EncryptionKey)
	if in.Tags != nil {
		p.Tags = in.Tags
	}
	setRaw(&p.VpcConfig, in.VpcConfig)
	if in.BadgeEnabled != nil {
		p.Badge = &model.ProjectBadge{BadgeEnabled: *in.BadgeEnabled}
	}
	if in.LogsConfig != nil {
		p.LogsConfig = in.LogsConfig
	}
	setRaw(&p.FileSystemLocations, in.FileSystemLocations)
	setRaw(&p.BuildBatchConfig, in.BuildBatchConfig)
	if in.ConcurrentBuildLimit != nil {
		p.ConcurrentBuildLimit = in.ConcurrentBuildLimit
		if *in.ConcurrentBuildLimit == -1 {
			p.ConcurrentBuildLimit = nil // UpdateProject's way to remove the limit
		}
	}
	if in.AutoRetryLimit != nil {
		p.AutoRetryLimit = in.AutoRetryLimit
	}
}

// projectDefaults fills in what CodeBuild fills in when a project is saved.
// A Lambda project has no timeouts (Lambda compute has neither), and keeps
// none from before it became one.
func (s *Service) projectDefaults(p *model.Project) {
	if p.Environment != nil && lambdaEnvironment(p.Environment) {
		p.TimeoutInMinutes, p.QueuedTimeoutInMinutes = nil, nil
	} else {
		if p.TimeoutInMinutes == nil {
			p.TimeoutInMinutes = ptr(60)
		}
		if p.QueuedTimeoutInMinutes == nil {
			p.QueuedTimeoutInMinutes = ptr(480)
		}
	}
	if p.EncryptionKey == "" {
		p.EncryptionKey = fmt.Sprintf("arn:aws:kms:%s:%s:alias/aws/s3", s.names.Region, s.names.Account)
	}
	if p.Badge == nil {
		p.Badge = &model.ProjectBadge{}
	}
	if p.Cache == nil {
		p.Cache = &model.ProjectCache{Type: "NO_CACHE"}
	}
	if e := p.Environment; e != nil {
		if e.PrivilegedMode == nil {
			e.PrivilegedMode = ptr(false)
		}
		if e.ImagePullCredentialsType == "" {
			e.ImagePullCredentialsType = "CODEBUILD"
		}
		for i := range e.EnvironmentVariables {
			if e.EnvironmentVariables[i].Type == "" {
				e.EnvironmentVariables[i].Type = model.EnvPlaintext
			}
		}
	}
	if p.LogsConfig == nil {
		p.LogsConfig = &model.LogsConfig{}
	}
	if p.LogsConfig.CloudWatchLogs == nil {
		p.LogsConfig.CloudWatchLogs = &model.CloudWatchLogsConfig{Status: "ENABLED"}
	}
	if p.LogsConfig.S3Logs == nil {
		p.LogsConfig.S3Logs = json.RawMessage(`{"status":"DISABLED","encryptionDisabled":false}`)
	}
	if p.ProjectVisibility == "" {
		p.ProjectVisibility = "PRIVATE"
	}
}

// checkProject refuses projects no build could run with. in is the
// request: Lambda compute refuses what it sets, not stale stored values.
func (s *Service) checkProject(p *model.Project, in *ProjectInput, create bool) error {
	if !validRole(p.ServiceRole) {
		return invalid("Invalid service role: %s", p.ServiceRole)
	}
	if p.Source != nil && p.Source.Type == model.SourceS3 && p.Source.Location == "" {
		return invalid("Invalid source location: a source of type S3 needs a location (bucket/key)")
	}
	if e := p.Environment; e != nil {
		if err := checkEnvVars(e.EnvironmentVariables); err != nil {
			return err
		}
		if err := checkCompute(e); err != nil {
			return err
		}
		if err := checkFleetArn(e.Fleet); err != nil {
			return err
		}
		if lambdaEnvironment(e) {
			if err := checkLambdaProject(p, in); err != nil {
				return err
			}
		}
	}
	return s.checkConcurrentBuildLimit(in.ConcurrentBuildLimit, create)
}

// lambdaEnvironment reports whether builds of e run on Lambda compute (a
// fleet's environment is never Lambda).
func lambdaEnvironment(e *model.ProjectEnvironment) bool {
	return (e.Fleet == nil || e.Fleet.FleetArn == "") && model.IsLambdaEnvironment(e.Type)
}

// checkLambdaProject refuses what Lambda compute does not support (user
// guide, "Limitations of AWS Lambda compute": no custom build timeout, no
// queue timeout, no caching, no privileged mode), with CodeBuild's message
// shape: "Cannot specify queuedTimeoutInMinutes for lambda compute"
// (terraform-provider-aws#34376), "Cannot specify timeoutInMinutes for
// lambda compute" and "Cannot specify cache for lambda compute" (seen from
// CloudFormation, noted in Jets' CodeBuild project code). A stored cache
// from before the project became Lambda is dropped.
func checkLambdaProject(p *model.Project, in *ProjectInput) error {
	switch {
	case in.TimeoutInMinutes != nil:
		return lambdaRefuses("timeoutInMinutes")
	case in.QueuedTimeoutInMinutes != nil:
		return lambdaRefuses("queuedTimeoutInMinutes")
	case in.Cache != nil && in.Cache.Type != "NO_CACHE":
		return lambdaRefuses("cache")
	case p.Environment.PrivilegedMode != nil && *p.Environment.PrivilegedMode:
		return lambdaRefuses("privilegedMode")
	}
	p.Cache = &model.ProjectCache{Type: "NO_CACHE"}
	return nil
}

func lambdaRefuses(member string) error {
	return invalid("Cannot specify %s for lambda compute", member)
}

// fleetArnRE is the shape of a fleet ARN.
var fleetArnRE = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:codebuild:[a-z0-9-]+:[0-9]{12}:fleet/[A-Za-z0-9][A-Za-z0-9\-_]*:[A-Za-z0-9-]+$`)

// checkFleetArn refuses a project fleet that is not a fleet ARN. Whether
// the fleet exists is checked when a build starts: CreateProject has no
// ResourceNotFoundException, and templates may create the two in any order.
func checkFleetArn(f *model.ProjectFleet) error {
	if f == nil || f.FleetArn == "" {
		return nil
	}
	if len(f.FleetArn) > 1024 || !fleetArnRE.MatchString(f.FleetArn) {
		return invalid("Invalid fleet ARN: %s", f.FleetArn)
	}
	return nil
}

// checkConcurrentBuildLimit checks a project's concurrentBuildLimit: at
// least 1 (-1 removes it, on update only, as the API documents), and not
// above the runner's cap on running builds, which CodeBuild refuses as
// "Project-level concurrent build limit cannot exceed the account-level
// concurrent build limit of N." (an InvalidInputException,
// terraform-provider-aws#37748).
func (s *Service) checkConcurrentBuildLimit(limit *int, create bool) error {
	if limit == nil || (*limit == -1 && !create) {
		return nil
	}
	if *limit < 1 {
		return invalid("Invalid concurrent build limit %d: it must be at least 1", *limit)
	}
	if c := s.capacity(); c != nil && c.MaxRunning() > 0 && *limit > c.MaxRunning() {
		return invalid("Project-level concurrent build limit cannot exceed the account-level concurrent build limit of %d.", c.MaxRunning())
	}
	return nil
}

// checkCompute refuses a Lambda compute type on a container environment
// type and the other way round, as CodeBuild does: neither pair can run.
// With a fleet the environment type is the fleet's, so it is not checked.
func checkCompute(e *model.ProjectEnvironment) error {
	if e.Fleet != nil && e.Fleet.FleetArn != "" {
		return nil
	}
	if model.IsLambdaCompute(e.ComputeType) != model.IsLambdaEnvironment(e.Type) {
		return invalid("Invalid compute type %s for environment type %s: Lambda compute types (BUILD_LAMBDA_*) run only on LINUX_LAMBDA_CONTAINER or ARM_LAMBDA_CONTAINER, and those environment types only with a Lambda compute type", e.ComputeType, e.Type)
	}
	return nil
}

// checkEnvVars refuses variable names CodeBuild reserves.
func checkEnvVars(vars []model.EnvironmentVariable) error {
	for _, v := range vars {
		if len(v.Name) >= 10 && v.Name[:10] == "CODEBUILD_" {
			return invalid("Invalid environment variable name %s: names that start with CODEBUILD_ are reserved", v.Name)
		}
	}
	return nil
}

// DeleteProjectInput is the input of DeleteProject.
type DeleteProjectInput struct {
	Name string `json:"name"`
}

// DeleteProject deletes a project; deleting a missing project succeeds.
func (s *Service) DeleteProject(ctx context.Context, in *DeleteProjectInput) (*struct{}, error) {
	if err := s.db.DeleteProject(ctx, model.ProjectNameFromArn(in.Name)); err != nil {
		return nil, fmt.Errorf("delete project %s: %w", in.Name, err)
	}
	return &struct{}{}, nil
}

// BatchGetProjectsInput is the input of BatchGetProjects.
type BatchGetProjectsInput struct {
	Names []string `json:"names"`
}

// BatchGetProjectsOutput is the output of BatchGetProjects.
type BatchGetProjectsOutput struct {
	Projects         []json.RawMessage `json:"projects"`
	ProjectsNotFound []string          `json:"projectsNotFound"`
}

// BatchGetProjects returns projects by name or ARN.
func (s *Service) BatchGetProjects(ctx context.Context, in *BatchGetProjectsInput) (*BatchGetProjectsOutput, error) {
	if len(in.Names) == 0 || len(in.Names) > 100 {
		return nil, invalid("names must hold between 1 and 100 project names")
	}
	out := &BatchGetProjectsOutput{Projects: []json.RawMessage{}, ProjectsNotFound: []string{}}
	for _, n := range in.Names {
		row, err := s.db.Project(ctx, model.ProjectNameFromArn(n))
		if isNotFound(err) {
			out.ProjectsNotFound = append(out.ProjectsNotFound, n)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get project %s: %w", n, err)
		}
		out.Projects = append(out.Projects, row.Body)
	}
	return out, nil
}

// ListProjectsInput is the input of ListProjects.
type ListProjectsInput struct {
	SortBy    string `json:"sortBy"`
	SortOrder string `json:"sortOrder"`
	NextToken string `json:"nextToken"`
}

// ListProjectsOutput is the output of ListProjects.
type ListProjectsOutput struct {
	Projects  []string `json:"projects"`
	NextToken string   `json:"nextToken,omitempty"`
}

// ListProjects lists project names, 100 a page.
func (s *Service) ListProjects(ctx context.Context, in *ListProjectsInput) (*ListProjectsOutput, error) {
	off, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	names, err := s.db.ListProjects(ctx, store.ProjectOrder{By: in.SortBy, Desc: in.SortOrder == "DESCENDING"}, off, pageSize+1)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	out := &ListProjectsOutput{}
	out.Projects, out.NextToken = page(names, off, pageSize)
	if out.Projects == nil {
		out.Projects = []string{}
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }
