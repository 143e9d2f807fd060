package remote

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

// Resolve finds a build by its id ("project:uuid"), or by the uuid alone
// in the first of projects that has it.
func (c *Client) Resolve(ctx context.Context, id string, projects ...string) (types.Build, error) {
	if strings.Contains(id, ":") || len(projects) == 0 {
		return GetBuild(ctx, c.CodeBuild, id)
	}
	ids := make([]string, len(projects))
	for i, p := range projects {
		ids[i] = p + ":" + id
	}
	out, err := c.CodeBuild.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: ids})
	if err != nil {
		return types.Build{}, fmt.Errorf("get build %s: %w", id, err)
	}
	for _, want := range ids {
		for _, b := range out.Builds {
			if aws.ToString(b.Id) == want {
				return b, nil
			}
		}
	}
	return types.Build{}, &NotFoundError{ID: id}
}

// Stop stops a build and waits (up to a minute) until it is complete,
// returning it as it ended. A build already complete is returned as it is.
func (c *Client) Stop(ctx context.Context, id string) (types.Build, error) {
	b, err := GetBuild(ctx, c.CodeBuild, id)
	if err != nil {
		return b, err
	}
	if b.BuildComplete {
		return b, nil
	}
	if _, err := c.CodeBuild.StopBuild(ctx, &codebuild.StopBuildInput{Id: aws.String(id)}); err != nil {
		return b, fmt.Errorf("stop build %s: %w", id, err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	poll := c.Poll()
	delay := poll.Min
	for {
		b, err = GetBuild(ctx, c.CodeBuild, id)
		if err != nil {
			return b, err
		}
		if b.BuildComplete {
			return b, nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return b, fmt.Errorf("wait for build %s to stop: %w", id, ctx.Err())
		case <-t.C:
		}
		delay = poll.next(delay)
	}
}

// Recent returns the newest builds of the projects (those that exist),
// newest first, at most limit.
func (c *Client) Recent(ctx context.Context, projects []string, limit int) ([]types.Build, error) {
	var ids []string
	for _, p := range projects {
		in := &codebuild.ListBuildsForProjectInput{ProjectName: aws.String(p), SortOrder: types.SortOrderTypeDescending}
		pg := codebuild.NewListBuildsForProjectPaginator(c.CodeBuild, in)
		n := 0
		for pg.HasMorePages() && n < limit {
			out, err := pg.NextPage(ctx)
			var nf *types.ResourceNotFoundException
			if errors.As(err, &nf) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("list builds of %s: %w", p, err)
			}
			take := min(len(out.Ids), limit-n)
			ids = append(ids, out.Ids[:take]...)
			n += take
		}
	}
	var builds []types.Build
	for len(ids) > 0 {
		chunk := ids[:min(100, len(ids))]
		ids = ids[len(chunk):]
		out, err := c.CodeBuild.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: chunk})
		if err != nil {
			return nil, fmt.Errorf("get builds: %w", err)
		}
		builds = append(builds, out.Builds...)
	}
	sort.SliceStable(builds, func(i, j int) bool {
		a, b := builds[i].StartTime, builds[j].StartTime
		if a == nil || b == nil {
			return b == nil && a != nil
		}
		return a.After(*b)
	})
	if len(builds) > limit {
		builds = builds[:limit]
	}
	return builds, nil
}

// BuildDuration is how long a build ran (so far, for one in progress).
func BuildDuration(b types.Build, now time.Time) time.Duration {
	if b.StartTime == nil {
		return 0
	}
	if b.EndTime != nil {
		return b.EndTime.Sub(*b.StartTime)
	}
	return now.Sub(*b.StartTime)
}
