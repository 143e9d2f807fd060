package model

import (
	"fmt"
	"strings"
)

// IAMTag is a tag of an IAM role, user or policy (and of an STS session).
type IAMTag struct {
	Key   string `json:"Key" xml:"Key"`
	Value string `json:"Value" xml:"Value"`
}

// AWSManagedPolicyPrefix starts the ARN of every AWS managed policy.
const AWSManagedPolicyPrefix = "arn:aws:iam::aws:policy/"

// RoleArn returns the ARN of a role; path is "/" or "/a/b/".
func (n Names) RoleArn(path, name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role%s%s", n.Account, path, name)
}

// UserArn returns the ARN of an IAM user.
func (n Names) UserArn(path, name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:user%s%s", n.Account, path, name)
}

// PolicyArn returns the ARN of a customer managed policy.
func (n Names) PolicyArn(path, name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:policy%s%s", n.Account, path, name)
}

// AssumedRoleArn returns the ARN of a role session. Like AWS it leaves the
// role's path out.
func (n Names) AssumedRoleArn(role, session string) string {
	return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", n.Account, role, session)
}

// RootArn returns the ARN of the account's root principal.
func (n Names) RootArn() string {
	return fmt.Sprintf("arn:aws:iam::%s:root", n.Account)
}

// IAMArn is a parsed IAM or STS principal or policy ARN.
type IAMArn struct {
	Partition string
	Service   string // "iam" or "sts"
	Account   string // "aws" for AWS managed policies
	// Type is "role", "user", "policy", "assumed-role" or "root".
	Type string
	// Path is "/" or "/a/b/"; for assumed-role it is "/".
	Path string
	// Name is the role, user or policy name (the role of an assumed-role).
	Name string
	// Session is the session name of an assumed-role ARN.
	Session string
}

// ParseIAMArn parses arn:<partition>:iam::<account>:<type><path><name>,
// arn:<partition>:iam::<account>:root and
// arn:<partition>:sts::<account>:assumed-role/<role>/<session>.
func ParseIAMArn(s string) (IAMArn, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[3] != "" || parts[4] == "" {
		return IAMArn{}, false
	}
	a := IAMArn{Partition: parts[1], Service: parts[2], Account: parts[4]}
	res := parts[5]
	switch a.Service {
	case "iam":
		if res == "root" {
			a.Type, a.Path = "root", "/"
			return a, true
		}
		typ, rest, ok := strings.Cut(res, "/")
		if !ok || rest == "" {
			return IAMArn{}, false
		}
		switch typ {
		case "role", "user", "policy":
		default:
			return IAMArn{}, false
		}
		i := strings.LastIndexByte(rest, '/')
		a.Type, a.Path, a.Name = typ, "/"+rest[:i+1], rest[i+1:]
		if a.Name == "" || strings.Contains(a.Path, "//") {
			return IAMArn{}, false
		}
		return a, true
	case "sts":
		typ, rest, ok := strings.Cut(res, "/")
		role, session, ok2 := strings.Cut(rest, "/")
		if !ok || !ok2 || typ != "assumed-role" || role == "" || session == "" || strings.Contains(session, "/") {
			return IAMArn{}, false
		}
		a.Type, a.Path, a.Name, a.Session = typ, "/", role, session
		return a, true
	}
	return IAMArn{}, false
}
