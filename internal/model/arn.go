package model

import (
	"fmt"
	"strings"
)

// Account is the fixed account id of a Hangar runner. One runner is one
// account; ARNs carry it so that clients that parse ARNs keep working.
const Account = "000000000000"

// Names builds the ARNs of one runner's resources.
type Names struct {
	Region  string
	Account string
}

// ProjectArn returns the ARN of a project.
func (n Names) ProjectArn(project string) string {
	return fmt.Sprintf("arn:aws:codebuild:%s:%s:project/%s", n.Region, n.Account, project)
}

// BuildArn returns the ARN of a build id (project:uuid).
func (n Names) BuildArn(buildID string) string {
	return fmt.Sprintf("arn:aws:codebuild:%s:%s:build/%s", n.Region, n.Account, buildID)
}

// FleetArn returns the ARN of a fleet.
func (n Names) FleetArn(name, id string) string {
	return fmt.Sprintf("arn:aws:codebuild:%s:%s:fleet/%s:%s", n.Region, n.Account, name, id)
}

// LogStreamArn returns the CloudWatch Logs ARN of a stream, as builds show it.
func (n Names) LogStreamArn(group, stream string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", n.Region, n.Account, group, stream)
}

// LogGroupArn returns the ARN of a log group.
func (n Names) LogGroupArn(group string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", n.Region, n.Account, group)
}

// ParameterArn returns the ARN of an SSM parameter.
func (n Names) ParameterArn(name string) string {
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", n.Region, n.Account, strings.TrimPrefix(name, "/"))
}

// SecretArn returns the ARN of a secret; suffix is the 6 random characters
// Secrets Manager appends.
func (n Names) SecretArn(name, suffix string) string {
	return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", n.Region, n.Account, name, suffix)
}

// ProjectNameFromArn accepts a project name or ARN and returns the name.
func ProjectNameFromArn(s string) string {
	if i := strings.Index(s, ":project/"); i >= 0 && strings.HasPrefix(s, "arn:") {
		return s[i+len(":project/"):]
	}
	return s
}

// SplitBuildID splits "project:uuid" (or a build ARN) into its parts.
func SplitBuildID(id string) (project, uuid string, ok bool) {
	if i := strings.Index(id, ":build/"); i >= 0 && strings.HasPrefix(id, "arn:") {
		id = id[i+len(":build/"):]
	}
	i := strings.LastIndexByte(id, ':')
	if i <= 0 || i == len(id)-1 {
		return "", "", false
	}
	return id[:i], id[i+1:], true
}
