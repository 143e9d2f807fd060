package bootstrap

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/hangarci/hangar/internal/policy"
)

// Op is what a change does to a resource.
type Op string

// Ops, written as they start a diff line.
const (
	Create Op = "+"
	Update Op = "~"
	Delete Op = "-"
)

func (op Op) verb() string {
	switch op {
	case Create:
		return "create"
	case Update:
		return "update"
	}
	return "delete"
}

// Change is one step of a plan: one resource created, updated or deleted.
type Change struct {
	Op   Op
	Kind string // "bucket", "role", "fleet" or "project"
	Name string
	// Details are the members that change, one per line: "k: a → b",
	// "+ k: v", "- k: v"; for a create, what it is created with.
	Details []string
	// Internal changes only touch hangar's bookkeeping (the state hash);
	// they are made but not shown, and a plan of only those is "no changes".
	Internal bool

	apply func(ctx context.Context, a *applier) error
}

// String is the change's headline: "+ create role demo-dev-codebuild-role".
func (c Change) String() string {
	return fmt.Sprintf("%s %s %s %s", c.Op, c.Op.verb(), c.Kind, c.Name)
}

// Plan is what bootstrap would do to reach the desired state.
type Plan struct {
	Desired *Desired
	Account string
	Changes []Change
	// Resources are the names builds use; FleetArn is filled in by Apply
	// when the fleet is new.
	Resources Resources
}

// Empty reports whether the plan changes nothing anyone would see.
func (p *Plan) Empty() bool {
	return !slices.ContainsFunc(p.Changes, func(c Change) bool { return !c.Internal })
}

// Write prints the plan as a diff: one line per change, and with detail
// the members that change, indented below it.
func (p *Plan) Write(w io.Writer, detail bool) {
	for _, c := range p.Changes {
		if !c.Internal {
			writeChange(w, c, detail)
		}
	}
}

func writeChange(w io.Writer, c Change, detail bool) {
	fmt.Fprintln(w, c.String())
	if detail {
		for _, d := range c.Details {
			fmt.Fprintln(w, "    "+d)
		}
	}
}

// pendingFleetArn stands in the diff for the ARN of a fleet still to create.
func pendingFleetArn(name string) string { return "(ARN of the new fleet " + name + ")" }

// Diff compares the desired state with what the target has and returns the
// changes, in an order that works: bucket, role, fleet, the Lambda project,
// <ns>-remote (last of all that stay, so that its state hash is written only
// once everything else is done), then deletions of what was turned off.
func Diff(d *Desired, o *Observed) (*Plan, error) {
	p := &Plan{Desired: d, Account: o.Account}
	p.Resources = Resources{Bucket: d.Bucket(o.Account), Project: d.Project.Name}
	if d.Lambda != nil {
		p.Resources.LambdaProject = d.Lambda.Name
	}
	add := func(c *Change) {
		if c != nil {
			p.Changes = append(p.Changes, *c)
		}
	}

	if !o.BucketExists {
		add(bucketChange(d, o.Account))
	}
	rc, err := roleChange(d, o)
	if err != nil {
		return nil, err
	}
	add(rc)
	roleArn := d.RoleArn(o.Account)
	if o.Role != nil && aws.ToString(o.Role.Arn) != "" {
		roleArn = aws.ToString(o.Role.Arn)
	}

	// The fleet.
	fleetOurs := false
	if o.Fleet != nil {
		fleetOurs = cbTagMap(o.Fleet.Tags)[TagManaged] == "true"
		if !fleetOurs && d.Fleet != nil {
			return nil, fmt.Errorf("%w: fleet %s exists but was not made by hangar (it has no %s tag); delete or rename it, or set codebuild.fleet.enable: false", ErrConflict, d.FleetName, TagManaged)
		}
	}
	fleetArn := pendingFleetArn(d.FleetName)
	if o.Fleet != nil && fleetOurs {
		fleetArn = aws.ToString(o.Fleet.Arn)
	}
	if d.Fleet != nil {
		if fleetOurs {
			p.Resources.FleetArn = fleetArn // else filled in by Apply
		}
		fc, err := fleetChange(d, o.Fleet)
		if err != nil {
			return nil, err
		}
		add(fc)
	}

	// The projects, <ns>-remote last.
	if d.Lambda != nil {
		pc, err := projectChange(d, d.Lambda, o.Projects[d.Lambda.Name], roleArn, fleetArn, d.managedTags())
		if err != nil {
			return nil, err
		}
		add(pc)
	} else if lp := o.Projects[d.LambdaName]; lp != nil && cbTagMap(lp.Tags)[TagManaged] == "true" {
		add(deleteProject(d.LambdaName))
	}
	// The state hash is written last of all: with a deletion still to come
	// it waits for it, so a failed deletion is tried again by the next run.
	deleteOurFleet := d.Fleet == nil && o.Fleet != nil && fleetOurs
	tags := d.managedTags()
	tags[TagBucket] = p.Resources.Bucket
	tags[TagState] = d.Hash()
	projTags := tags
	if deleteOurFleet {
		projTags = maps.Clone(tags)
		delete(projTags, TagState)
		if have := o.Projects[d.Project.Name]; have != nil {
			if old, ok := cbTagMap(have.Tags)[TagState]; ok {
				projTags[TagState] = old
			}
		}
	}
	pc, err := projectChange(d, &d.Project, o.Projects[d.Project.Name], roleArn, fleetArn, projTags)
	if err != nil {
		return nil, err
	}
	add(pc)

	// Deletions once nothing points at them.
	if deleteOurFleet {
		add(deleteFleet(o.Fleet))
		add(stateTag(d.Project.Name, tags))
	}
	return p, nil
}

// stateTag stores the state hash (and bucket) on the project.
func stateTag(name string, tags map[string]string) *Change {
	return &Change{Op: Update, Kind: "project", Name: name, Internal: true, apply: func(ctx context.Context, a *applier) error {
		out, err := a.c.cb.BatchGetProjects(ctx, &codebuild.BatchGetProjectsInput{Names: []string{name}})
		if err != nil {
			return fmt.Errorf("look up project %s: %w", name, err)
		}
		if len(out.Projects) != 1 {
			return fmt.Errorf("project %s is gone", name)
		}
		_, err = a.c.cb.UpdateProject(ctx, &codebuild.UpdateProjectInput{Name: aws.String(name), Tags: mergeTags(sdkTags(tags), out.Projects[0].Tags)})
		if err != nil {
			return fmt.Errorf("tag project %s: %w", name, err)
		}
		return nil
	}}
}

func bucketChange(d *Desired, account string) *Change {
	name := d.Bucket(account)
	region := d.Region
	return &Change{
		Op: Create, Kind: "bucket", Name: name,
		Details: []string{"region: " + region},
		apply: func(ctx context.Context, a *applier) error {
			in := &s3.CreateBucketInput{Bucket: aws.String(name)}
			if region != "us-east-1" && !a.hangar {
				in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
			}
			_, err := a.c.s3.CreateBucket(ctx, in)
			if code := errorCode(err); code == "BucketAlreadyOwnedByYou" {
				return nil // made meanwhile by another hangar
			}
			if err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
			return nil
		},
	}
}

// roleChange reconciles the role: trust, description, tags, inline and
// managed policies.
func roleChange(d *Desired, o *Observed) (*Change, error) {
	r := d.Role
	if o.Role == nil {
		details := []string{"trust: codebuild.amazonaws.com may assume it"}
		for _, ip := range r.Inline {
			details = append(details, fmt.Sprintf("+ inline policy %s: %s", ip.Name, policySummary(ip.Document)))
		}
		for _, arn := range r.Managed {
			details = append(details, "+ managed policy "+arn)
		}
		return &Change{Op: Create, Kind: "role", Name: r.Name, Details: details, apply: func(ctx context.Context, a *applier) error {
			_, err := a.c.iam.CreateRole(ctx, &iam.CreateRoleInput{
				RoleName:                 aws.String(r.Name),
				Path:                     aws.String("/"),
				Description:              aws.String(r.Description),
				AssumeRolePolicyDocument: aws.String(r.Trust),
				Tags:                     iamTags(d.managedTags()),
			})
			if err != nil {
				return fmt.Errorf("create role %s: %w", r.Name, err)
			}
			a.roleChanged = true
			for _, ip := range r.Inline {
				if err := a.putRolePolicy(ctx, r.Name, ip.Name, ip.Document); err != nil {
					return err
				}
			}
			for _, arn := range r.Managed {
				if err := a.attach(ctx, r.Name, arn); err != nil {
					return err
				}
			}
			return nil
		}}, nil
	}
	if o.RoleTags[TagManaged] != "true" {
		return nil, fmt.Errorf("%w: role %s exists but was not made by hangar (it has no %s tag); delete or rename it, or change project/env", ErrConflict, r.Name, TagManaged)
	}

	var details []string
	var steps []func(ctx context.Context, a *applier) error
	if !policy.Equivalent([]byte(policyText(aws.ToString(o.Role.AssumeRolePolicyDocument))), []byte(r.Trust)) {
		details = append(details, "trust: → codebuild.amazonaws.com may assume it")
		steps = append(steps, func(ctx context.Context, a *applier) error {
			_, err := a.c.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(r.Name), PolicyDocument: aws.String(r.Trust)})
			if err != nil {
				return fmt.Errorf("update trust policy of role %s: %w", r.Name, err)
			}
			a.roleChanged = true
			return nil
		})
	}
	if aws.ToString(o.Role.Description) != r.Description {
		details = append(details, fmt.Sprintf("description: %s → %s", show(aws.ToString(o.Role.Description)), r.Description))
		steps = append(steps, func(ctx context.Context, a *applier) error {
			_, err := a.c.iam.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String(r.Name), Description: aws.String(r.Description)})
			if err != nil {
				return fmt.Errorf("update description of role %s: %w", r.Name, err)
			}
			return nil
		})
	}
	if want := d.managedTags(); o.RoleTags[TagNamespace] != want[TagNamespace] {
		details = append(details, fmt.Sprintf("tags.%s: %s → %s", TagNamespace, show(o.RoleTags[TagNamespace]), want[TagNamespace]))
		steps = append(steps, func(ctx context.Context, a *applier) error {
			_, err := a.c.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(r.Name), Tags: iamTags(want)})
			if err != nil {
				return fmt.Errorf("tag role %s: %w", r.Name, err)
			}
			return nil
		})
	}
	wanted := map[string]bool{}
	for _, ip := range r.Inline {
		wanted[ip.Name] = true
		have, ok := o.Inline[ip.Name]
		if ok && policy.Equivalent([]byte(have), []byte(ip.Document)) {
			continue
		}
		if ok {
			details = append(details, fmt.Sprintf("~ inline policy %s: %s → %s", ip.Name, policySummary(have), policySummary(ip.Document)))
		} else {
			details = append(details, fmt.Sprintf("+ inline policy %s: %s", ip.Name, policySummary(ip.Document)))
		}
		steps = append(steps, func(ctx context.Context, a *applier) error {
			return a.putRolePolicy(ctx, r.Name, ip.Name, ip.Document)
		})
	}
	for _, name := range slices.Sorted(maps.Keys(o.Inline)) {
		if wanted[name] {
			continue
		}
		details = append(details, fmt.Sprintf("- inline policy %s: %s", name, policySummary(o.Inline[name])))
		steps = append(steps, func(ctx context.Context, a *applier) error {
			_, err := a.c.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(r.Name), PolicyName: aws.String(name)})
			if err != nil {
				return fmt.Errorf("delete inline policy %s of role %s: %w", name, r.Name, err)
			}
			return nil
		})
	}
	for _, arn := range r.Managed {
		if !slices.Contains(o.Managed, arn) {
			details = append(details, "+ managed policy "+arn)
			steps = append(steps, func(ctx context.Context, a *applier) error { return a.attach(ctx, r.Name, arn) })
		}
	}
	for _, arn := range o.Managed {
		if !slices.Contains(r.Managed, arn) {
			details = append(details, "- managed policy "+arn)
			steps = append(steps, func(ctx context.Context, a *applier) error {
				_, err := a.c.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(r.Name), PolicyArn: aws.String(arn)})
				if err != nil {
					return fmt.Errorf("detach %s from role %s: %w", arn, r.Name, err)
				}
				return nil
			})
		}
	}
	if len(steps) == 0 {
		return nil, nil
	}
	return &Change{Op: Update, Kind: "role", Name: r.Name, Details: details, apply: func(ctx context.Context, a *applier) error {
		for _, s := range steps {
			if err := s(ctx, a); err != nil {
				return err
			}
		}
		return nil
	}}, nil
}

func fleetChange(d *Desired, have *cbtypes.Fleet) (*Change, error) {
	spec := d.Fleet
	want, err := sdkFleet(spec, d.managedTags())
	if err != nil {
		return nil, err
	}
	if have == nil {
		return &Change{Op: Create, Kind: "fleet", Name: spec.Name, Details: listView(fleetView(want)), apply: func(ctx context.Context, a *applier) error {
			out, err := a.c.cb.CreateFleet(ctx, &codebuild.CreateFleetInput{
				Name:                 want.Name,
				BaseCapacity:         want.BaseCapacity,
				ComputeType:          want.ComputeType,
				EnvironmentType:      want.EnvironmentType,
				ComputeConfiguration: want.ComputeConfiguration,
				OverflowBehavior:     want.OverflowBehavior,
				Tags:                 want.Tags,
			})
			if err != nil {
				return fmt.Errorf("create fleet %s: %w", spec.Name, err)
			}
			a.fleetArn = aws.ToString(out.Fleet.Arn)
			return nil
		}}, nil
	}
	lines, changed := diffViews(fleetView(want), fleetView(have), fleetRemovable)
	if !changed {
		return nil, nil
	}
	arn := aws.ToString(have.Arn)
	tags := mergeTags(want.Tags, have.Tags)
	return &Change{Op: Update, Kind: "fleet", Name: spec.Name, Details: lines, apply: func(ctx context.Context, a *applier) error {
		_, err := a.c.cb.UpdateFleet(ctx, &codebuild.UpdateFleetInput{
			Arn:                  aws.String(arn),
			BaseCapacity:         want.BaseCapacity,
			ComputeType:          want.ComputeType,
			EnvironmentType:      want.EnvironmentType,
			ComputeConfiguration: want.ComputeConfiguration,
			OverflowBehavior:     want.OverflowBehavior,
			Tags:                 tags,
		})
		if err != nil {
			return fmt.Errorf("update fleet %s: %w", spec.Name, err)
		}
		return nil
	}}, nil
}

func deleteFleet(f *cbtypes.Fleet) *Change {
	arn, name := aws.ToString(f.Arn), aws.ToString(f.Name)
	return &Change{Op: Delete, Kind: "fleet", Name: name, Details: []string{"arn: " + arn}, apply: func(ctx context.Context, a *applier) error {
		if _, err := a.c.cb.DeleteFleet(ctx, &codebuild.DeleteFleetInput{Arn: aws.String(arn)}); err != nil {
			return fmt.Errorf("delete fleet %s: %w", name, err)
		}
		return nil
	}}
}

func projectChange(d *Desired, spec *ProjectSpec, have *cbtypes.Project, roleArn, fleetArn string, tags map[string]string) (*Change, error) {
	want, err := sdkProject(spec, roleArn, fleetArn, tags)
	if err != nil {
		return nil, err
	}
	// build makes the request's project at apply time, when a new fleet's
	// ARN is known.
	build := func(a *applier) (*cbtypes.Project, error) {
		if !spec.UseFleet {
			return want, nil
		}
		return sdkProject(spec, roleArn, a.fleet(fleetArn), tags)
	}
	if have == nil {
		return &Change{Op: Create, Kind: "project", Name: spec.Name, Details: listView(projectView(want, spec.Timeout > 0)), apply: func(ctx context.Context, a *applier) error {
			p, err := build(a)
			if err != nil {
				return err
			}
			return a.retryRole(ctx, func() error {
				_, err := a.c.cb.CreateProject(ctx, &codebuild.CreateProjectInput{
					Name: p.Name, Description: p.Description, Source: p.Source, Artifacts: p.Artifacts,
					Environment: p.Environment, ServiceRole: p.ServiceRole, Cache: p.Cache,
					TimeoutInMinutes: p.TimeoutInMinutes, LogsConfig: p.LogsConfig, Tags: p.Tags,
				})
				if err != nil {
					return fmt.Errorf("create project %s: %w", spec.Name, err)
				}
				return nil
			})
		}}, nil
	}
	if cbTagMap(have.Tags)[TagManaged] != "true" {
		return nil, fmt.Errorf("%w: project %s exists but was not made by hangar (it has no %s tag); delete or rename it, or change project/env", ErrConflict, spec.Name, TagManaged)
	}
	lines, changed := diffViews(projectView(want, spec.Timeout > 0), projectView(have, spec.Timeout > 0), projectRemovable)
	if !changed {
		return nil, nil
	}
	allTags := mergeTags(want.Tags, have.Tags)
	internal := len(lines) == 0
	return &Change{Op: Update, Kind: "project", Name: spec.Name, Details: lines, Internal: internal, apply: func(ctx context.Context, a *applier) error {
		p, err := build(a)
		if err != nil {
			return err
		}
		return a.retryRole(ctx, func() error {
			_, err := a.c.cb.UpdateProject(ctx, &codebuild.UpdateProjectInput{
				Name: p.Name, Description: p.Description, Source: p.Source, Artifacts: p.Artifacts,
				Environment: p.Environment, ServiceRole: p.ServiceRole, Cache: p.Cache,
				TimeoutInMinutes: p.TimeoutInMinutes, LogsConfig: p.LogsConfig, Tags: allTags,
			})
			if err != nil {
				return fmt.Errorf("update project %s: %w", spec.Name, err)
			}
			return nil
		})
	}}, nil
}

func deleteProject(name string) *Change {
	return &Change{Op: Delete, Kind: "project", Name: name, apply: func(ctx context.Context, a *applier) error {
		if _, err := a.c.cb.DeleteProject(ctx, &codebuild.DeleteProjectInput{Name: aws.String(name)}); err != nil {
			return fmt.Errorf("delete project %s: %w", name, err)
		}
		return nil
	}}
}

// mergeTags keeps tags others put on a resource: an update replaces all of
// a CodeBuild resource's tags.
func mergeTags(want, have []cbtypes.Tag) []cbtypes.Tag {
	m := cbTagMap(have)
	for k := range m {
		if strings.HasPrefix(k, "hangar:") {
			delete(m, k) // ours are all in want
		}
	}
	maps.Copy(m, cbTagMap(want))
	return sdkTags(m)
}

func iamTags(tags map[string]string) []iamtypes.Tag {
	out := make([]iamtypes.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, iamtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
