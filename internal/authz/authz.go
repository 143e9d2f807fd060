// Package authz authorises the API calls of IAM users and role sessions:
// it maps each request to the IAM actions and resource ARNs it needs (the
// table in table.go, one rule per operation of every service the runner
// serves) and evaluates the caller's policies for each with
// internal/policy:
//
//   - IAM users: their inline and attached managed policies;
//   - role sessions (AssumeRole, a build's credentials): the role's
//     policies, intersected with the session's policies when it has any;
//   - the runner's own keys are admins and never get here.
//
// An explicit Deny in any of them refuses; so does the lack of an Allow in
// the identity policies, or in the session policies of a session that has
// some. Refusals carry IAM's message (awsapi.Denial).
package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/policy"
	"github.com/hangarci/hangar/internal/service/iam"
	"github.com/hangarci/hangar/internal/store"
)

// SecretARNs finds the ARN of a Secrets Manager secret by name or ARN.
type SecretARNs interface {
	// SecretARN returns the full ARN of the secret id names, or an error
	// wrapping store.ErrNotFound.
	SecretARN(ctx context.Context, id string) (string, error)
}

// Config configures an Authorizer.
type Config struct {
	IAM     *iam.Service
	DB      *store.DB
	Secrets SecretARNs
	Names   model.Names
	Log     *slog.Logger
	// Now is the clock of aws:CurrentTime; time.Now when nil.
	Now func() time.Time
}

// Authorizer decides requests of non-admin callers.
type Authorizer struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// New returns an Authorizer.
func New(cfg Config) *Authorizer {
	a := &Authorizer{cfg: cfg, log: cfg.Log, now: cfg.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Check is one permission a request needs: an action on a resource, with
// any condition keys the action adds to the request context.
type Check struct {
	Action   string
	Resource string
	Context  map[string][]string
}

// Request authorises one routed API request (awsapi.Authorizer): it looks
// up the operation's rule, works out its checks and evaluates each. An
// operation without a rule is refused: a new operation must be mapped
// before anyone but an admin can call it.
func (a *Authorizer) Request(r *http.Request, op awsapi.Operation, c awsapi.Caller) (*awsapi.Denial, error) {
	ctx := r.Context()
	q := &request{a: a, r: r, op: op, caller: c}
	key, err := q.ruleKey()
	if err != nil {
		// Not an operation the service serves (a bad S3 path, an unknown
		// target): it refuses the request itself, without acting.
		return nil, nil
	}
	ru, ok := rules[key]
	if !ok {
		return &awsapi.Denial{Principal: c.ARN, Action: key, Resource: "*"}, nil
	}
	if ru.public || ru.delegated != "" {
		return nil, nil
	}
	checks, err := ru.checks(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("authorize %s: %w", key, err)
	}
	reqCtx := requestContext(r, a.now())
	return a.decide(ctx, c, checks, reqCtx)
}

// CheckCaller decides one action on one resource for the caller of ctx (a
// request's, or a build's role session the runner acts for): nil when
// allowed or when the caller is an admin. Without a caller in ctx nothing
// is allowed.
func (a *Authorizer) CheckCaller(ctx context.Context, action, resource string) (*awsapi.Denial, error) {
	c, ok := awsapi.CallerFrom(ctx)
	if !ok {
		return &awsapi.Denial{Principal: "anonymous", Action: action, Resource: resource}, nil
	}
	if c.Admin {
		return nil, nil
	}
	return a.decide(ctx, c, []Check{{Action: action, Resource: resource}}, map[string][]string{
		"aws:currenttime": {a.now().UTC().Format(time.RFC3339)},
		"aws:epochtime":   {strconv.FormatInt(a.now().Unix(), 10)},
	})
}

// Allowed tells whether c's own policies allow action on resource (STS
// asks it for sts:AssumeRole when a trust policy trusts the account).
func (a *Authorizer) Allowed(ctx context.Context, c awsapi.Caller, action, resource string) (bool, error) {
	if c.Admin {
		return true, nil
	}
	d, err := a.decide(ctx, c, []Check{{Action: action, Resource: resource}}, map[string][]string{})
	return d == nil && err == nil, err
}

// decide evaluates every check; the first refusal is the answer.
func (a *Authorizer) decide(ctx context.Context, c awsapi.Caller, checks []Check, reqCtx map[string][]string) (*awsapi.Denial, error) {
	p, err := a.principal(ctx, c)
	if err != nil {
		return nil, err
	}
	for k, v := range p.context {
		reqCtx[k] = v
	}
	for _, ch := range checks {
		rc := reqCtx
		if len(ch.Context) > 0 {
			rc = make(map[string][]string, len(reqCtx)+len(ch.Context))
			for k, v := range reqCtx {
				rc[k] = v
			}
			for k, v := range ch.Context {
				rc[strings.ToLower(k)] = v
			}
		}
		req := policy.Request{Action: ch.Action, Resource: ch.Resource, Context: rc}
		deny := &awsapi.Denial{Principal: c.ARN, Action: ch.Action, Resource: ch.Resource, PolicyType: "identity-based"}
		id := policy.Evaluate(p.identity, req)
		sess := policy.Allowed
		if p.session != nil {
			sess = policy.Evaluate(p.session, req)
		}
		switch {
		case id == policy.ExplicitDeny:
			deny.Explicit = true
		case sess == policy.ExplicitDeny:
			deny.Explicit, deny.PolicyType = true, "session"
		case id != policy.Allowed:
		case sess != policy.Allowed:
			deny.PolicyType = "session"
		default:
			continue
		}
		return deny, nil
	}
	return nil, nil
}

// principal is what the policies of a caller are.
type principal struct {
	identity []*policy.Policy
	// session is nil for callers without session policies; a session
	// with some is limited to what they allow too.
	session []*policy.Policy
	context map[string][]string
}

func (a *Authorizer) principal(ctx context.Context, c awsapi.Caller) (*principal, error) {
	account := c.AccountID
	if account == "" {
		account = a.cfg.Names.Account
	}
	p := &principal{context: map[string][]string{
		"aws:principalaccount": {account},
		"aws:principalarn":     {c.ARN},
	}}
	arn, ok := model.ParseIAMArn(c.ARN)
	if !ok {
		return p, nil // no policies: nothing is allowed
	}
	switch arn.Type {
	case "user":
		p.context["aws:username"] = []string{arn.Name}
		p.context["aws:principaltype"] = []string{"User"}
		if u, err := a.cfg.DB.User(ctx, arn.Name); err == nil {
			p.context["aws:userid"] = []string{u.ID}
		}
		docs, err := a.cfg.IAM.UserPolicies(ctx, arn.Name)
		if errors.Is(err, store.ErrNotFound) {
			return p, nil
		}
		if err != nil {
			return nil, fmt.Errorf("policies of %s: %w", c.ARN, err)
		}
		p.identity = parsed(docs)
	case "assumed-role":
		p.context["aws:principaltype"] = []string{"AssumedRole"}
		tc, err := a.cfg.DB.TempCredential(ctx, c.AccessKeyID)
		if errors.Is(err, store.ErrNotFound) {
			return p, nil // revoked while the request was under way
		}
		if err != nil {
			return nil, fmt.Errorf("session of %s: %w", c.ARN, err)
		}
		// For a role session, aws:PrincipalArn is the role's ARN.
		p.context["aws:principalarn"] = []string{tc.RoleArn}
		p.context["aws:userid"] = []string{tc.RoleID + ":" + tc.SessionName}
		docs, err := a.cfg.IAM.RolePolicies(ctx, tc.RoleArn)
		if errors.Is(err, store.ErrNotFound) {
			return p, nil // the role was deleted: its sessions can do nothing
		}
		if err != nil {
			return nil, fmt.Errorf("policies of %s: %w", c.ARN, err)
		}
		p.identity = parsed(docs)
		if tc.Policy != "" || len(tc.PolicyArns) > 0 {
			p.session = []*policy.Policy{}
			if tc.Policy != "" {
				sp, err := policy.Parse([]byte(tc.Policy))
				if err != nil {
					return nil, fmt.Errorf("session policy of %s: %w", c.ARN, err)
				}
				p.session = append(p.session, sp)
			}
			for _, pa := range tc.PolicyArns {
				d, err := a.cfg.IAM.ManagedPolicy(ctx, pa)
				if errors.Is(err, store.ErrNotFound) {
					continue // deleted since: it allows nothing any more
				}
				if err != nil {
					return nil, fmt.Errorf("session policy %s of %s: %w", pa, c.ARN, err)
				}
				p.session = append(p.session, d.Policy)
			}
		}
	}
	return p, nil
}

func parsed(docs []iam.Document) []*policy.Policy {
	out := make([]*policy.Policy, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.Policy)
	}
	return out
}

// requestContext holds the global condition keys of a request.
func requestContext(r *http.Request, now time.Time) map[string][]string {
	ctx := map[string][]string{
		"aws:securetransport": {strconv.FormatBool(r.TLS != nil)},
		"aws:currenttime":     {now.UTC().Format(time.RFC3339)},
		"aws:epochtime":       {strconv.FormatInt(now.Unix(), 10)},
	}
	if sc, ok := awsapi.ScopeFrom(r.Context()); ok {
		ctx["aws:requestedregion"] = []string{sc.Region}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ctx["aws:sourceip"] = []string{host}
	}
	if ua := r.Header.Get("User-Agent"); ua != "" {
		ctx["aws:useragent"] = []string{ua}
	}
	return ctx
}

// CheckParameters decides whether the caller of ctx may read parameters
// (names, name:selector references or ARNs) as a build's variables:
// ssm:GetParameters on each, the call CodeBuild makes with the build's
// role. The first refused parameter is the answer.
func (a *Authorizer) CheckParameters(ctx context.Context, refs []string) (*awsapi.Denial, error) {
	for _, ref := range refs {
		d, err := a.CheckCaller(ctx, "ssm:GetParameters", parameterArn(a.cfg.Names, ref))
		if d != nil || err != nil {
			return d, err
		}
	}
	return nil, nil
}

// CheckSecret decides whether the caller of ctx may read a secret (a name
// or ARN) as a build's variable: secretsmanager:GetSecretValue on its ARN.
func (a *Authorizer) CheckSecret(ctx context.Context, id string) (*awsapi.Denial, error) {
	arn, err := a.cfg.Secrets.SecretARN(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		arn = id
		if !strings.HasPrefix(id, "arn:") {
			n := a.cfg.Names
			arn = fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s", n.Region, n.Account, id)
		}
	case err != nil:
		return nil, fmt.Errorf("look up secret %s: %w", id, err)
	}
	return a.CheckCaller(ctx, "secretsmanager:GetSecretValue", arn)
}
