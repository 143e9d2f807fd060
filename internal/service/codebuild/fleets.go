package codebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/store"
)

// FleetInput is the input of CreateFleet and UpdateFleet.
type FleetInput struct {
	Name                 string          `json:"name"`
	Arn                  string          `json:"arn"`
	BaseCapacity         *int            `json:"baseCapacity"`
	EnvironmentType      string          `json:"environmentType"`
	ComputeType          string          `json:"computeType"`
	ComputeConfiguration json.RawMessage `json:"computeConfiguration"`
	ScalingConfiguration json.RawMessage `json:"scalingConfiguration"`
	OverflowBehavior     string          `json:"overflowBehavior"`
	VpcConfig            json.RawMessage `json:"vpcConfig"`
	ProxyConfiguration   json.RawMessage `json:"proxyConfiguration"`
	ImageID              string          `json:"imageId"`
	FleetServiceRole     string          `json:"fleetServiceRole"`
	Tags                 []model.Tag     `json:"tags"`
}

// FleetOutput is the output of CreateFleet and UpdateFleet.
type FleetOutput struct {
	Fleet *model.Fleet `json:"fleet"`
}

// CreateFleet creates a fleet. A Hangar fleet's machines are slots on this
// host, so it is ACTIVE at once.
func (s *Service) CreateFleet(ctx context.Context, in *FleetInput) (*FleetOutput, error) {
	if in.Name == "" || in.BaseCapacity == nil || in.EnvironmentType == "" || in.ComputeType == "" {
		return nil, invalid("name, baseCapacity, environmentType and computeType are required")
	}
	now := model.NewTime(s.now())
	id := uuid.NewString()
	f := &model.Fleet{
		Arn:          s.names.FleetArn(in.Name, id),
		Name:         in.Name,
		ID:           id,
		Created:      now.Ptr(),
		LastModified: now.Ptr(),
		Status:       &model.FleetStatus{StatusCode: "ACTIVE"},
		Tags:         []model.Tag{},
	}
	applyFleetInput(f, in)
	if err := checkFleet(f); err != nil {
		return nil, err
	}
	body, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode fleet %s: %w", f.Name, err)
	}
	err = s.db.CreateFleet(ctx, store.FleetRow{Name: f.Name, Arn: f.Arn, Created: now.UnixMilli(), Modified: now.UnixMilli(), Body: body})
	if errors.Is(err, store.ErrExists) {
		return nil, awsErr("ResourceAlreadyExistsException", "Fleet already exists: %s", in.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("create fleet %s: %w", f.Name, err)
	}
	return &FleetOutput{Fleet: f}, nil
}

// UpdateFleet changes the members of a fleet that the input sets.
func (s *Service) UpdateFleet(ctx context.Context, in *FleetInput) (*FleetOutput, error) {
	row, err := s.db.Fleet(ctx, in.Arn)
	if isNotFound(err) {
		return nil, notFound("Fleet cannot be found: %s", in.Arn)
	}
	if err != nil {
		return nil, fmt.Errorf("get fleet %s: %w", in.Arn, err)
	}
	var out *model.Fleet
	_, err = s.db.UpdateFleet(ctx, row.Name, func(cur store.FleetRow) (store.FleetRow, error) {
		f := new(model.Fleet)
		if err := json.Unmarshal(cur.Body, f); err != nil {
			return cur, fmt.Errorf("decode fleet %s: %w", cur.Name, err)
		}
		in.Name = "" // a fleet cannot be renamed
		applyFleetInput(f, in)
		if err := checkFleet(f); err != nil {
			return cur, err
		}
		now := model.NewTime(s.now())
		f.LastModified = now.Ptr()
		body, err := json.Marshal(f)
		if err != nil {
			return cur, fmt.Errorf("encode fleet %s: %w", cur.Name, err)
		}
		out = f
		cur.Modified, cur.Body = now.UnixMilli(), body
		return cur, nil
	})
	if err != nil {
		return nil, err
	}
	return &FleetOutput{Fleet: out}, nil
}

func applyFleetInput(f *model.Fleet, in *FleetInput) {
	if in.BaseCapacity != nil {
		f.BaseCapacity = *in.BaseCapacity
	}
	if in.EnvironmentType != "" {
		f.EnvironmentType = in.EnvironmentType
	}
	if in.ComputeType != "" {
		f.ComputeType = in.ComputeType
	}
	f.ComputeConfiguration = orRaw(in.ComputeConfiguration, f.ComputeConfiguration)
	f.ScalingConfiguration = orRaw(in.ScalingConfiguration, f.ScalingConfiguration)
	if in.OverflowBehavior != "" {
		f.OverflowBehavior = in.OverflowBehavior
	}
	if f.OverflowBehavior == "" {
		f.OverflowBehavior = "QUEUE"
	}
	f.VpcConfig = orRaw(in.VpcConfig, f.VpcConfig)
	f.ProxyConfiguration = orRaw(in.ProxyConfiguration, f.ProxyConfiguration)
	if in.ImageID != "" {
		f.ImageID = in.ImageID
	}
	if in.FleetServiceRole != "" {
		f.FleetServiceRole = in.FleetServiceRole
	}
	if in.Tags != nil {
		f.Tags = in.Tags
	}
}

// checkFleet refuses fleets no build could run on.
func checkFleet(f *model.Fleet) error {
	if f.BaseCapacity < 1 {
		return invalid("Invalid base capacity %d: a fleet needs at least 1", f.BaseCapacity)
	}
	if model.IsLambdaCompute(f.ComputeType) || model.IsLambdaEnvironment(f.EnvironmentType) {
		return invalid("Invalid fleet compute: Lambda compute cannot be reserved in a fleet")
	}
	return nil
}

// DeleteFleetInput is the input of DeleteFleet.
type DeleteFleetInput struct {
	Arn string `json:"arn"`
}

// DeleteFleet deletes a fleet; deleting a missing fleet succeeds.
func (s *Service) DeleteFleet(ctx context.Context, in *DeleteFleetInput) (*struct{}, error) {
	if err := s.db.DeleteFleet(ctx, in.Arn); err != nil {
		return nil, fmt.Errorf("delete fleet %s: %w", in.Arn, err)
	}
	return &struct{}{}, nil
}

// BatchGetFleetsInput is the input of BatchGetFleets.
type BatchGetFleetsInput struct {
	Names []string `json:"names"`
}

// BatchGetFleetsOutput is the output of BatchGetFleets.
type BatchGetFleetsOutput struct {
	Fleets         []json.RawMessage `json:"fleets"`
	FleetsNotFound []string          `json:"fleetsNotFound"`
}

// BatchGetFleets returns fleets by name or ARN.
func (s *Service) BatchGetFleets(ctx context.Context, in *BatchGetFleetsInput) (*BatchGetFleetsOutput, error) {
	if len(in.Names) == 0 || len(in.Names) > 100 {
		return nil, invalid("names must hold between 1 and 100 fleet names")
	}
	out := &BatchGetFleetsOutput{Fleets: []json.RawMessage{}, FleetsNotFound: []string{}}
	for _, n := range in.Names {
		row, err := s.db.Fleet(ctx, n)
		if isNotFound(err) {
			out.FleetsNotFound = append(out.FleetsNotFound, n)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get fleet %s: %w", n, err)
		}
		out.Fleets = append(out.Fleets, row.Body)
	}
	return out, nil
}

// ListFleetsInput is the input of ListFleets.
type ListFleetsInput struct {
	NextToken  string `json:"nextToken"`
	MaxResults int    `json:"maxResults"`
	SortOrder  string `json:"sortOrder"`
	SortBy     string `json:"sortBy"`
}

// ListFleetsOutput is the output of ListFleets: fleet ARNs (the model's
// member shape), though its documentation says names.
type ListFleetsOutput struct {
	Fleets    []string `json:"fleets"`
	NextToken string   `json:"nextToken,omitempty"`
}

// ListFleets lists fleet ARNs.
func (s *Service) ListFleets(ctx context.Context, in *ListFleetsInput) (*ListFleetsOutput, error) {
	off, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	size := pageSize
	if in.MaxResults > 0 {
		size = in.MaxResults
	}
	rows, err := s.db.Fleets(ctx, store.ProjectOrder{By: in.SortBy, Desc: in.SortOrder == "DESCENDING"})
	if err != nil {
		return nil, fmt.Errorf("list fleets: %w", err)
	}
	arns := make([]string, 0, len(rows))
	for _, r := range rows[min(off, len(rows)):] {
		arns = append(arns, r.Arn)
	}
	out := &ListFleetsOutput{}
	out.Fleets, out.NextToken = page(arns, off, size)
	if out.Fleets == nil {
		out.Fleets = []string{}
	}
	return out, nil
}
