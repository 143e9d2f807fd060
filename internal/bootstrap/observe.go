package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Observed is what the target has of the desired resources.
type Observed struct {
	Account      string
	BucketExists bool
	// Role is nil when there is none; RoleTags are its tags.
	Role     *iamtypes.Role
	RoleTags map[string]string
	// Inline maps the role's inline policy names to their documents
	// (decoded JSON).
	Inline map[string]string
	// Managed are the ARNs of the role's attached managed policies.
	Managed []string
	// Projects holds the projects found, by name (<ns>-remote and
	// <ns>-remote-lambda are always looked up).
	Projects map[string]*cbtypes.Project
	// Fleet is <ns>-fleet, nil when there is none.
	Fleet *cbtypes.Fleet
}

// clients are the APIs bootstrap uses.
type clients struct {
	iam *iam.Client
	s3  *s3.Client
	cb  *codebuild.Client
	sts *sts.Client
}

// Observe reads what the target has, asking the independent questions at
// once.
func observe(ctx context.Context, c clients, d *Desired) (*Observed, error) {
	id, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("get the account id (sts GetCallerIdentity): %w", err)
	}
	o := &Observed{Account: aws.ToString(id.Account), Projects: map[string]*cbtypes.Project{}}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	do := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	// Each writes only its own members of o.
	do(func() error { return observeBucket(ctx, c, d.Bucket(o.Account), o) })
	do(func() error { return observeRole(ctx, c, d.Role.Name, o) })
	do(func() error { return observeProjects(ctx, c, []string{d.Project.Name, d.LambdaName}, o) })
	do(func() error { return observeFleet(ctx, c, d.FleetName, o) })
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return o, nil
}

func observeBucket(ctx context.Context, c clients, name string, o *Observed) error {
	_, err := c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
	switch status := httpStatus(err); {
	case err == nil:
		o.BucketExists = true
	case status == http.StatusNotFound:
	case status == http.StatusForbidden:
		return fmt.Errorf("bucket %s exists and belongs to someone else (or these credentials may not use it)", name)
	default:
		return fmt.Errorf("look up bucket %s: %w", name, err)
	}
	return nil
}

func observeRole(ctx context.Context, c clients, name string, o *Observed) error {
	out, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up role %s: %w", name, err)
	}
	o.Role = out.Role
	tags := out.Role.Tags
	if len(tags) == 0 {
		// GetRole returns tags on AWS; ask directly in case a runner does not.
		lt, err := c.iam.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("list tags of role %s: %w", name, err)
		}
		tags = lt.Tags
	}
	o.RoleTags = map[string]string{}
	for _, t := range tags {
		o.RoleTags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	o.Inline = map[string]string{}
	lp := iam.NewListRolePoliciesPaginator(c.iam, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	for lp.HasMorePages() {
		page, err := lp.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list inline policies of role %s: %w", name, err)
		}
		for _, pn := range page.PolicyNames {
			gp, err := c.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pn)})
			if err != nil {
				return fmt.Errorf("get inline policy %s of role %s: %w", pn, name, err)
			}
			o.Inline[pn] = policyText(aws.ToString(gp.PolicyDocument))
		}
	}
	ap := iam.NewListAttachedRolePoliciesPaginator(c.iam, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list managed policies of role %s: %w", name, err)
		}
		for _, p := range page.AttachedPolicies {
			o.Managed = append(o.Managed, aws.ToString(p.PolicyArn))
		}
	}
	return nil
}

func observeProjects(ctx context.Context, c clients, names []string, o *Observed) error {
	out, err := c.cb.BatchGetProjects(ctx, &codebuild.BatchGetProjectsInput{Names: names})
	if err != nil {
		return fmt.Errorf("look up projects %v: %w", names, err)
	}
	for i := range out.Projects {
		p := &out.Projects[i]
		o.Projects[aws.ToString(p.Name)] = p
	}
	return nil
}

func observeFleet(ctx context.Context, c clients, name string, o *Observed) error {
	out, err := c.cb.BatchGetFleets(ctx, &codebuild.BatchGetFleetsInput{Names: []string{name}})
	if err != nil {
		return fmt.Errorf("look up fleet %s: %w", name, err)
	}
	for i := range out.Fleets {
		if aws.ToString(out.Fleets[i].Name) == name {
			o.Fleet = &out.Fleets[i]
		}
	}
	return nil
}

// httpStatus is the HTTP status of a failed call, 0 when there is none.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// errorCode is the AWS error code of a failed call.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
