package remote

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/hangarci/hangar/internal/model"
)

// FleetInfo is a fleet and, on a Hangar runner, its live build counts.
type FleetInfo struct {
	Fleet types.Fleet
	// Running and Queued are the builds on the fleet's machines and those
	// waiting for one; Counted is false when the runner does not report
	// them (AWS, or a fleet that failed to create).
	Running, Queued int
	Counted         bool
}

// Fleets lists every fleet of the target, by name.
func (c *Client) Fleets(ctx context.Context) ([]FleetInfo, error) {
	var arns []string
	pg := codebuild.NewListFleetsPaginator(c.CodeBuild, &codebuild.ListFleetsInput{SortBy: types.FleetSortByTypeName})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list fleets: %w", err)
		}
		arns = append(arns, out.Fleets...)
	}
	var fleets []FleetInfo
	for len(arns) > 0 {
		chunk := arns[:min(100, len(arns))]
		arns = arns[len(chunk):]
		out, err := c.CodeBuild.BatchGetFleets(ctx, &codebuild.BatchGetFleetsInput{Names: chunk})
		if err != nil {
			return nil, fmt.Errorf("get fleets: %w", err)
		}
		for _, f := range out.Fleets {
			fi := FleetInfo{Fleet: f}
			if f.Status != nil {
				fi.Running, _, fi.Queued, fi.Counted = model.ParseFleetCounts(aws.ToString(f.Status.Message))
			}
			fleets = append(fleets, fi)
		}
	}
	return fleets, nil
}
