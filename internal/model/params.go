package model

// Parameter is an SSM Parameter Store parameter, one version of it.
type Parameter struct {
	Name             string `json:"Name"`
	Type             string `json:"Type"`
	Value            string `json:"Value"`
	Version          int64  `json:"Version"`
	Description      string `json:"Description,omitempty"`
	KeyID            string `json:"KeyId,omitempty"`
	AllowedPattern   string `json:"AllowedPattern,omitempty"`
	Tier             string `json:"Tier,omitempty"`
	DataType         string `json:"DataType,omitempty"`
	LastModifiedDate Time   `json:"LastModifiedDate"`
	LastModifiedUser string `json:"LastModifiedUser,omitempty"`
	ARN              string `json:"ARN,omitempty"`
}

// Parameter types.
const (
	ParamString       = "String"
	ParamStringList   = "StringList"
	ParamSecureString = "SecureString"
)

// Secret is a Secrets Manager secret (its metadata).
type Secret struct {
	ARN              string      `json:"ARN"`
	Name             string      `json:"Name"`
	Description      string      `json:"Description,omitempty"`
	KmsKeyID         string      `json:"KmsKeyId,omitempty"`
	CreatedDate      Time        `json:"CreatedDate"`
	LastChangedDate  Time        `json:"LastChangedDate"`
	LastAccessedDate *Time       `json:"LastAccessedDate,omitempty"`
	DeletedDate      *Time       `json:"DeletedDate,omitempty"`
	Tags             []SecretTag `json:"Tags,omitempty"`
}

// SecretTag is a Secrets Manager tag.
type SecretTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// SecretVersion is one value of a secret.
type SecretVersion struct {
	VersionID     string   `json:"VersionId"`
	SecretString  *string  `json:"SecretString,omitempty"`
	SecretBinary  []byte   `json:"SecretBinary,omitempty"`
	VersionStages []string `json:"VersionStages"`
	CreatedDate   Time     `json:"CreatedDate"`
}
