package ssm

import (
	"strconv"
	"strings"

	"github.com/hangarci/hangar/internal/awsapi"
)

// maxLevels is the deepest a parameter hierarchy may go: "/a/b/…/o" with 15
// parts, as Parameter Store allows.
const maxLevels = 15

// maxNameLen is the longest a name may be, counting the ARN before it: AWS
// documents 1011 characters including "arn:aws:ssm:<region>:<acct>:parameter/".
const maxNameLen = 1011

// Messages AWS sends for bad names (quoted in SDK issues: boto/boto3#1499,
// aws/aws-sdk-php#1952, localstack/localstack#7712 for names;
// pahud/cdk-remote-stack#605 for paths; hashicorp/terraform-provider-aws#7251
// for unqualified paths; aws-solutions/quota-monitor-for-aws#30 and
// awslabs/aws-deployment-framework#119 for the reserved "aws" prefix).
const (
	msgNameRules    = `Parameter name: can't be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_`
	msgPathRules    = `The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash "/". It can't be prefixed with "aws" or "ssm" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.`
	msgNotQualified = "Parameter name must be a fully qualified name."
	msgLevels       = "A hierarchy can have a maximum of 15 levels. For more information, see Requirements and constraints for parameter names in the AWS Systems Manager User Guide."
)

// nameChar reports whether c may appear in a parameter name.
func nameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == '/'
}

// wellFormed reports whether name is made of valid characters and, when it
// is a path, is fully qualified with no empty part. It says nothing of
// reserved prefixes or depth.
func wellFormed(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !nameChar(name[i]) {
			return false
		}
	}
	if !strings.Contains(name, "/") {
		return true
	}
	if name[0] != '/' {
		return false
	}
	for _, part := range strings.Split(name[1:], "/") {
		if part == "" {
			return false
		}
	}
	return true
}

// checkNewName checks the name of a parameter about to be written:
// characters, qualification, reserved prefixes, depth and length.
// arnPrefixLen is the length of the ARN before the name.
func checkNewName(name string, arnPrefixLen int) *awsapi.Error {
	if name == "" {
		return awsapi.Errorf("ValidationException", "1 validation error detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	bare := strings.ToLower(strings.TrimPrefix(name, "/"))
	if strings.HasPrefix(bare, "aws") {
		return awsapi.Errorf("AccessDeniedException", "No access to reserved parameter name: %s.", name)
	}
	if strings.HasPrefix(bare, "ssm") {
		return awsapi.Errorf("ValidationException", "%s", msgNameRules)
	}
	if strings.Contains(name, "/") && name[0] != '/' {
		return awsapi.Errorf("ValidationException", msgNotQualified)
	}
	if !wellFormed(name) {
		return awsapi.Errorf("ValidationException", "%s", msgNameRules)
	}
	if strings.Count(name, "/") > maxLevels {
		return awsapi.Errorf("HierarchyLevelLimitExceededException", msgLevels)
	}
	if arnPrefixLen+len(strings.TrimPrefix(name, "/")) > maxNameLen {
		return awsapi.Errorf("ValidationException", "Parameter name is too long: the ARN prefix and the name together can be at most %d characters.", maxNameLen)
	}
	return nil
}

// key returns the key a parameter is stored under: SSM treats "/name" and
// "name" as one parameter when the name has no other slash.
func key(name string) string {
	if len(name) > 1 && name[0] == '/' && strings.IndexByte(name[1:], '/') < 0 {
		return name[1:]
	}
	return name
}

// ref is a parameter reference as GetParameter takes it: a name or ARN,
// optionally followed by ":version" or ":label".
type ref struct {
	Name     string // the name part, as given (ARNs turned into names)
	Selector string // "" or what followed the colon
	Version  int64  // the version the selector names, 0 for none or a label
	Foreign  bool   // an ARN of another region or account: never found here
}

// parseRef parses a parameter reference. arnPrefix is this runner's
// "arn:aws:ssm:<region>:<account>:parameter". ok is false when s cannot name
// a parameter at all.
func parseRef(s, arnPrefix string) (r ref, ok bool) {
	s = strings.TrimSpace(s)
	// arn:partition:ssm:region:account:parameter/name[:selector]; anything
	// else starting "arn:" is a parameter named "arn" with a selector.
	if f := strings.SplitN(s, ":", 6); len(f) == 6 && f[0] == "arn" && f[2] == "ssm" && strings.HasPrefix(f[5], "parameter/") {
		r.Foreign = strings.Join(f[:5], ":")+":parameter" != arnPrefix
		rest := strings.TrimPrefix(f[5], "parameter/")
		name, sel, hasSel := strings.Cut(rest, ":")
		if strings.Contains(name, "/") {
			name = "/" + name
		}
		r.Name = name
		if hasSel {
			r.Selector = sel
			if sel == "" {
				return ref{}, false
			}
		}
	} else {
		name, sel, hasSel := strings.Cut(s, ":")
		r.Name = name
		if hasSel {
			if sel == "" {
				return ref{}, false
			}
			r.Selector = sel
		}
	}
	if !wellFormed(r.Name) || strings.Count(r.Name, "/") > maxLevels {
		return ref{}, false
	}
	if r.Selector != "" {
		if strings.Contains(r.Selector, ":") {
			return ref{}, false
		}
		if isDigits(r.Selector) {
			v, err := strconv.ParseInt(r.Selector, 10, 64)
			if err != nil || v == 0 {
				v = -1 // no such version can exist
			}
			r.Version = v
		} else if !validLabel(r.Selector) {
			return ref{}, false
		}
	}
	return r, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validLabel reports whether s could be a version label: 1–100 of
// [a-zA-Z0-9_.-], not starting with a digit, "aws" or "ssm".
func validLabel(s string) bool {
	if s == "" || len(s) > 100 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '/' || !nameChar(c) {
			return false
		}
	}
	return true
}

// parsePath checks a GetParametersByPath path (or a Path filter value) and
// returns it without a trailing slash ("/" stays "/").
func parsePath(p string) (string, *awsapi.Error) {
	p = strings.TrimSpace(p)
	if p == "/" {
		return p, nil
	}
	trimmed := strings.TrimSuffix(p, "/")
	if !strings.HasPrefix(trimmed, "/") || !wellFormed(trimmed) || strings.Count(trimmed, "/") > maxLevels {
		return "", awsapi.Errorf("ValidationException", "%s", msgPathRules)
	}
	return trimmed, nil
}

// fullName returns a stored key with its leading slash: the form paths and
// name filters compare against.
func fullName(k string) string {
	if strings.HasPrefix(k, "/") {
		return k
	}
	return "/" + k
}

// underPath reports whether the parameter with key k is under path (as
// parsePath returns it), directly or, with recursive, at any depth.
func underPath(k, path string, recursive bool) bool {
	full := fullName(k)
	prefix := path
	if prefix != "/" {
		prefix += "/"
	}
	if !strings.HasPrefix(full, prefix) {
		return false
	}
	return recursive || !strings.Contains(full[len(prefix):], "/")
}
