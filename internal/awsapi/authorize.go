package awsapi

import (
	"fmt"
	"net/http"
	"slices"
)

// Operation is what the Mux routed a request to, for authorisation.
type Operation struct {
	Protocol Protocol
	// Service names the service that serves the request: a JSON service's
	// TargetPrefix ("CodeBuild_20161006"), a Query service's SigningName
	// ("iam", "sts"), or "s3".
	Service string
	// Name is the JSON operation or Query Action; "" for S3, whose
	// operation follows from the method, path and query (the S3 service
	// classifies it).
	Name string
}

// Authorizer decides whether a caller may make a request, after the Mux
// routed it and before the service sees it. It returns a *Denial to refuse
// it; an error is a failure of the authoriser (a 500), never a refusal.
// Admin callers and unauthenticated development setups never reach it.
type Authorizer func(r *http.Request, op Operation, c Caller) (*Denial, error)

// Denial is a request refused by policy, with what AWS says about it.
type Denial struct {
	// Principal is the caller's ARN (user or assumed-role session).
	Principal string
	Action    string
	Resource  string
	// Explicit is true when a Deny statement decided, false when nothing
	// allowed the action.
	Explicit bool
	// PolicyType is the kind of policy that decided: "identity-based" or
	// "session".
	PolicyType string
}

// Message is IAM's explanation of the refusal, as AWS services send it:
//
//	User: arn:aws:iam::123456789012:user/bob is not authorized to perform:
//	ssm:GetParameter on resource: arn:… because no identity-based policy
//	allows the ssm:GetParameter action
func (d *Denial) Message() string { return d.message(d.Resource) }

func (d *Denial) message(resource string) string {
	pt := d.PolicyType
	if pt == "" {
		pt = "identity-based"
	}
	if d.Explicit {
		article := "a"
		if slices.Contains([]byte("aeiou"), pt[0]) {
			article = "an"
		}
		return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s with an explicit deny in %s %s policy",
			d.Principal, d.Action, resource, article, pt)
	}
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no %s policy allows the %s action",
		d.Principal, d.Action, resource, pt, d.Action)
}

func (d *Denial) Error() string { return "AccessDenied: " + d.Message() }

// ErrorFor is the refusal in the shape and names of protocol p: JSON
// services answer 400 AccessDeniedException, the Query services (IAM,
// STS) 403 AccessDenied, S3 403 AccessDenied with the resource quoted.
func (d *Denial) ErrorFor(p Protocol) *Error {
	switch p {
	case ProtocolJSON:
		return &Error{Code: "AccessDeniedException", Message: d.Message(), Status: http.StatusBadRequest}
	case ProtocolS3:
		return &Error{Code: "AccessDenied", Message: d.message(`"` + d.Resource + `"`), Status: http.StatusForbidden}
	default:
		return &Error{Code: "AccessDenied", Message: d.Message(), Status: http.StatusForbidden}
	}
}

// authorize runs the Mux's Authorizer, if any, for a request routed to op.
// It reports whether the request may go on; when not, the answer has been
// written.
func (m *Mux) authorize(w http.ResponseWriter, r *http.Request, op Operation) bool {
	if m.authz == nil {
		return true
	}
	c, ok := CallerFrom(r.Context())
	if !ok || c.Admin {
		return true
	}
	d, err := m.authz(r, op, c)
	if err != nil {
		m.log.Error("authorize request", "service", op.Service, "operation", op.Name, "caller", c.ARN,
			"request_id", RequestID(r.Context()), "err", err)
		e := internalFailure()
		if op.Protocol == ProtocolS3 {
			e = &Error{Code: "InternalError", Message: "We encountered an internal error. Please try again.", Status: http.StatusInternalServerError}
		}
		WriteError(w, r, e)
		return false
	}
	if d != nil {
		m.log.Debug("request denied", "caller", d.Principal, "action", d.Action, "resource", d.Resource, "explicit", d.Explicit)
		WriteError(w, r, d.ErrorFor(op.Protocol))
		return false
	}
	return true
}
