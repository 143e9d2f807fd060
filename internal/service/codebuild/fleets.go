package codebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime"

	"github.com/google/uuid"

	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/store"
)

// capacity is what Hangar's scheduler does beyond the Scheduler contract:
// run fleets, count builds, know the account's concurrency cap. A Scheduler
// without it (a unit test's) runs everything on demand and counts nothing.
type capacity interface {
	// SetFleet registers a fleet or applies its new settings.
	SetFleet(f *model.Fleet)
	// RetireFleet deletes a fleet once its builds are over; gone is called
	// then (at once when it has none).
	RetireFleet(arn string, gone func())
	// FleetCounts reports a fleet's builds on its machines and waiting.
	FleetCounts(arn string) (running, queued int, ok bool)
	// ProjectBuilds reports a project's builds queued or running.
	ProjectBuilds(project string) int
	// MaxRunning is the cap on builds running at once (0: none).
	MaxRunning() int
}

func (s *Service) capacity() capacity {
	c, _ := s.sched.(capacity)
	return c
}

// FleetInput is the input of CreateFleet and UpdateFleet.
type FleetInput struct {
	Name                 string                      `json:"name"`
	Arn                  string                      `json:"arn"`
	BaseCapacity         *int                        `json:"baseCapacity"`
	EnvironmentType      string                      `json:"environmentType"`
	ComputeType          string                      `json:"computeType"`
	ComputeConfiguration json.RawMessage             `json:"computeConfiguration"`
	ScalingConfiguration *model.ScalingConfiguration `json:"scalingConfiguration"`
	OverflowBehavior     string                      `json:"overflowBehavior"`
	VpcConfig            json.RawMessage             `json:"vpcConfig"`
	ProxyConfiguration   json.RawMessage             `json:"proxyConfiguration"`
	ImageID              string                      `json:"imageId"`
	FleetServiceRole     string                      `json:"fleetServiceRole"`
	Tags                 []model.Tag                 `json:"tags"`
}

// FleetOutput is the output of CreateFleet and UpdateFleet.
type FleetOutput struct {
	Fleet *model.Fleet `json:"fleet"`
}

// fleetNameRE is the model's FleetName pattern, anchored.
var fleetNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9\-_]+$`)

// CreateFleet creates a fleet. A Hangar fleet's machines are slots on this
// host, so it is ACTIVE at once, or CREATE_FAILED when this host cannot be
// such a machine (another architecture, Windows, macOS, GPU): CodeBuild
// reports a fleet it cannot provision in its status, not as an API error.
func (s *Service) CreateFleet(ctx context.Context, in *FleetInput) (*FleetOutput, error) {
	if in.Name == "" || in.BaseCapacity == nil || in.EnvironmentType == "" || in.ComputeType == "" {
		return nil, invalid("name, baseCapacity, environmentType and computeType are required")
	}
	if len(in.Name) < 2 || len(in.Name) > 128 || !fleetNameRE.MatchString(in.Name) {
		return nil, invalid("Invalid fleet name: %s", in.Name)
	}
	now := model.NewTime(s.now())
	id := uuid.NewString()
	f := &model.Fleet{
		Arn:          s.names.FleetArn(in.Name, id),
		Name:         in.Name,
		ID:           id,
		Created:      now.Ptr(),
		LastModified: now.Ptr(),
		Tags:         []model.Tag{},
	}
	applyFleetInput(f, in)
	if err := checkFleet(f); err != nil {
		return nil, err
	}
	f.Status = fleetStatus(f, model.FleetCreateFailed, model.FleetCreateFailed)
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
	if c := s.capacity(); c != nil {
		c.SetFleet(f)
	}
	return &FleetOutput{Fleet: s.withCounts(f)}, nil
}

// fleetStatus is a fleet's status for what this host can run: ACTIVE, or
// code with context and the reason when the host cannot be its machines.
func fleetStatus(f *model.Fleet, code, context string) *model.FleetStatus {
	switch host := runtime.GOARCH; {
	case !model.IsLinuxEnvironment(f.EnvironmentType):
		return &model.FleetStatus{StatusCode: code, Context: context,
			Message: fmt.Sprintf("Hangar runs Linux builds in its host sandbox; it cannot provide %s machines", f.EnvironmentType)}
	case model.EnvironmentArch(f.EnvironmentType) != host:
		return &model.FleetStatus{StatusCode: code, Context: context,
			Message: fmt.Sprintf("%s machines are %s; this Hangar runner is %s", f.EnvironmentType, model.EnvironmentArch(f.EnvironmentType), host)}
	}
	return &model.FleetStatus{StatusCode: model.FleetActive}
}

// withCounts returns f with its live build counts in status.message, for
// ACTIVE and PENDING_DELETION fleets: "running R/N, queued Q" (R builds on
// its N machines, Q waiting). The Fleet shape has no member for them;
// status.message is a free-form string every client passes through, so the
// counts ride there without breaking any client (`hangar fleets` parses it).
func (s *Service) withCounts(f *model.Fleet) *model.Fleet {
	c := s.capacity()
	if c == nil || f.Status == nil || (f.Status.StatusCode != model.FleetActive && f.Status.StatusCode != model.FleetPendingDeletion) {
		return f
	}
	running, queued, ok := c.FleetCounts(f.Arn)
	if !ok {
		return f
	}
	st := *f.Status
	st.Message = model.FleetCountsMessage(running, f.BaseCapacity, queued)
	out := *f
	out.Status = &st
	return &out
}

// UpdateFleet changes the members of a fleet that the input sets. A new
// capacity takes effect at once: a larger fleet starts waiting builds, a
// smaller one lets the running ones finish.
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
		if f.Status != nil && f.Status.StatusCode == model.FleetPendingDeletion {
			return cur, invalid("Fleet %s is pending deletion and cannot be updated", f.Arn)
		}
		in.Name = "" // a fleet cannot be renamed
		applyFleetInput(f, in)
		if err := checkFleet(f); err != nil {
			return cur, err
		}
		f.Status = fleetStatus(f, "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED")
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
	if c := s.capacity(); c != nil {
		c.SetFleet(out)
	}
	return &FleetOutput{Fleet: s.withCounts(out)}, nil
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
	if sc := in.ScalingConfiguration; sc != nil {
		if sc.ScalingType == "" && sc.MaxCapacity == nil && len(sc.TargetTrackingScalingConfigs) == 0 {
			f.ScalingConfiguration = nil // an empty one removes it
		} else {
			c := *sc
			f.ScalingConfiguration = &c
		}
	}
	if sc := f.ScalingConfiguration; sc != nil {
		// Hangar does not scale a fleet: it wants its base capacity.
		sc.DesiredCapacity = ptr(f.BaseCapacity)
	}
	if in.OverflowBehavior != "" {
		f.OverflowBehavior = in.OverflowBehavior
	}
	if f.OverflowBehavior == "" {
		f.OverflowBehavior = model.OverflowQueue
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

// fleetEnvironments are the environment types a fleet can have: reserved
// capacity covers containers and EC2 machines, never Lambda.
var fleetEnvironments = map[string]bool{
	model.EnvLinuxContainer: true, model.EnvArmContainer: true, model.EnvLinuxGPUContainer: true,
	"WINDOWS_SERVER_2019_CONTAINER": true, "WINDOWS_SERVER_2022_CONTAINER": true,
	model.EnvLinuxEC2: true, model.EnvArmEC2: true, model.EnvWindowsEC2: true, model.EnvMacArm: true,
}

// checkFleet refuses fleets CodeBuild refuses: capacity below 1 (the
// CloudFormation and CDK minimum), Lambda compute or environment (Lambda is
// never reserved), compute types an environment type does not offer (the
// model's documentation: GPU fleets are SMALL or LARGE, macOS fleets MEDIUM
// or LARGE), attribute-based or custom-instance compute without the
// computeConfiguration it needs, and a scaling configuration that cannot
// hold the base capacity.
func checkFleet(f *model.Fleet) error {
	if f.BaseCapacity < 1 {
		return invalid("Invalid base capacity %d: a fleet needs at least 1 machine", f.BaseCapacity)
	}
	if model.IsLambdaCompute(f.ComputeType) || model.IsLambdaEnvironment(f.EnvironmentType) {
		return invalid("Invalid fleet compute: Lambda compute (%s, %s) cannot be reserved in a fleet", f.EnvironmentType, f.ComputeType)
	}
	if !fleetEnvironments[f.EnvironmentType] {
		return invalid("Invalid environment type %s for a fleet", f.EnvironmentType)
	}
	switch f.ComputeType {
	case model.ComputeSmall, model.ComputeMedium, model.ComputeLarge, model.ComputeXLarge, model.Compute2XLarge:
		ok := true
		switch f.EnvironmentType {
		case model.EnvLinuxGPUContainer:
			ok = f.ComputeType == model.ComputeSmall || f.ComputeType == model.ComputeLarge
		case model.EnvMacArm:
			ok = f.ComputeType == model.ComputeMedium || f.ComputeType == model.ComputeLarge
		}
		if !ok {
			return invalid("Invalid compute type %s for environment type %s", f.ComputeType, f.EnvironmentType)
		}
	case model.ComputeAttributeBased, model.ComputeCustomInstance:
		var cc model.ComputeConfiguration
		if len(f.ComputeConfiguration) > 0 {
			if err := json.Unmarshal(f.ComputeConfiguration, &cc); err != nil {
				return invalid("Invalid compute configuration: %v", err)
			}
		}
		if f.ComputeType == model.ComputeCustomInstance && cc.InstanceType == "" {
			return invalid("computeConfiguration.instanceType is required for compute type %s", f.ComputeType)
		}
		if f.ComputeType == model.ComputeAttributeBased && (cc.VCPU <= 0 || cc.Memory <= 0) {
			return invalid("computeConfiguration.vCpu and computeConfiguration.memory are required for compute type %s", f.ComputeType)
		}
	default:
		return invalid("Invalid compute type %s for a fleet", f.ComputeType)
	}
	if f.OverflowBehavior != model.OverflowQueue && f.OverflowBehavior != model.OverflowOnDemand {
		return invalid("Invalid overflow behavior %s: expecting QUEUE or ON_DEMAND", f.OverflowBehavior)
	}
	if sc := f.ScalingConfiguration; sc != nil {
		if sc.ScalingType != "" && sc.ScalingType != "TARGET_TRACKING_SCALING" {
			return invalid("Invalid scaling type %s: expecting TARGET_TRACKING_SCALING", sc.ScalingType)
		}
		if sc.MaxCapacity != nil && *sc.MaxCapacity < f.BaseCapacity {
			return invalid("Invalid scaling configuration: maxCapacity %d is below the base capacity %d", *sc.MaxCapacity, f.BaseCapacity)
		}
		for _, t := range sc.TargetTrackingScalingConfigs {
			if t.MetricType != "" && t.MetricType != "FLEET_UTILIZATION_RATE" {
				return invalid("Invalid metric type %s: expecting FLEET_UTILIZATION_RATE", t.MetricType)
			}
			if t.TargetValue != nil && (*t.TargetValue <= 0 || *t.TargetValue > 100) {
				return invalid("Invalid target value %g: a fleet utilization rate is a percentage above 0 and at most 100", *t.TargetValue)
			}
		}
	}
	return nil
}

// DeleteFleetInput is the input of DeleteFleet.
type DeleteFleetInput struct {
	Arn string `json:"arn"`
}

// DeleteFleet deletes a fleet; deleting a missing fleet succeeds. A fleet
// with builds running or waiting is not cut off: as on CodeBuild, where a
// deleted fleet shows PENDING_DELETION for a while and stays usable, it
// shows PENDING_DELETION until its last build is over, then is gone.
func (s *Service) DeleteFleet(ctx context.Context, in *DeleteFleetInput) (*struct{}, error) {
	c := s.capacity()
	if c == nil {
		if err := s.db.DeleteFleet(ctx, in.Arn); err != nil {
			return nil, fmt.Errorf("delete fleet %s: %w", in.Arn, err)
		}
		return &struct{}{}, nil
	}
	row, err := s.db.Fleet(ctx, in.Arn)
	if isNotFound(err) || err == nil && row.Arn != in.Arn {
		return &struct{}{}, nil // DeleteFleet takes an ARN; a name deletes nothing
	}
	if err != nil {
		return nil, fmt.Errorf("get fleet %s: %w", in.Arn, err)
	}
	_, err = s.db.UpdateFleet(ctx, row.Name, func(cur store.FleetRow) (store.FleetRow, error) {
		f := new(model.Fleet)
		if err := json.Unmarshal(cur.Body, f); err != nil {
			return cur, fmt.Errorf("decode fleet %s: %w", cur.Name, err)
		}
		f.Status = &model.FleetStatus{StatusCode: model.FleetPendingDeletion, Context: model.FleetPendingDeletion}
		body, err := json.Marshal(f)
		if err != nil {
			return cur, fmt.Errorf("encode fleet %s: %w", cur.Name, err)
		}
		cur.Body = body
		return cur, nil
	})
	if err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("delete fleet %s: %w", in.Arn, err)
	}
	c.RetireFleet(row.Arn, s.forgetFleet(row.Arn))
	return &struct{}{}, nil
}

// forgetFleet returns what removes a retired fleet from the store.
func (s *Service) forgetFleet(arn string) func() {
	return func() {
		// The fleet's last build may end long after the request that
		// deleted it: no request context to use.
		if err := s.db.DeleteFleet(context.Background(), arn); err != nil {
			s.log.Error("delete retired fleet", "fleet", arn, "err", err)
		}
	}
}

// LoadFleets hands the stored fleets to the scheduler; call it before any
// build is submitted. A fleet that was pending deletion is retired again.
func (s *Service) LoadFleets(ctx context.Context) error {
	c := s.capacity()
	if c == nil {
		return nil
	}
	rows, err := s.db.Fleets(ctx, store.ProjectOrder{})
	if err != nil {
		return fmt.Errorf("list fleets: %w", err)
	}
	for _, r := range rows {
		f := new(model.Fleet)
		if err := json.Unmarshal(r.Body, f); err != nil {
			return fmt.Errorf("decode fleet %s: %w", r.Name, err)
		}
		c.SetFleet(f)
		if f.Status != nil && f.Status.StatusCode == model.FleetPendingDeletion {
			c.RetireFleet(f.Arn, s.forgetFleet(f.Arn))
		}
	}
	return nil
}

// BatchGetFleetsInput is the input of BatchGetFleets.
type BatchGetFleetsInput struct {
	Names []string `json:"names"`
}

// BatchGetFleetsOutput is the output of BatchGetFleets.
type BatchGetFleetsOutput struct {
	Fleets         []*model.Fleet `json:"fleets"`
	FleetsNotFound []string       `json:"fleetsNotFound"`
}

// BatchGetFleets returns fleets by name or ARN, with their live counts.
func (s *Service) BatchGetFleets(ctx context.Context, in *BatchGetFleetsInput) (*BatchGetFleetsOutput, error) {
	if len(in.Names) == 0 || len(in.Names) > 100 {
		return nil, invalid("names must hold between 1 and 100 fleet names")
	}
	out := &BatchGetFleetsOutput{Fleets: []*model.Fleet{}, FleetsNotFound: []string{}}
	for _, n := range in.Names {
		row, err := s.db.Fleet(ctx, n)
		if isNotFound(err) {
			out.FleetsNotFound = append(out.FleetsNotFound, n)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get fleet %s: %w", n, err)
		}
		f := new(model.Fleet)
		if err := json.Unmarshal(row.Body, f); err != nil {
			return nil, fmt.Errorf("decode fleet %s: %w", row.Name, err)
		}
		out.Fleets = append(out.Fleets, s.withCounts(f))
	}
	return out, nil
}

// fleetFor resolves the fleet a build asks for (by ARN, or name): its
// stored object, or ResourceNotFoundException as for a missing project.
func (s *Service) fleetFor(ctx context.Context, ref string) (*model.Fleet, error) {
	row, err := s.db.Fleet(ctx, ref)
	if isNotFound(err) {
		return nil, notFound("Fleet cannot be found: %s", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("get fleet %s: %w", ref, err)
	}
	f := new(model.Fleet)
	if err := json.Unmarshal(row.Body, f); err != nil {
		return nil, fmt.Errorf("decode fleet %s: %w", row.Name, err)
	}
	return f, nil
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
