package model

// Parameter is one version of an SSM Parameter Store parameter as
// GetParameter, GetParameters and GetParametersByPath return it (the
// botocore "Parameter" shape: no description, key or tier here).
type Parameter struct {
	Name             string `json:"Name"`
	Type             string `json:"Type"`
	Value            string `json:"Value"`
	Version          int64  `json:"Version"`
	Selector         string `json:"Selector,omitempty"`
	SourceResult     string `json:"SourceResult,omitempty"`
	LastModifiedDate Time   `json:"LastModifiedDate"`
	ARN              string `json:"ARN"`
	DataType         string `json:"DataType,omitempty"`
}

// ParameterMetadata is what DescribeParameters returns for a parameter:
// everything but its value.
type ParameterMetadata struct {
	Name             string                  `json:"Name"`
	ARN              string                  `json:"ARN"`
	Type             string                  `json:"Type"`
	KeyID            string                  `json:"KeyId,omitempty"`
	LastModifiedDate Time                    `json:"LastModifiedDate"`
	LastModifiedUser string                  `json:"LastModifiedUser,omitempty"`
	Description      string                  `json:"Description,omitempty"`
	AllowedPattern   string                  `json:"AllowedPattern,omitempty"`
	Version          int64                   `json:"Version"`
	Tier             string                  `json:"Tier"`
	Policies         []ParameterInlinePolicy `json:"Policies"`
	DataType         string                  `json:"DataType,omitempty"`
}

// ParameterHistory is one version of a parameter as GetParameterHistory
// returns it.
type ParameterHistory struct {
	Name             string                  `json:"Name"`
	Type             string                  `json:"Type"`
	KeyID            string                  `json:"KeyId,omitempty"`
	LastModifiedDate Time                    `json:"LastModifiedDate"`
	LastModifiedUser string                  `json:"LastModifiedUser,omitempty"`
	Description      string                  `json:"Description,omitempty"`
	Value            string                  `json:"Value"`
	AllowedPattern   string                  `json:"AllowedPattern,omitempty"`
	Version          int64                   `json:"Version"`
	Labels           []string                `json:"Labels"`
	Tier             string                  `json:"Tier"`
	Policies         []ParameterInlinePolicy `json:"Policies"`
	DataType         string                  `json:"DataType,omitempty"`
}

// ParameterInlinePolicy is a parameter policy. Hangar stores none; the type
// exists so that Policies travels as the empty list AWS sends.
type ParameterInlinePolicy struct {
	PolicyText   string `json:"PolicyText,omitempty"`
	PolicyType   string `json:"PolicyType,omitempty"`
	PolicyStatus string `json:"PolicyStatus,omitempty"`
}

// ParameterTag is an SSM tag.
type ParameterTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Parameter types.
const (
	ParamString       = "String"
	ParamStringList   = "StringList"
	ParamSecureString = "SecureString"
)

// Parameter tiers.
const (
	TierStandard             = "Standard"
	TierAdvanced             = "Advanced"
	TierIntelligentTiering   = "Intelligent-Tiering"
	DefaultParameterKeyID    = "alias/aws/ssm"
	DefaultParameterDataType = "text"
)

// Secret is a Secrets Manager secret's metadata as DescribeSecret and
// ListSecrets return it. VersionIdsToStages is DescribeSecret's name for the
// stage map, SecretVersionsToStages is ListSecrets'; each response fills the
// one its shape has.
type Secret struct {
	ARN                    string              `json:"ARN"`
	Name                   string              `json:"Name"`
	Description            string              `json:"Description,omitempty"`
	KmsKeyID               string              `json:"KmsKeyId,omitempty"`
	LastChangedDate        *Time               `json:"LastChangedDate,omitempty"`
	LastAccessedDate       *Time               `json:"LastAccessedDate,omitempty"`
	DeletedDate            *Time               `json:"DeletedDate,omitempty"`
	Tags                   []SecretTag         `json:"Tags,omitempty"`
	VersionIdsToStages     map[string][]string `json:"VersionIdsToStages,omitempty"`
	SecretVersionsToStages map[string][]string `json:"SecretVersionsToStages,omitempty"`
	CreatedDate            *Time               `json:"CreatedDate,omitempty"`
}

// SecretTag is a Secrets Manager tag.
type SecretTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Secret version stages that Secrets Manager itself moves.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
	StagePending  = "AWSPENDING"
)
