package model

import (
	"encoding/json"
	"fmt"
)

// Phase types, in the order CodeBuild runs them.
const (
	PhaseSubmitted       = "SUBMITTED"
	PhaseQueued          = "QUEUED"
	PhaseProvisioning    = "PROVISIONING"
	PhaseDownloadSource  = "DOWNLOAD_SOURCE"
	PhaseInstall         = "INSTALL"
	PhasePreBuild        = "PRE_BUILD"
	PhaseBuild           = "BUILD"
	PhasePostBuild       = "POST_BUILD"
	PhaseUploadArtifacts = "UPLOAD_ARTIFACTS"
	PhaseFinalizing      = "FINALIZING"
	PhaseCompleted       = "COMPLETED"
)

// Status values of builds and phases (CodeBuild's StatusType).
const (
	StatusSucceeded  = "SUCCEEDED"
	StatusFailed     = "FAILED"
	StatusFault      = "FAULT"
	StatusTimedOut   = "TIMED_OUT"
	StatusInProgress = "IN_PROGRESS"
	StatusStopped    = "STOPPED"
)

// Environment variable types.
const (
	EnvPlaintext      = "PLAINTEXT"
	EnvParameterStore = "PARAMETER_STORE"
	EnvSecretsManager = "SECRETS_MANAGER"
)

// Source types Hangar can fetch on one machine.
const (
	SourceNoSource = "NO_SOURCE"
	SourceS3       = "S3"
)

// Project is a CodeBuild build project.
type Project struct {
	Name                    string              `json:"name"`
	Arn                     string              `json:"arn,omitempty"`
	Description             string              `json:"description,omitempty"`
	Source                  *ProjectSource      `json:"source,omitempty"`
	SecondarySources        json.RawMessage     `json:"secondarySources,omitempty"`
	SourceVersion           string              `json:"sourceVersion,omitempty"`
	SecondarySourceVersions json.RawMessage     `json:"secondarySourceVersions,omitempty"`
	Artifacts               *ProjectArtifacts   `json:"artifacts,omitempty"`
	SecondaryArtifacts      json.RawMessage     `json:"secondaryArtifacts,omitempty"`
	Cache                   *ProjectCache       `json:"cache,omitempty"`
	Environment             *ProjectEnvironment `json:"environment,omitempty"`
	ServiceRole             string              `json:"serviceRole,omitempty"`
	TimeoutInMinutes        *int                `json:"timeoutInMinutes,omitempty"`
	QueuedTimeoutInMinutes  *int                `json:"queuedTimeoutInMinutes,omitempty"`
	EncryptionKey           string              `json:"encryptionKey,omitempty"`
	Tags                    []Tag               `json:"tags,omitempty"`
	Created                 *Time               `json:"created,omitempty"`
	LastModified            *Time               `json:"lastModified,omitempty"`
	Webhook                 json.RawMessage     `json:"webhook,omitempty"`
	VpcConfig               json.RawMessage     `json:"vpcConfig,omitempty"`
	Badge                   *ProjectBadge       `json:"badge,omitempty"`
	LogsConfig              *LogsConfig         `json:"logsConfig,omitempty"`
	FileSystemLocations     json.RawMessage     `json:"fileSystemLocations,omitempty"`
	BuildBatchConfig        json.RawMessage     `json:"buildBatchConfig,omitempty"`
	ConcurrentBuildLimit    *int                `json:"concurrentBuildLimit,omitempty"`
	ProjectVisibility       string              `json:"projectVisibility,omitempty"`
	PublicProjectAlias      string              `json:"publicProjectAlias,omitempty"`
	ResourceAccessRole      string              `json:"resourceAccessRole,omitempty"`
	AutoRetryLimit          *int                `json:"autoRetryLimit,omitempty"`
}

// ProjectSource is where a build's input comes from.
type ProjectSource struct {
	Type                string          `json:"type"`
	Location            string          `json:"location,omitempty"`
	GitCloneDepth       *int            `json:"gitCloneDepth,omitempty"`
	GitSubmodulesConfig json.RawMessage `json:"gitSubmodulesConfig,omitempty"`
	Buildspec           string          `json:"buildspec,omitempty"`
	Auth                json.RawMessage `json:"auth,omitempty"`
	ReportBuildStatus   *bool           `json:"reportBuildStatus,omitempty"`
	BuildStatusConfig   json.RawMessage `json:"buildStatusConfig,omitempty"`
	InsecureSsl         *bool           `json:"insecureSsl,omitempty"`
	SourceIdentifier    string          `json:"sourceIdentifier,omitempty"`
}

// ProjectArtifacts says where a build's output goes.
type ProjectArtifacts struct {
	Type                 string `json:"type"`
	Location             string `json:"location,omitempty"`
	Path                 string `json:"path,omitempty"`
	NamespaceType        string `json:"namespaceType,omitempty"`
	Name                 string `json:"name,omitempty"`
	Packaging            string `json:"packaging,omitempty"`
	OverrideArtifactName *bool  `json:"overrideArtifactName,omitempty"`
	EncryptionDisabled   *bool  `json:"encryptionDisabled,omitempty"`
	ArtifactIdentifier   string `json:"artifactIdentifier,omitempty"`
	BucketOwnerAccess    string `json:"bucketOwnerAccess,omitempty"`
}

// ProjectCache is a project's cache setting.
type ProjectCache struct {
	Type           string   `json:"type"`
	Location       string   `json:"location,omitempty"`
	Modes          []string `json:"modes,omitempty"`
	CacheNamespace string   `json:"cacheNamespace,omitempty"`
}

// ProjectEnvironment is the build environment: image, compute, variables.
type ProjectEnvironment struct {
	Type                     string                `json:"type"`
	Image                    string                `json:"image"`
	ComputeType              string                `json:"computeType"`
	ComputeConfiguration     json.RawMessage       `json:"computeConfiguration,omitempty"`
	Fleet                    *ProjectFleet         `json:"fleet,omitempty"`
	EnvironmentVariables     []EnvironmentVariable `json:"environmentVariables,omitempty"`
	PrivilegedMode           *bool                 `json:"privilegedMode,omitempty"`
	Certificate              string                `json:"certificate,omitempty"`
	RegistryCredential       json.RawMessage       `json:"registryCredential,omitempty"`
	ImagePullCredentialsType string                `json:"imagePullCredentialsType,omitempty"`
	DockerServer             json.RawMessage       `json:"dockerServer,omitempty"`
}

// ProjectFleet points a project or build at a fleet.
type ProjectFleet struct {
	FleetArn string `json:"fleetArn,omitempty"`
}

// EnvironmentVariable is one build variable. Type is PLAINTEXT when empty.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type,omitempty"`
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
}

// ProjectBadge is the (unused) build badge setting, echoed for compatibility.
type ProjectBadge struct {
	BadgeEnabled    bool   `json:"badgeEnabled"`
	BadgeRequestURL string `json:"badgeRequestUrl,omitempty"`
}

// LogsConfig says where build logs go.
type LogsConfig struct {
	CloudWatchLogs *CloudWatchLogsConfig `json:"cloudWatchLogs,omitempty"`
	S3Logs         json.RawMessage       `json:"s3Logs,omitempty"`
}

// CloudWatchLogsConfig names the log group and stream prefix of a project.
type CloudWatchLogsConfig struct {
	Status     string `json:"status"`
	GroupName  string `json:"groupName,omitempty"`
	StreamName string `json:"streamName,omitempty"`
}

// Build is one run of a project.
type Build struct {
	ID                           string                        `json:"id"`
	Arn                          string                        `json:"arn"`
	BuildNumber                  int64                         `json:"buildNumber"`
	StartTime                    *Time                         `json:"startTime,omitempty"`
	EndTime                      *Time                         `json:"endTime,omitempty"`
	CurrentPhase                 string                        `json:"currentPhase,omitempty"`
	BuildStatus                  string                        `json:"buildStatus,omitempty"`
	SourceVersion                string                        `json:"sourceVersion,omitempty"`
	ResolvedSourceVersion        string                        `json:"resolvedSourceVersion,omitempty"`
	ProjectName                  string                        `json:"projectName"`
	Phases                       []BuildPhase                  `json:"phases,omitempty"`
	Source                       *ProjectSource                `json:"source,omitempty"`
	SecondarySources             json.RawMessage               `json:"secondarySources,omitempty"`
	SecondarySourceVersions      json.RawMessage               `json:"secondarySourceVersions,omitempty"`
	Artifacts                    *BuildArtifacts               `json:"artifacts,omitempty"`
	SecondaryArtifacts           json.RawMessage               `json:"secondaryArtifacts,omitempty"`
	Cache                        *ProjectCache                 `json:"cache,omitempty"`
	Environment                  *ProjectEnvironment           `json:"environment,omitempty"`
	ServiceRole                  string                        `json:"serviceRole,omitempty"`
	Logs                         *LogsLocation                 `json:"logs,omitempty"`
	TimeoutInMinutes             *int                          `json:"timeoutInMinutes,omitempty"`
	QueuedTimeoutInMinutes       *int                          `json:"queuedTimeoutInMinutes,omitempty"`
	BuildComplete                bool                          `json:"buildComplete"`
	Initiator                    string                        `json:"initiator,omitempty"`
	VpcConfig                    json.RawMessage               `json:"vpcConfig,omitempty"`
	EncryptionKey                string                        `json:"encryptionKey,omitempty"`
	ExportedEnvironmentVariables []ExportedEnvironmentVariable `json:"exportedEnvironmentVariables,omitempty"`
	FileSystemLocations          json.RawMessage               `json:"fileSystemLocations,omitempty"`
	DebugSession                 *DebugSession                 `json:"debugSession,omitempty"`
	AutoRetryConfig              json.RawMessage               `json:"autoRetryConfig,omitempty"`
}

// BuildPhase is one phase of a build. The phase in progress has only its
// type and start time; COMPLETED never gets a status or end time.
type BuildPhase struct {
	PhaseType         string         `json:"phaseType"`
	PhaseStatus       string         `json:"phaseStatus,omitempty"`
	StartTime         *Time          `json:"startTime,omitempty"`
	EndTime           *Time          `json:"endTime,omitempty"`
	DurationInSeconds *int64         `json:"durationInSeconds,omitempty"`
	Contexts          []PhaseContext `json:"contexts,omitempty"`
}

// PhaseContext explains a phase's status.
type PhaseContext struct {
	StatusCode string `json:"statusCode"`
	Message    string `json:"message"`
}

// BuildArtifacts describes a build's uploaded output.
type BuildArtifacts struct {
	Location             string `json:"location,omitempty"`
	Sha256sum            string `json:"sha256sum,omitempty"`
	Md5sum               string `json:"md5sum,omitempty"`
	OverrideArtifactName *bool  `json:"overrideArtifactName,omitempty"`
	EncryptionDisabled   *bool  `json:"encryptionDisabled,omitempty"`
	ArtifactIdentifier   string `json:"artifactIdentifier,omitempty"`
	BucketOwnerAccess    string `json:"bucketOwnerAccess,omitempty"`
}

// LogsLocation tells where a build's log is.
type LogsLocation struct {
	GroupName         string                `json:"groupName,omitempty"`
	StreamName        string                `json:"streamName,omitempty"`
	DeepLink          string                `json:"deepLink,omitempty"`
	CloudWatchLogsArn string                `json:"cloudWatchLogsArn,omitempty"`
	CloudWatchLogs    *CloudWatchLogsConfig `json:"cloudWatchLogs,omitempty"`
	S3Logs            json.RawMessage       `json:"s3Logs,omitempty"`
}

// ExportedEnvironmentVariable is a variable a build exported.
type ExportedEnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// DebugSession is echoed for compatibility; Hangar has no debug sessions.
type DebugSession struct {
	SessionEnabled bool   `json:"sessionEnabled"`
	SessionTarget  string `json:"sessionTarget,omitempty"`
}

// Phase returns the last phase of type t, or nil.
func (b *Build) Phase(t string) *BuildPhase {
	for i := len(b.Phases) - 1; i >= 0; i-- {
		if b.Phases[i].PhaseType == t {
			return &b.Phases[i]
		}
	}
	return nil
}

// Done reports whether the build has finished.
func (b *Build) Done() bool { return b.BuildComplete }

// Fleet is a CodeBuild reserved-capacity fleet.
type Fleet struct {
	Arn                  string                `json:"arn"`
	Name                 string                `json:"name"`
	ID                   string                `json:"id"`
	Created              *Time                 `json:"created,omitempty"`
	LastModified         *Time                 `json:"lastModified,omitempty"`
	Status               *FleetStatus          `json:"status,omitempty"`
	BaseCapacity         int                   `json:"baseCapacity"`
	EnvironmentType      string                `json:"environmentType"`
	ComputeType          string                `json:"computeType"`
	ComputeConfiguration json.RawMessage       `json:"computeConfiguration,omitempty"`
	ScalingConfiguration *ScalingConfiguration `json:"scalingConfiguration,omitempty"`
	OverflowBehavior     string                `json:"overflowBehavior,omitempty"`
	VpcConfig            json.RawMessage       `json:"vpcConfig,omitempty"`
	ProxyConfiguration   json.RawMessage       `json:"proxyConfiguration,omitempty"`
	ImageID              string                `json:"imageId,omitempty"`
	FleetServiceRole     string                `json:"fleetServiceRole,omitempty"`
	Tags                 []Tag                 `json:"tags,omitempty"`
}

// Fleet overflow behaviors: what a build does when every machine of its
// fleet is busy.
const (
	OverflowQueue    = "QUEUE"
	OverflowOnDemand = "ON_DEMAND"
)

// Fleet status codes and contexts Hangar uses.
const (
	FleetActive          = "ACTIVE"
	FleetCreateFailed    = "CREATE_FAILED"
	FleetPendingDeletion = "PENDING_DELETION"
)

// ScalingConfiguration is a fleet's scaling configuration: the input's
// members, and desiredCapacity in output.
type ScalingConfiguration struct {
	ScalingType                  string                 `json:"scalingType,omitempty"`
	TargetTrackingScalingConfigs []TargetTrackingConfig `json:"targetTrackingScalingConfigs,omitempty"`
	MaxCapacity                  *int                   `json:"maxCapacity,omitempty"`
	DesiredCapacity              *int                   `json:"desiredCapacity,omitempty"`
}

// TargetTrackingConfig is when a fleet would scale out.
type TargetTrackingConfig struct {
	MetricType  string   `json:"metricType,omitempty"`
	TargetValue *float64 `json:"targetValue,omitempty"`
}

// FleetCountsMessage is how a Hangar runner shows a fleet's live build
// counts in its status.message: R builds running on its N machines, Q
// waiting for one.
func FleetCountsMessage(running, machines, queued int) string {
	return fmt.Sprintf("running %d/%d, queued %d", running, machines, queued)
}

// ParseFleetCounts reads FleetCountsMessage back; ok is false for any
// other message (a fleet on AWS, one that failed to create).
func ParseFleetCounts(msg string) (running, machines, queued int, ok bool) {
	n, err := fmt.Sscanf(msg, "running %d/%d, queued %d", &running, &machines, &queued)
	return running, machines, queued, err == nil && n == 3 && msg == FleetCountsMessage(running, machines, queued)
}

// FleetStatus is a fleet's state.
type FleetStatus struct {
	StatusCode string `json:"statusCode"`
	Context    string `json:"context,omitempty"`
	Message    string `json:"message,omitempty"`
}
