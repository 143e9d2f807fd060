// Package bootstrap reconciles the resources builds need on a target
// (DESIGN §6) through its AWS APIs: the bucket, the build role
// <ns>-codebuild-role with its policies, the project <ns>-remote, the
// project <ns>-remote-lambda and the fleet <ns>-fleet when enabled.
//
// The desired state is computed from the configuration alone (NewDesired),
// compared with what the target has (Diff) and applied change by change
// (Plan.Apply). What bootstrap creates carries the tag hangar:managed; a
// resource of the same name without it is never touched. Turning a feature
// off deletes what it created, except the bucket, which holds sources and
// is kept.
//
// Ensure is what `hangar run` calls every time: the hash of the desired
// state is stored as a tag on <ns>-remote once it is reached, so an
// unchanged configuration costs one BatchGetProjects.
package bootstrap

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/hangarci/hangar/internal/config"
	"github.com/hangarci/hangar/internal/target"
)

// Resources are what builds run with.
type Resources struct {
	Bucket        string // where sources are uploaded
	Project       string // <ns>-remote
	LambdaProject string // <ns>-remote-lambda; "" when not enabled
	FleetArn      string // the managed fleet; "" when not enabled
}

// Ensure brings the target to the desired state of cfg and returns the
// resources builds use. When the state hash stored on <ns>-remote matches,
// it returns after that one call; otherwise it reconciles everything and
// prints each change to out as "bootstrap: + create project …".
//
// The fast path trusts the hash: a resource deleted behind hangar's back is
// put back by `hangar bootstrap`, which always compares everything.
func Ensure(ctx context.Context, t *target.Target, cfg *config.Config, out io.Writer) (*Resources, error) {
	d, err := NewDesired(cfg, t.Config.Region)
	if err != nil {
		return nil, err
	}
	res, ok, err := upToDate(ctx, t.CodeBuild(), d)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if ok {
		return res, nil
	}
	if out == nil {
		out = io.Discard
	}
	pw := &prefixWriter{w: out, prefix: "bootstrap: "}
	for attempt := 0; ; attempt++ {
		p, err := plan(ctx, clientsOf(t), d)
		if err != nil {
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
		err = p.Apply(ctx, t, pw, false)
		if err == nil {
			return &p.Resources, nil
		}
		// Another hangar reconciling at the same moment made something
		// first: look again, once.
		if attempt == 0 && raced(err) {
			continue
		}
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
}

// NewPlan computes what reaching the desired state of cfg on t takes,
// comparing every resource (no fast path).
func NewPlan(ctx context.Context, t *target.Target, cfg *config.Config) (*Plan, error) {
	d, err := NewDesired(cfg, t.Config.Region)
	if err != nil {
		return nil, err
	}
	return plan(ctx, clientsOf(t), d)
}

func plan(ctx context.Context, c clients, d *Desired) (*Plan, error) {
	o, err := observe(ctx, c, d)
	if err != nil {
		return nil, err
	}
	return Diff(d, o)
}

func clientsOf(t *target.Target) clients {
	return clients{iam: t.IAM(), s3: t.S3(), cb: t.CodeBuild(), sts: t.STS()}
}

// upToDate is the fast path: one BatchGetProjects of <ns>-remote, whose
// tags say whether the desired state was reached and which bucket it has.
func upToDate(ctx context.Context, cb *codebuild.Client, d *Desired) (*Resources, bool, error) {
	out, err := cb.BatchGetProjects(ctx, &codebuild.BatchGetProjectsInput{Names: []string{d.Project.Name}})
	if err != nil {
		return nil, false, fmt.Errorf("look up project %s: %w", d.Project.Name, err)
	}
	if len(out.Projects) != 1 {
		return nil, false, nil
	}
	p := out.Projects[0]
	tags := cbTagMap(p.Tags)
	if tags[TagManaged] != "true" || tags[TagState] != d.Hash() || tags[TagBucket] == "" {
		return nil, false, nil
	}
	res := &Resources{Bucket: tags[TagBucket], Project: d.Project.Name}
	if d.Lambda != nil {
		res.LambdaProject = d.Lambda.Name
	}
	if d.Fleet != nil {
		if p.Environment == nil || p.Environment.Fleet == nil || aws.ToString(p.Environment.Fleet.FleetArn) == "" {
			return nil, false, nil
		}
		res.FleetArn = aws.ToString(p.Environment.Fleet.FleetArn)
	}
	return res, true, nil
}

// Apply makes the changes in order, printing each (with its details when
// detail is set) to out before making it. It stops at the first error;
// running bootstrap again picks up from there.
func (p *Plan) Apply(ctx context.Context, t *target.Target, out io.Writer, detail bool) error {
	if out == nil {
		out = io.Discard
	}
	a := &applier{c: clientsOf(t), hangar: t.Hangar()}
	for _, c := range p.Changes {
		if !c.Internal {
			writeChange(out, c, detail)
		}
		if err := c.apply(ctx, a); err != nil {
			return err
		}
	}
	if a.fleetArn != "" {
		p.Resources.FleetArn = a.fleetArn
	}
	return nil
}

// applier carries what one Apply learns as it goes.
type applier struct {
	c      clients
	hangar bool // the target is a hangar runner
	// roleChanged is set once the role or its trust is new: AWS takes a
	// few seconds before CodeBuild may assume it.
	roleChanged bool
	fleetArn    string // of a fleet this Apply created
}

// fleet is the ARN projects point at: the new fleet's, else the known one.
func (a *applier) fleet(known string) string {
	if a.fleetArn != "" {
		return a.fleetArn
	}
	return known
}

func (a *applier) putRolePolicy(ctx context.Context, role, name, doc string) error {
	_, err := a.c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
	if err != nil {
		return fmt.Errorf("put inline policy %s on role %s: %w", name, role, err)
	}
	return nil
}

func (a *applier) attach(ctx context.Context, role, arn string) error {
	_, err := a.c.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("attach %s to role %s: %w", arn, role, err)
	}
	return nil
}

// retryRole runs f, and while a role just created or changed is not yet
// assumable by CodeBuild (IAM is eventually consistent on AWS), runs it
// again for up to two minutes.
func (a *applier) retryRole(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(2 * time.Minute)
	delay := time.Second
	for {
		err := f()
		if err == nil || !a.roleChanged || !roleNotReady(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}

func roleNotReady(err error) bool {
	return errorCode(err) == "InvalidInputException" && strings.Contains(err.Error(), "AssumeRole")
}

// raced reports errors that mean another client created the resource
// between the look and the change.
func raced(err error) bool {
	switch errorCode(err) {
	case "EntityAlreadyExists", "ResourceAlreadyExistsException", "BucketAlreadyOwnedByYou":
		return true
	}
	return false
}

// prefixWriter starts every line with prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
	mid    bool // inside a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		if !p.mid {
			if _, err := io.WriteString(p.w, p.prefix); err != nil {
				return 0, err
			}
		}
		i := bytes.IndexByte(b, '\n')
		line := b
		if i >= 0 {
			line = b[:i+1]
		}
		if _, err := p.w.Write(line); err != nil {
			return 0, err
		}
		p.mid = i < 0
		b = b[len(line):]
	}
	return n, nil
}
