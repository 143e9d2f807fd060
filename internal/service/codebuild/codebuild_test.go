package codebuild

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/model"
	"github.com/hangarci/hangar/internal/store"
)

// queue is a Scheduler that only records what it is given.
type queue struct{ submitted []string }

func (q *queue) Submit(_ context.Context, b *model.Build) error {
	q.submitted = append(q.submitted, b.ID)
	return nil
}

func (q *queue) Stop(context.Context, string) error { return nil }

func newService(t *testing.T) (*Service, *queue) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "hangar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q := &queue{}
	return New(Config{DB: db, Names: model.Names{Region: "us-east-1", Account: model.Account}, Scheduler: q}), q
}

func projectIn(name, envType, compute string) *ProjectInput {
	return &ProjectInput{
		Name:        name,
		Source:      &model.ProjectSource{Type: model.SourceNoSource},
		Artifacts:   &model.ProjectArtifacts{Type: "NO_ARTIFACTS"},
		Environment: &model.ProjectEnvironment{Type: envType, Image: "img", ComputeType: compute},
		ServiceRole: ptr("arn:aws:iam::000000000000:role/r"),
	}
}

func wantInvalid(t *testing.T, err error, contains string) {
	t.Helper()
	e, ok := awsapi.AsError(err)
	if !ok || e.Code != "InvalidInputException" || !strings.Contains(e.Message, contains) {
		t.Fatalf("got %v, want InvalidInputException containing %q", err, contains)
	}
}

// Lambda compute types run only on Lambda environment types and the other
// way round; a mismatch is refused before anything is stored.
func TestLambdaComputeNeedsLambdaEnvironment(t *testing.T) {
	ctx := context.Background()
	s, q := newService(t)
	for _, c := range []struct{ env, compute string }{
		{model.EnvLinuxContainer, model.ComputeLambda1},
		{model.EnvArmLambdaContainer, model.ComputeSmall},
	} {
		_, err := s.CreateProject(ctx, projectIn("bad", c.env, c.compute))
		wantInvalid(t, err, c.compute)
	}
	if _, err := s.db.Project(ctx, "bad"); err != store.ErrNotFound {
		t.Fatalf("refused project stored: %v", err)
	}
	if _, err := s.CreateProject(ctx, projectIn("lambda", model.EnvLinuxLambdaContainer, model.ComputeLambda2)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateProject(ctx, projectIn("box", model.EnvLinuxContainer, model.ComputeSmall)); err != nil {
		t.Fatal(err)
	}
	_, err := s.UpdateProject(ctx, &ProjectInput{Name: "box", Environment: &model.ProjectEnvironment{Type: model.EnvLinuxContainer, Image: "i", ComputeType: model.ComputeLambda4}})
	wantInvalid(t, err, model.ComputeLambda4)

	_, err = s.StartBuild(ctx, &StartBuildInput{ProjectName: "box", ComputeTypeOverride: model.ComputeLambda1})
	wantInvalid(t, err, model.ComputeLambda1)
	_, err = s.StartBuild(ctx, &StartBuildInput{ProjectName: "lambda", EnvironmentTypeOverride: model.EnvLinuxContainer})
	wantInvalid(t, err, model.EnvLinuxContainer)
	if len(q.submitted) != 0 {
		t.Fatalf("refused builds were submitted: %v", q.submitted)
	}
	// Overriding both together is fine, and so is any pair on a fleet.
	out, err := s.StartBuild(ctx, &StartBuildInput{ProjectName: "box", ComputeTypeOverride: model.ComputeLambda1, EnvironmentTypeOverride: model.EnvLinuxLambdaContainer})
	if err != nil {
		t.Fatal(err)
	}
	if e := out.Build.Environment; e.Type != model.EnvLinuxLambdaContainer || e.ComputeType != model.ComputeLambda1 {
		t.Errorf("build environment %s %s, want the overrides", e.Type, e.ComputeType)
	}
	// On a fleet the build's environment and compute are the fleet's.
	missing := &model.ProjectFleet{FleetArn: "arn:aws:codebuild:us-east-1:000000000000:fleet/f:00000000-0000-4000-8000-000000000000"}
	_, err = s.StartBuild(ctx, &StartBuildInput{ProjectName: "box", FleetOverride: missing})
	if e, ok := awsapi.AsError(err); !ok || e.Code != "ResourceNotFoundException" || !strings.Contains(e.Message, missing.FleetArn) {
		t.Fatalf("unknown fleet: %v", err)
	}
	f, err := s.CreateFleet(ctx, &FleetInput{Name: "medium", BaseCapacity: ptr(1), EnvironmentType: model.EnvLinuxContainer, ComputeType: model.ComputeMedium})
	if err != nil {
		t.Fatal(err)
	}
	fleet := &model.ProjectFleet{FleetArn: f.Fleet.Arn}
	out, err = s.StartBuild(ctx, &StartBuildInput{ProjectName: "box", ComputeTypeOverride: model.ComputeLambda1, FleetOverride: fleet})
	if err != nil {
		t.Fatal(err)
	}
	if e := out.Build.Environment; e.Fleet == nil || e.Fleet.FleetArn != fleet.FleetArn || e.ComputeType != model.ComputeMedium || e.Type != model.EnvLinuxContainer {
		t.Errorf("build environment %+v, want fleet %s's", e, fleet.FleetArn)
	}
	if len(q.submitted) != 2 {
		t.Errorf("submitted %v, want 2 builds", q.submitted)
	}
}
