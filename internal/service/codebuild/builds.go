package codebuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/store"
)

// StartBuildInput is the input of StartBuild.
type StartBuildInput struct {
	ProjectName                      string                      `json:"projectName"`
	SecondarySourcesOverride         json.RawMessage             `json:"secondarySourcesOverride,omitempty"`
	SecondarySourcesVersionOverride  json.RawMessage             `json:"secondarySourcesVersionOverride,omitempty"`
	SourceVersion                    string                      `json:"sourceVersion,omitempty"`
	ArtifactsOverride                *model.ProjectArtifacts     `json:"artifactsOverride,omitempty"`
	SecondaryArtifactsOverride       json.RawMessage             `json:"secondaryArtifactsOverride,omitempty"`
	EnvironmentVariablesOverride     []model.EnvironmentVariable `json:"environmentVariablesOverride,omitempty"`
	SourceTypeOverride               string                      `json:"sourceTypeOverride,omitempty"`
	SourceLocationOverride           *string                     `json:"sourceLocationOverride,omitempty"`
	SourceAuthOverride               json.RawMessage             `json:"sourceAuthOverride,omitempty"`
	GitCloneDepthOverride            *int                        `json:"gitCloneDepthOverride,omitempty"`
	GitSubmodulesConfigOverride      json.RawMessage             `json:"gitSubmodulesConfigOverride,omitempty"`
	BuildspecOverride                *string                     `json:"buildspecOverride,omitempty"`
	InsecureSslOverride              *bool                       `json:"insecureSslOverride,omitempty"`
	ReportBuildStatusOverride        *bool                       `json:"reportBuildStatusOverride,omitempty"`
	BuildStatusConfigOverride        json.RawMessage             `json:"buildStatusConfigOverride,omitempty"`
	EnvironmentTypeOverride          string                      `json:"environmentTypeOverride,omitempty"`
	ImageOverride                    string                      `json:"imageOverride,omitempty"`
	ComputeTypeOverride              string                      `json:"computeTypeOverride,omitempty"`
	CertificateOverride              *string                     `json:"certificateOverride,omitempty"`
	CacheOverride                    *model.ProjectCache         `json:"cacheOverride,omitempty"`
	ServiceRoleOverride              string                      `json:"serviceRoleOverride,omitempty"`
	PrivilegedModeOverride           *bool                       `json:"privilegedModeOverride,omitempty"`
	TimeoutInMinutesOverride         *int                        `json:"timeoutInMinutesOverride,omitempty"`
	QueuedTimeoutInMinutesOverride   *int                        `json:"queuedTimeoutInMinutesOverride,omitempty"`
	EncryptionKeyOverride            string                      `json:"encryptionKeyOverride,omitempty"`
	IdempotencyToken                 string                      `json:"idempotencyToken,omitempty"`
	LogsConfigOverride               *model.LogsConfig           `json:"logsConfigOverride,omitempty"`
	RegistryCredentialOverride       json.RawMessage             `json:"registryCredentialOverride,omitempty"`
	ImagePullCredentialsTypeOverride string                      `json:"imagePullCredentialsTypeOverride,omitempty"`
	DebugSessionEnabled              *bool                       `json:"debugSessionEnabled,omitempty"`
	FleetOverride                    *model.ProjectFleet         `json:"fleetOverride,omitempty"`
	AutoRetryLimitOverride           *int                        `json:"autoRetryLimitOverride,omitempty"`
}

// BuildOutput is the output of StartBuild, StopBuild and RetryBuild.
type BuildOutput struct {
	Build *model.Build `json:"build"`
}

// plan is what a build keeps beside its API object: the request that
// started it (for RetryBuild) and its hash (for idempotency tokens).
type plan struct {
	Request     json.RawMessage `json:"request"`
	RequestHash string          `json:"requestHash"`
}

// idempotencyWindow is how long CodeBuild honours an idempotency token.
const idempotencyWindow = 5 * time.Minute

// StartBuild starts a build of a project.
func (s *Service) StartBuild(ctx context.Context, in *StartBuildInput) (*BuildOutput, error) {
	name := model.ProjectNameFromArn(in.ProjectName)
	row, err := s.db.Project(ctx, name)
	if isNotFound(err) {
		return nil, notFound("Project cannot be found: %s", s.names.ProjectArn(name))
	}
	if err != nil {
		return nil, fmt.Errorf("start build of %s: %w", name, err)
	}
	project := new(model.Project)
	if err := json.Unmarshal(row.Body, project); err != nil {
		return nil, fmt.Errorf("decode project %s: %w", name, err)
	}
	if len(in.IdempotencyToken) > 64 {
		return nil, invalid("Invalid idempotency token: it must be at most 64 characters long")
	}
	if err := checkEnvVars(in.EnvironmentVariablesOverride); err != nil {
		return nil, err
	}
	env := buildEnvironment(project, in)
	var fleet *model.Fleet
	if env.Fleet != nil && env.Fleet.FleetArn != "" {
		if err := checkFleetArn(env.Fleet); err != nil {
			return nil, err
		}
		if fleet, err = s.fleetFor(ctx, env.Fleet.FleetArn); err != nil {
			return nil, err
		}
	}
	if err := checkCompute(env); err != nil {
		return nil, err
	}
	if lambdaEnvironment(env) {
		if err := checkLambdaBuild(in); err != nil {
			return nil, err
		}
	}
	req, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	sum := sha256.Sum256(req)
	p := plan{Request: req, RequestHash: hex.EncodeToString(sum[:])}

	// One StartBuild at a time from here to the scheduler: a token must be
	// looked up, and a project's build count checked, together with storing
	// the build, and builds must reach the queue in the order of their
	// numbers (the order they were started in), which concurrent requests
	// would shuffle. The store's single writer serialises the insert anyway.
	limit := 0
	if l := project.ConcurrentBuildLimit; l != nil && *l > 0 && s.capacity() != nil {
		limit = *l
	}
	s.tokenMu.Lock()
	defer s.tokenMu.Unlock()
	if in.IdempotencyToken != "" {
		prev, err := s.db.BuildByToken(ctx, name, in.IdempotencyToken)
		if err != nil && !isNotFound(err) {
			return nil, fmt.Errorf("look up idempotency token: %w", err)
		}
		if err == nil {
			if b, ok, err := s.sameRequest(prev, p); err != nil || ok {
				return &BuildOutput{Build: b}, err
			}
		}
	}
	if limit > 0 && s.capacity().ProjectBuilds(name) >= limit {
		return nil, projectLimitError(limit)
	}

	b, err := s.insertBuild(ctx, project, in, p, fleet)
	if err != nil {
		return nil, err
	}
	if err := s.sched.Submit(ctx, b); err != nil {
		return nil, fmt.Errorf("submit build %s: %w", b.ID, err)
	}
	return &BuildOutput{Build: b}, nil
}

// projectLimitError is StartBuild's answer when a project has as many
// builds in progress as its concurrentBuildLimit. CodeBuild "returns an
// error" then rather than queueing (user guide, "Builds in AWS CodeBuild");
// the only limit error StartBuild models is AccountLimitExceededException,
// which CodeBuild sends for the account's concurrency ("Cannot have more
// than 1 builds in queue for the account", seen in many issue reports), so
// the project's limit answers with the same exception and a message of the
// same shape. The exact message AWS sends for a project's limit was not
// found; clients match on the exception name.
func projectLimitError(limit int) error {
	return awsErr("AccountLimitExceededException", "Cannot have more than %d active builds for the project", limit)
}

// checkLambdaBuild refuses StartBuild overrides Lambda compute does not
// support, as CreateProject refuses the project members (see
// checkLambdaProject).
func checkLambdaBuild(in *StartBuildInput) error {
	switch {
	case in.TimeoutInMinutesOverride != nil:
		return lambdaRefuses("timeoutInMinutesOverride")
	case in.QueuedTimeoutInMinutesOverride != nil:
		return lambdaRefuses("queuedTimeoutInMinutesOverride")
	case in.CacheOverride != nil && in.CacheOverride.Type != "NO_CACHE":
		return lambdaRefuses("cacheOverride")
	case in.PrivilegedModeOverride != nil && *in.PrivilegedModeOverride:
		return lambdaRefuses("privilegedModeOverride")
	}
	return nil
}

// sameRequest decides what an idempotency token seen before means: the
// earlier build (ok) when the request is the same and recent, an error when
// it differs, and nothing when the token has expired.
func (s *Service) sameRequest(prev store.BuildRow, p plan) (*model.Build, bool, error) {
	b := new(model.Build)
	if err := json.Unmarshal(prev.Body, b); err != nil {
		return nil, false, fmt.Errorf("decode build %s: %w", prev.ID, err)
	}
	if b.StartTime == nil || s.now().Sub(b.StartTime.Time) > idempotencyWindow {
		return nil, false, nil
	}
	var pp plan
	if err := json.Unmarshal(prev.Plan, &pp); err != nil {
		return nil, false, fmt.Errorf("decode build %s plan: %w", prev.ID, err)
	}
	if pp.RequestHash != p.RequestHash {
		return nil, false, invalid("The idempotency token %s was already used with different request parameters", prev.Token)
	}
	return b, true, nil
}

// insertBuild makes the build a request asks for and stores it, QUEUED.
func (s *Service) insertBuild(ctx context.Context, project *model.Project, in *StartBuildInput, p plan, fleet *model.Fleet) (*model.Build, error) {
	planJSON, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode build plan: %w", err)
	}
	var b *model.Build
	_, err = s.db.InsertBuild(ctx, project.Name, func(number int64) (store.BuildRow, error) {
		b = s.newBuild(ctx, project, in, number, fleet)
		body, err := json.Marshal(b)
		if err != nil {
			return store.BuildRow{}, fmt.Errorf("encode build: %w", err)
		}
		return store.BuildRow{ID: b.ID, Project: project.Name, Body: body, Plan: planJSON, Token: in.IdempotencyToken}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store build of %s: %w", project.Name, err)
	}
	return b, nil
}

// newBuild returns the build a StartBuild request makes: the project's
// settings with the request's overrides, SUBMITTED done and QUEUED begun.
// On a fleet, the build's environment type and compute are the fleet's
// (CodeBuild ignores the project's then): what it runs on and is limited to.
func (s *Service) newBuild(ctx context.Context, p *model.Project, in *StartBuildInput, number int64, fleet *model.Fleet) *model.Build {
	now := model.NewTime(s.now())
	id := p.Name + ":" + uuid.NewString()
	b := &model.Build{
		ID:                      id,
		Arn:                     s.names.BuildArn(id),
		BuildNumber:             number,
		StartTime:               now.Ptr(),
		CurrentPhase:            model.PhaseQueued,
		BuildStatus:             model.StatusInProgress,
		ProjectName:             p.Name,
		SourceVersion:           firstNonEmpty(in.SourceVersion, p.SourceVersion),
		SecondarySources:        orRaw(in.SecondarySourcesOverride, p.SecondarySources),
		SecondarySourceVersions: orRaw(in.SecondarySourcesVersionOverride, p.SecondarySourceVersions),
		SecondaryArtifacts:      orRaw(in.SecondaryArtifactsOverride, p.SecondaryArtifacts),
		ServiceRole:             firstNonEmpty(in.ServiceRoleOverride, p.ServiceRole),
		TimeoutInMinutes:        orPtr(in.TimeoutInMinutesOverride, p.TimeoutInMinutes),
		QueuedTimeoutInMinutes:  orPtr(in.QueuedTimeoutInMinutesOverride, p.QueuedTimeoutInMinutes),
		Initiator:               "hangar",
		VpcConfig:               p.VpcConfig,
		EncryptionKey:           firstNonEmpty(in.EncryptionKeyOverride, p.EncryptionKey),
		FileSystemLocations:     p.FileSystemLocations,
		Phases: []model.BuildPhase{
			{PhaseType: model.PhaseSubmitted, PhaseStatus: model.StatusSucceeded, StartTime: now.Ptr(), EndTime: now.Ptr(), DurationInSeconds: ptr(int64(0))},
			{PhaseType: model.PhaseQueued, StartTime: now.Ptr()},
		},
	}
	if in.DebugSessionEnabled != nil {
		b.DebugSession = &model.DebugSession{SessionEnabled: false}
	}

	src := model.ProjectSource{Type: model.SourceNoSource}
	if p.Source != nil {
		src = *p.Source
	}
	if in.SourceTypeOverride != "" {
		src.Type = in.SourceTypeOverride
	}
	if in.SourceLocationOverride != nil {
		src.Location = *in.SourceLocationOverride
	}
	if in.BuildspecOverride != nil {
		src.Buildspec = *in.BuildspecOverride
	}
	if in.GitCloneDepthOverride != nil {
		src.GitCloneDepth = in.GitCloneDepthOverride
	}
	if in.InsecureSslOverride != nil {
		src.InsecureSsl = in.InsecureSslOverride
	}
	if in.ReportBuildStatusOverride != nil {
		src.ReportBuildStatus = in.ReportBuildStatusOverride
	}
	src.Auth = orRaw(in.SourceAuthOverride, src.Auth)
	src.GitSubmodulesConfig = orRaw(in.GitSubmodulesConfigOverride, src.GitSubmodulesConfig)
	src.BuildStatusConfig = orRaw(in.BuildStatusConfigOverride, src.BuildStatusConfig)
	b.Source = &src

	env := *buildEnvironment(p, in)
	if in.ImageOverride != "" {
		env.Image = in.ImageOverride
	}
	if in.PrivilegedModeOverride != nil {
		env.PrivilegedMode = in.PrivilegedModeOverride
	}
	if in.CertificateOverride != nil {
		env.Certificate = *in.CertificateOverride
	}
	if in.ImagePullCredentialsTypeOverride != "" {
		env.ImagePullCredentialsType = in.ImagePullCredentialsTypeOverride
	}
	env.RegistryCredential = orRaw(in.RegistryCredentialOverride, env.RegistryCredential)
	env.EnvironmentVariables = mergeVars(env.EnvironmentVariables, in.EnvironmentVariablesOverride)
	if fleet != nil {
		env.Fleet = &model.ProjectFleet{FleetArn: fleet.Arn}
		env.Type, env.ComputeType, env.ComputeConfiguration = fleet.EnvironmentType, fleet.ComputeType, fleet.ComputeConfiguration
	}
	b.Environment = &env

	artifacts := p.Artifacts
	if in.ArtifactsOverride != nil {
		artifacts = in.ArtifactsOverride
	}
	b.Artifacts = &model.BuildArtifacts{}
	if artifacts != nil {
		b.Artifacts.Location = artifactLocation(artifacts)
		b.Artifacts.OverrideArtifactName = artifacts.OverrideArtifactName
		b.Artifacts.EncryptionDisabled = artifacts.EncryptionDisabled
		b.Artifacts.ArtifactIdentifier = artifacts.ArtifactIdentifier
		b.Artifacts.BucketOwnerAccess = artifacts.BucketOwnerAccess
	}
	b.Cache = p.Cache
	if in.CacheOverride != nil {
		b.Cache = in.CacheOverride
	}
	if lambdaEnvironment(&env) {
		// Lambda compute has no timeouts to set and no cache, even when a
		// container project's build is overridden onto it.
		b.TimeoutInMinutes, b.QueuedTimeoutInMinutes = nil, nil
		b.Cache = &model.ProjectCache{Type: "NO_CACHE"}
	}

	logs := p.LogsConfig
	if in.LogsConfigOverride != nil {
		logs = in.LogsConfigOverride
	}
	b.Logs = &model.LogsLocation{
		// Until the stream exists CodeBuild shows "null" names; clients such
		// as the official GitHub Action rely on that.
		DeepLink:          fmt.Sprintf("https://console.aws.amazon.com/cloudwatch/home?region=%s#logEvent:group=null;stream=null", s.names.Region),
		CloudWatchLogsArn: s.names.LogStreamArn("null", "null"),
	}
	if logs != nil {
		b.Logs.CloudWatchLogs = logs.CloudWatchLogs
		b.Logs.S3Logs = logs.S3Logs
	}
	return b
}

// buildEnvironment returns a copy of the project's environment with the
// request's environment type, compute type and fleet overrides: what
// decides where the build runs.
func buildEnvironment(p *model.Project, in *StartBuildInput) *model.ProjectEnvironment {
	env := model.ProjectEnvironment{}
	if p.Environment != nil {
		env = *p.Environment
	}
	if in.EnvironmentTypeOverride != "" {
		env.Type = in.EnvironmentTypeOverride
	}
	if in.ComputeTypeOverride != "" {
		env.ComputeType = in.ComputeTypeOverride
	}
	if in.FleetOverride != nil && in.FleetOverride.FleetArn != "" {
		env.Fleet = in.FleetOverride
	}
	return &env
}

// artifactLocation is the build's artifact location as CodeBuild shows it.
func artifactLocation(a *model.ProjectArtifacts) string {
	if a.Type != "S3" || a.Location == "" {
		return ""
	}
	loc := "arn:aws:s3:::" + a.Location
	if a.Path != "" {
		loc += "/" + a.Path
	}
	if a.Name != "" {
		loc += "/" + a.Name
	}
	return loc
}

// mergeVars returns the project's variables with the overrides applied: an
// override replaces a project variable of the same name, new ones follow.
func mergeVars(project, override []model.EnvironmentVariable) []model.EnvironmentVariable {
	out := make([]model.EnvironmentVariable, 0, len(project)+len(override))
	idx := make(map[string]int, len(project)+len(override))
	for _, list := range [][]model.EnvironmentVariable{project, override} {
		for _, v := range list {
			if v.Type == "" {
				v.Type = model.EnvPlaintext
			}
			if i, ok := idx[v.Name]; ok {
				out[i] = v
				continue
			}
			idx[v.Name] = len(out)
			out = append(out, v)
		}
	}
	return out
}

func firstNonEmpty(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}

func orRaw(a, b json.RawMessage) json.RawMessage {
	if a != nil {
		return a
	}
	return b
}

func orPtr[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// StopBuildInput is the input of StopBuild.
type StopBuildInput struct {
	ID string `json:"id"`
}

// StopBuild stops a build. Stopping a finished build returns it unchanged.
func (s *Service) StopBuild(ctx context.Context, in *StopBuildInput) (*BuildOutput, error) {
	if _, _, ok := model.SplitBuildID(in.ID); !ok {
		return nil, invalid("Invalid build ID provided")
	}
	id := buildIDFromArn(in.ID)
	b, err := s.build(ctx, id)
	if err != nil {
		return nil, err
	}
	if !b.BuildComplete {
		// Wait a bounded time for the stop to finish, so the answer shows
		// the final state in the common case.
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.sched.Stop(wctx, id)
		cancel()
		if err != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("stop build %s: %w", id, err)
		}
		if b, err = s.build(ctx, id); err != nil {
			return nil, err
		}
	}
	return &BuildOutput{Build: b}, nil
}

// build loads one build, or answers ResourceNotFoundException.
func (s *Service) build(ctx context.Context, id string) (*model.Build, error) {
	row, err := s.db.Build(ctx, id)
	if isNotFound(err) {
		return nil, notFound("Build %s does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get build %s: %w", id, err)
	}
	b := new(model.Build)
	if err := json.Unmarshal(row.Body, b); err != nil {
		return nil, fmt.Errorf("decode build %s: %w", id, err)
	}
	return b, nil
}

func buildIDFromArn(id string) string {
	if p, u, ok := model.SplitBuildID(id); ok {
		return p + ":" + u
	}
	return id
}

// RetryBuildInput is the input of RetryBuild.
type RetryBuildInput struct {
	ID               string `json:"id"`
	IdempotencyToken string `json:"idempotencyToken"`
}

// RetryBuild starts a new build with the same request as an earlier one.
func (s *Service) RetryBuild(ctx context.Context, in *RetryBuildInput) (*BuildOutput, error) {
	if _, _, ok := model.SplitBuildID(in.ID); !ok {
		return nil, invalid("Invalid build ID provided")
	}
	id := buildIDFromArn(in.ID)
	row, err := s.db.Build(ctx, id)
	if isNotFound(err) {
		return nil, notFound("Build %s does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get build %s: %w", id, err)
	}
	var p plan
	if err := json.Unmarshal(row.Plan, &p); err != nil {
		return nil, fmt.Errorf("decode build %s plan: %w", id, err)
	}
	req := new(StartBuildInput)
	if len(p.Request) > 0 {
		if err := json.NewDecoder(bytes.NewReader(p.Request)).Decode(req); err != nil {
			return nil, fmt.Errorf("decode build %s request: %w", id, err)
		}
	}
	req.ProjectName = row.Project
	req.IdempotencyToken = in.IdempotencyToken
	return s.StartBuild(ctx, req)
}

// BatchGetBuildsInput is the input of BatchGetBuilds.
type BatchGetBuildsInput struct {
	IDs []string `json:"ids"`
}

// BatchGetBuildsOutput is the output of BatchGetBuilds. Builds are sent as
// stored, without decoding them: this is the call clients poll.
type BatchGetBuildsOutput struct {
	Builds         []json.RawMessage `json:"builds"`
	BuildsNotFound []string          `json:"buildsNotFound"`
}

// BatchGetBuilds returns builds by id, in the order asked.
func (s *Service) BatchGetBuilds(ctx context.Context, in *BatchGetBuildsInput) (*BatchGetBuildsOutput, error) {
	if len(in.IDs) == 0 || len(in.IDs) > 100 {
		return nil, invalid("ids must hold between 1 and 100 build ids")
	}
	ids := make([]string, len(in.IDs))
	for i, id := range in.IDs {
		ids[i] = buildIDFromArn(id)
	}
	bodies, err := s.db.BuildBodies(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("get builds: %w", err)
	}
	out := &BatchGetBuildsOutput{Builds: make([]json.RawMessage, 0, len(ids)), BuildsNotFound: []string{}}
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		body, ok := bodies[id]
		switch {
		case !ok:
			out.BuildsNotFound = append(out.BuildsNotFound, in.IDs[i])
		case !seen[id]:
			seen[id] = true
			out.Builds = append(out.Builds, body)
		}
	}
	return out, nil
}

// ListBuildsInput is the input of ListBuilds.
type ListBuildsInput struct {
	SortOrder string `json:"sortOrder"`
	NextToken string `json:"nextToken"`
}

// ListBuildsOutput is the output of ListBuilds and ListBuildsForProject.
type ListBuildsOutput struct {
	IDs       []string `json:"ids"`
	NextToken string   `json:"nextToken,omitempty"`
}

// ListBuilds lists build ids of every project, newest first by default.
func (s *Service) ListBuilds(ctx context.Context, in *ListBuildsInput) (*ListBuildsOutput, error) {
	return s.listBuilds(ctx, "", in.SortOrder, in.NextToken)
}

// ListBuildsForProjectInput is the input of ListBuildsForProject.
type ListBuildsForProjectInput struct {
	ProjectName string `json:"projectName"`
	SortOrder   string `json:"sortOrder"`
	NextToken   string `json:"nextToken"`
}

// ListBuildsForProject lists one project's build ids by build number,
// highest first by default.
func (s *Service) ListBuildsForProject(ctx context.Context, in *ListBuildsForProjectInput) (*ListBuildsOutput, error) {
	name := model.ProjectNameFromArn(in.ProjectName)
	if _, err := s.db.Project(ctx, name); isNotFound(err) {
		return nil, notFound("The provided project %s does not exist", s.names.ProjectArn(name))
	} else if err != nil {
		return nil, fmt.Errorf("get project %s: %w", name, err)
	}
	return s.listBuilds(ctx, name, in.SortOrder, in.NextToken)
}

func (s *Service) listBuilds(ctx context.Context, project, order, token string) (*ListBuildsOutput, error) {
	off, err := decodeToken(token)
	if err != nil {
		return nil, err
	}
	ids, err := s.db.ListBuildIDs(ctx, project, order == "ASCENDING", off, pageSize+1)
	if err != nil {
		return nil, fmt.Errorf("list builds: %w", err)
	}
	out := &ListBuildsOutput{}
	out.IDs, out.NextToken = page(ids, off, pageSize)
	if out.IDs == nil {
		out.IDs = []string{}
	}
	return out, nil
}

// BatchDeleteBuildsInput is the input of BatchDeleteBuilds.
type BatchDeleteBuildsInput struct {
	IDs []string `json:"ids"`
}

// BuildNotDeleted names a build BatchDeleteBuilds left and why.
type BuildNotDeleted struct {
	ID         string `json:"id"`
	StatusCode string `json:"statusCode"`
}

// BatchDeleteBuildsOutput is the output of BatchDeleteBuilds.
type BatchDeleteBuildsOutput struct {
	BuildsDeleted    []string          `json:"buildsDeleted"`
	BuildsNotDeleted []BuildNotDeleted `json:"buildsNotDeleted"`
}

// BatchDeleteBuilds deletes finished builds; running ones are left.
func (s *Service) BatchDeleteBuilds(ctx context.Context, in *BatchDeleteBuildsInput) (*BatchDeleteBuildsOutput, error) {
	if len(in.IDs) == 0 || len(in.IDs) > 100 {
		return nil, invalid("ids must hold between 1 and 100 build ids")
	}
	out := &BatchDeleteBuildsOutput{BuildsDeleted: []string{}, BuildsNotDeleted: []BuildNotDeleted{}}
	for _, raw := range in.IDs {
		existed, deleted, err := s.db.DeleteBuild(ctx, buildIDFromArn(raw))
		if err != nil {
			return nil, fmt.Errorf("delete build %s: %w", raw, err)
		}
		switch {
		case deleted:
			out.BuildsDeleted = append(out.BuildsDeleted, raw)
		case existed:
			out.BuildsNotDeleted = append(out.BuildsNotDeleted, BuildNotDeleted{ID: raw, StatusCode: "BUILD_IN_PROGRESS"})
		default:
			out.BuildsNotDeleted = append(out.BuildsNotDeleted, BuildNotDeleted{ID: raw, StatusCode: "BUILD_NOT_FOUND"})
		}
	}
	return out, nil
}
