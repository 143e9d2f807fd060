// Package policy parses IAM JSON policy documents (identity policies, role
// trust policies, session policies) into a typed form that policy
// evaluation can work on, and checks them the way IAM does, with IAM's
// MalformedPolicyDocument messages.
//
// Parse checks the grammar only: a JSON object with Version, Id and
// Statement; a statement (an object or a list of them) with Sid, Effect,
// Principal/NotPrincipal, Action/NotAction, Resource/NotResource and
// Condition, each of the JSON types IAM accepts. Validate then applies the
// rules of one kind of policy. Documents are never rewritten: callers store
// the text they were given and use Canonical or Equivalent only to compare.
//
// Evaluate decides a request (action, resource, condition keys) against a
// set of policies the way IAM does within one account: an explicit Deny
// wins over any Allow, and no Allow is an implicit deny.
package policy

import (
	"strings"
)

// Effect is a statement's effect.
type Effect string

// The two effects a statement can have.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Versions of the policy language.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Policy is a parsed policy document.
type Policy struct {
	// Version is "" when the document has none.
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one statement of a policy. Of each pair (Action/NotAction,
// Resource/NotResource, Principal/NotPrincipal) at most one is set; the
// grammar forbids both. Lists keep the order and spelling of the document;
// a single string becomes a list of one.
type Statement struct {
	Sid string
	// Effect is as written; Validate insists on "Allow" or "Deny".
	Effect       Effect
	Principal    *Principal
	NotPrincipal *Principal
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Conditions   []Condition

	// has records which elements were present, since IAM tells an absent
	// Action from an empty list in some messages and not in others.
	has map[string]bool
}

// Has reports whether the statement had element name ("Action",
// "Resource", ...), even if empty.
func (s *Statement) Has(name string) bool { return s.has[name] }

// Principal is the Principal (or NotPrincipal) element of a statement.
type Principal struct {
	// Wildcard is true for "Principal": "*" (everyone). {"AWS": "*"}
	// is kept as AWS: ["*"], which IAM treats the same way.
	Wildcard      bool
	AWS           []string
	Service       []string
	Federated     []string
	CanonicalUser []string
	// Other holds principal types IAM does not know, so that Validate can
	// name them in its message.
	Other map[string][]string
}

// Condition is one test of a Condition block: operator, key and the values
// (JSON numbers and booleans are kept as their text).
type Condition struct {
	// Operator is as written, e.g. "ForAnyValue:StringLikeIfExists".
	Operator string
	Key      string
	Values   []string
}

// Base returns the operator without its set qualifier and IfExists suffix,
// e.g. "StringLike".
func (c Condition) Base() string {
	op := c.Operator
	if _, rest, ok := strings.Cut(op, ":"); ok {
		op = rest
	}
	return strings.TrimSuffix(op, "IfExists")
}

// SetQualifier returns "ForAnyValue", "ForAllValues" or "".
func (c Condition) SetQualifier() string {
	if q, _, ok := strings.Cut(c.Operator, ":"); ok {
		return q
	}
	return ""
}

// IfExists reports whether the operator ends in IfExists.
func (c Condition) IfExists() bool {
	return c.Base() != "Null" && strings.HasSuffix(c.Operator, "IfExists")
}

// Error is a document IAM would refuse; Message is IAM's text for it
// (sent as MalformedPolicyDocument).
type Error struct {
	Message string
}

func (e *Error) Error() string { return "malformed policy document: " + e.Message }

// Messages IAM sends for policies it refuses.
const (
	MsgInvalidJSON      = "This policy contains invalid Json"
	MsgSyntax           = "Syntax errors in policy."
	MsgVersion          = "Policy document must be version 2012-10-17 or greater."
	MsgLegacy           = "The policy failed legacy parsing"
	MsgSidUnique        = "Statement IDs (SID) in a single policy must be unique."
	MsgNoActions        = "Policy statement must contain actions."
	MsgNoResources      = "Policy statement must contain resources."
	MsgPrincipalInID    = "Policy document should not specify a principal."
	MsgTrustResource    = "Has prohibited field Resource"
	MsgTrustAction      = "AssumeRole policy may only specify STS AssumeRole actions."
	MsgTrustNoPrincipal = "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!"
	MsgVendorMissing    = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	MsgActionColons     = "Actions/Condition can contain only one colon."
)

func fail(msg string) error { return &Error{Message: msg} }
