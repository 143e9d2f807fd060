package sts

import (
	"slices"

	"github.com/hangarci/hangar/internal/policy"
)

// assumer is who asks to assume a role, as far as a trust policy cares.
type assumer struct {
	// arns are the ARNs a trust policy may name the caller by: its own ARN
	// and, for a role session, the ARN of its role.
	arns []string
	// account is the caller's account.
	account string
	// service is set when the runner assumes a role on behalf of an AWS
	// service (codebuild.amazonaws.com for a build).
	service string
	// admin callers may assume any role whose trust policy lets some AWS
	// or Service principal in (see decide).
	admin bool
}

// decision is what a trust policy says of an assumer.
type decision int

const (
	denied decision = iota
	allowed
	// viaAccount: the trust policy trusts the caller's account, which in
	// IAM delegates the decision to the caller's own policies.
	viaAccount
)

const assumeAction = "sts:AssumeRole"

// decide evaluates a role's trust policy for sts:AssumeRole. What it
// checks, exactly:
//
//   - Only statements whose Action (or NotAction) covers sts:AssumeRole
//     count; Resource plays no part (trust policies have none).
//   - A Deny statement whose principal matches the assumer denies, whatever
//     else the policy says; its Condition is not evaluated, so a
//     conditional Deny always applies (failing closed).
//   - An Allow statement allows when its principal matches the assumer
//     directly: Principal "*" or {"AWS": "*"}; an AWS principal equal to
//     one of the assumer's ARNs (user ARN with path, session ARN, or the
//     ARN of the session's role); a Service principal equal to the service
//     the runner acts for. An AWS principal naming the assumer's account
//     ("123456789012" or "arn:aws:iam::123456789012:root") gives
//     viaAccount instead. NotPrincipal matches everyone it does not list.
//   - An Allow statement with a Condition is skipped for non-admins: the
//     conditions cannot be evaluated yet, and an Allow must not be assumed.
//   - Federated and CanonicalUser principals match no one.
//   - Admins (the runner's own keys): any Allow statement for
//     sts:AssumeRole whose principal has an AWS or Service entry (or is
//     "*") allows, conditions or not — an admin may act for any service —
//     unless a Deny matches them.
func decide(p *policy.Policy, who assumer) decision {
	result := denied
	for i := range p.Statements {
		s := &p.Statements[i]
		if !s.MatchesAction(assumeAction) {
			continue
		}
		m := matchPrincipal(s, who)
		if s.Effect == policy.Deny {
			if m != denied {
				return denied
			}
			continue
		}
		if who.admin && hasAWSOrService(s) {
			result = allowed
			continue
		}
		if len(s.Conditions) > 0 {
			continue
		}
		if m == allowed || m == viaAccount && result == denied {
			result = m
		}
	}
	return result
}

// matchPrincipal tells whether a statement's Principal (or NotPrincipal)
// names the assumer, directly or through its account.
func matchPrincipal(s *policy.Statement, who assumer) decision {
	if s.NotPrincipal != nil {
		if principalMatch(s.NotPrincipal, who) != denied {
			return denied
		}
		return allowed
	}
	if s.Principal == nil {
		return denied
	}
	return principalMatch(s.Principal, who)
}

func principalMatch(pr *policy.Principal, who assumer) decision {
	if pr.Wildcard {
		return allowed
	}
	result := denied
	for _, v := range pr.AWS {
		switch {
		case v == "*" || slices.Contains(who.arns, v):
			return allowed
		case who.account != "" && (v == who.account || v == "arn:aws:iam::"+who.account+":root"):
			result = viaAccount
		}
	}
	if who.service != "" && slices.Contains(pr.Service, who.service) {
		return allowed
	}
	return result
}

func hasAWSOrService(s *policy.Statement) bool {
	pr := s.Principal
	if pr == nil {
		return false
	}
	return pr.Wildcard || len(pr.AWS) > 0 || len(pr.Service) > 0
}
