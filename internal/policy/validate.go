package policy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is the kind of policy a document is checked as.
type Kind int

const (
	// Identity is a permissions policy: inline role and user policies and
	// customer managed policies. It needs Version 2012-10-17, actions and
	// resources, and no principal.
	Identity Kind = iota
	// Trust is a role's trust (AssumeRolePolicyDocument): sts actions, a
	// principal in every statement, no resources. IAM takes a trust
	// policy without Version, so this does too.
	Trust
	// Session is the Policy of sts:AssumeRole: like Identity, but
	// Version may be left out.
	Session
)

func (k Kind) String() string {
	switch k {
	case Identity:
		return "identity"
	case Trust:
		return "trust"
	case Session:
		return "session"
	}
	return "unknown"
}

// ParseKind parses a document and validates it as kind.
func ParseKind(doc []byte, kind Kind) (*Policy, error) {
	p, err := Parse(doc)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(kind); err != nil {
		return nil, err
	}
	return p, nil
}

// Validate applies IAM's rules for kind, in the order IAM reports them:
// version, legacy parsing (exact effect, date values, resource shape),
// unique Sids, actions present, resource format, action vendors, then the
// kind's own rules. It returns the first *Error.
func (p *Policy) Validate(kind Kind) error {
	if kind == Identity && p.Version != Version2012 {
		return fail(MsgVersion)
	}
	resourceErr := ""
	for i := range p.Statements {
		s := &p.Statements[i]
		if s.Effect != Allow && s.Effect != Deny {
			return fail(MsgLegacy)
		}
		for _, c := range s.Conditions {
			if strings.HasPrefix(c.Base(), "Date") {
				for _, v := range c.Values {
					if !legacyDate(v) {
						return fail(MsgLegacy)
					}
				}
			}
		}
		for _, r := range append(append([]string(nil), s.Resource...), s.NotResource...) {
			msg, legacyOK := checkResource(r)
			if !legacyOK {
				return fail(MsgLegacy)
			}
			if resourceErr == "" {
				resourceErr = msg
			}
		}
	}
	sids := map[string]bool{}
	for _, s := range p.Statements {
		if s.Sid == "" {
			continue
		}
		if sids[s.Sid] {
			return fail(MsgSidUnique)
		}
		sids[s.Sid] = true
	}
	for _, s := range p.Statements {
		if len(s.Action) == 0 && len(s.NotAction) == 0 {
			return fail(MsgNoActions)
		}
	}
	if resourceErr != "" {
		return fail(resourceErr)
	}
	for _, s := range p.Statements {
		for _, a := range append(append([]string(nil), s.Action...), s.NotAction...) {
			if err := checkAction(a); err != nil {
				return err
			}
		}
	}
	if kind == Trust {
		return p.validateTrust()
	}
	for _, s := range p.Statements {
		if len(s.Resource) == 0 && len(s.NotResource) == 0 {
			return fail(MsgNoResources)
		}
	}
	for _, s := range p.Statements {
		if s.Principal != nil || s.NotPrincipal != nil {
			return fail(MsgPrincipalInID)
		}
	}
	return nil
}

func (p *Policy) validateTrust() error {
	for _, s := range p.Statements {
		for _, a := range append(append([]string(nil), s.Action...), s.NotAction...) {
			vendor, _, _ := strings.Cut(a, ":")
			if a != "*" && !equalFold(vendor, "sts") {
				return fail(MsgTrustAction)
			}
		}
	}
	for _, s := range p.Statements {
		if s.Has("Resource") || s.Has("NotResource") {
			return fail(MsgTrustResource)
		}
	}
	for _, s := range p.Statements {
		pr := s.Principal
		if pr == nil {
			pr = s.NotPrincipal
		}
		if pr == nil {
			return fail(MsgTrustNoPrincipal)
		}
		if err := pr.validate(); err != nil {
			return err
		}
	}
	return nil
}

// Principal shapes IAM takes: an account id, an account root, a user, role
// or assumed-role session ARN (paths allowed), or "*".
var (
	accountRE    = regexp.MustCompile(`^[0-9]{12}$`)
	awsPrincipal = regexp.MustCompile(`^arn:aws[a-z-]*:(iam::[0-9]{12}:(root|user/.+|role/.+|federated-user/.+)|sts::[0-9]{12}:(assumed-role/[^/]+/.+|federated-user/.+))$`)
	servicePrinc = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*\.(amazonaws\.com|amazonaws\.com\.cn|amazon\.com)$`)
	actionVendor = regexp.MustCompile(`^[a-zA-Z0-9.-]+$`)
)

func knownPartition(p string) bool {
	switch p {
	case "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "*":
		return true
	}
	return false
}

func invalidPrincipal(kind, value string) error {
	return fail(fmt.Sprintf("Invalid principal in policy: %q:%q", kind, value))
}

func (pr *Principal) validate() error {
	if pr.Wildcard {
		return nil
	}
	for _, v := range pr.AWS {
		if v != "*" && !accountRE.MatchString(v) && !awsPrincipal.MatchString(v) {
			return invalidPrincipal("AWS", v)
		}
	}
	for _, v := range pr.Service {
		if !servicePrinc.MatchString(v) {
			return invalidPrincipal("SERVICE", v)
		}
	}
	for _, k := range sortedKeys(pr.Other) {
		v := ""
		if len(pr.Other[k]) > 0 {
			v = pr.Other[k][0]
		}
		return invalidPrincipal(k, v)
	}
	if len(pr.AWS)+len(pr.Service)+len(pr.Federated)+len(pr.CanonicalUser) == 0 {
		return fail(MsgTrustNoPrincipal)
	}
	return nil
}

// checkAction checks the vendor prefix of an action ("svc:Name").
func checkAction(a string) error {
	if a == "*" {
		return nil
	}
	parts := strings.Split(a, ":")
	switch {
	case len(parts) == 1:
		return fail(MsgVendorMissing)
	case len(parts) > 2:
		return fail(MsgActionColons)
	case parts[0] != "*" && !actionVendor.MatchString(parts[0]):
		return fail(fmt.Sprintf("Vendor %s is not valid", parts[0]))
	}
	return nil
}

// checkResource returns IAM's message for a resource that is not "*" or an
// ARN ("" when it is fine), and whether it passes IAM's legacy parsing
// (which fails the whole document with MsgLegacy).
func checkResource(r string) (msg string, legacyOK bool) {
	if r == "*" {
		return "", true
	}
	parts := strings.SplitN(r, ":", 6)
	if len(parts) == 1 {
		return fmt.Sprintf("Resource %s must be in ARN format or \"*\".", r), true
	}
	if !knownPartition(parts[1]) {
		seg := func(i int) string {
			if i < len(parts) && parts[i] != "" {
				return parts[i]
			}
			return "*"
		}
		return fmt.Sprintf("Partition %q is not valid for resource \"arn:%s:%s:%s:%s:%s\".",
			parts[1], parts[1], seg(2), seg(3), seg(4), seg(5)), true
	}
	if len(parts) < 3 {
		return "Resource vendor must be fully qualified and cannot contain regexes.", true
	}
	if strings.Count(r, ":") < 5 && strings.Contains(r, "::") || parts[2] == "" {
		return "", false
	}
	return "", true
}

// legacyDate reports whether v is a date IAM's legacy parser takes: ISO
// 8601 (date, or date and time) or epoch seconds.
func legacyDate(v string) bool {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n >= 0
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
		if _, err := time.Parse(layout, v); err == nil {
			return true
		}
	}
	return false
}
