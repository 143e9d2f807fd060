package integration

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

func TestFleetAPI(t *testing.T) {
	r := StartRunner(t)
	cb := r.CodeBuild()
	ctx := context.Background()
	created, err := cb.CreateFleet(ctx, &codebuild.CreateFleetInput{
		Name: aws.String("small"), BaseCapacity: aws.Int32(2),
		EnvironmentType: types.EnvironmentTypeLinuxContainer, ComputeType: types.ComputeTypeBuildGeneral1Small,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := created.Fleet
	if aws.ToInt32(f.BaseCapacity) != 2 || f.Status.StatusCode != types.FleetStatusCodeActive || f.OverflowBehavior != types.FleetOverflowBehaviorQueue {
		t.Errorf("created fleet: %+v", f)
	}
	if _, err := cb.CreateFleet(ctx, &codebuild.CreateFleetInput{
		Name: aws.String("small"), BaseCapacity: aws.Int32(1),
		EnvironmentType: types.EnvironmentTypeLinuxContainer, ComputeType: types.ComputeTypeBuildGeneral1Small,
	}); !errors.As(err, new(*types.ResourceAlreadyExistsException)) {
		t.Errorf("duplicate CreateFleet: %v", err)
	}
	if _, err := cb.CreateFleet(ctx, &codebuild.CreateFleetInput{
		Name: aws.String("zero"), BaseCapacity: aws.Int32(0),
		EnvironmentType: types.EnvironmentTypeLinuxContainer, ComputeType: types.ComputeTypeBuildGeneral1Small,
	}); !errors.As(err, new(*types.InvalidInputException)) {
		t.Errorf("CreateFleet with capacity 0: %v", err)
	}
	up, err := cb.UpdateFleet(ctx, &codebuild.UpdateFleetInput{Arn: f.Arn, BaseCapacity: aws.Int32(4), OverflowBehavior: types.FleetOverflowBehaviorOnDemand})
	if err != nil || aws.ToInt32(up.Fleet.BaseCapacity) != 4 || up.Fleet.OverflowBehavior != types.FleetOverflowBehaviorOnDemand || aws.ToString(up.Fleet.Name) != "small" {
		t.Errorf("UpdateFleet: %+v %v", up, err)
	}
	got, err := cb.BatchGetFleets(ctx, &codebuild.BatchGetFleetsInput{Names: []string{"small", aws.ToString(f.Arn), "nope"}})
	if err != nil || len(got.Fleets) != 2 || len(got.FleetsNotFound) != 1 || got.FleetsNotFound[0] != "nope" {
		t.Errorf("BatchGetFleets: %+v %v", got, err)
	}
	list, err := cb.ListFleets(ctx, &codebuild.ListFleetsInput{})
	if err != nil || len(list.Fleets) != 1 || list.Fleets[0] != aws.ToString(f.Arn) {
		t.Errorf("ListFleets: %+v %v", list, err)
	}
	if _, err := cb.DeleteFleet(ctx, &codebuild.DeleteFleetInput{Arn: f.Arn}); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.DeleteFleet(ctx, &codebuild.DeleteFleetInput{Arn: f.Arn}); err != nil {
		t.Errorf("deleting a deleted fleet: %v", err)
	}
	if _, err := cb.UpdateFleet(ctx, &codebuild.UpdateFleetInput{Arn: f.Arn, BaseCapacity: aws.Int32(1)}); !errors.As(err, new(*types.ResourceNotFoundException)) {
		t.Errorf("UpdateFleet of a deleted fleet: %v", err)
	}
}
