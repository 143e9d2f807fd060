package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

// CreateProject makes a NO_SOURCE project with an inline buildspec.
func CreateProject(t testing.TB, cb *codebuild.Client, name, spec string) {
	t.Helper()
	_, err := cb.CreateProject(context.Background(), &codebuild.CreateProjectInput{
		Name:        aws.String(name),
		Source:      &types.ProjectSource{Type: types.SourceTypeNoSource, Buildspec: aws.String(spec)},
		Artifacts:   &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts},
		Environment: &types.ProjectEnvironment{Type: types.EnvironmentTypeLinuxContainer, Image: aws.String("aws/codebuild/amazonlinux2-x86_64-standard:5.0"), ComputeType: types.ComputeTypeBuildGeneral1Small},
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/hangar-test"),
	})
	if err != nil {
		t.Fatalf("create project %s: %v", name, err)
	}
}

// WaitBuild polls a build until it is complete.
func WaitBuild(t testing.TB, cb *codebuild.Client, id string, timeout time.Duration) types.Build {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, err := cb.BatchGetBuilds(context.Background(), &codebuild.BatchGetBuildsInput{Ids: []string{id}})
		if err != nil {
			t.Fatalf("batch get builds: %v", err)
		}
		if len(out.Builds) != 1 {
			t.Fatalf("build %s not found", id)
		}
		b := out.Builds[0]
		if b.BuildComplete {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("build %s not complete after %v: phase %s", id, timeout, aws.ToString(b.CurrentPhase))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BuildLog reads a build's whole log, one string per event.
func BuildLog(t testing.TB, r *Runner, b types.Build) []string {
	t.Helper()
	var lines []string
	var token *string
	for {
		out, err := r.Logs().GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{
			LogGroupName:  b.Logs.GroupName,
			LogStreamName: b.Logs.StreamName,
			StartFromHead: aws.Bool(true),
			NextToken:     token,
		})
		if err != nil {
			t.Fatalf("get log events: %v", err)
		}
		for _, e := range out.Events {
			lines = append(lines, strings.TrimSuffix(aws.ToString(e.Message), "\n"))
		}
		if token != nil && aws.ToString(out.NextForwardToken) == *token {
			return lines
		}
		token = out.NextForwardToken
	}
}

func TestBuildRunsAndLogs(t *testing.T) {
	r := StartRunner(t)
	cb := r.CodeBuild()
	CreateProject(t, cb, "hello", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hello from $CODEBUILD_BUILD_ID\n")
	out, err := cb.StartBuild(context.Background(), &codebuild.StartBuildInput{ProjectName: aws.String("hello")})
	if err != nil {
		t.Fatal(err)
	}
	b := WaitBuild(t, cb, aws.ToString(out.Build.Id), 30*time.Second)
	if b.BuildStatus != types.StatusTypeSucceeded {
		t.Fatalf("status %s, phases %+v\nlog:\n%s", b.BuildStatus, b.Phases, strings.Join(BuildLog(t, r, b), "\n"))
	}
	log := BuildLog(t, r, b)
	want := "hello from " + aws.ToString(b.Id)
	found := false
	for _, l := range log {
		if l == want {
			found = true
		}
	}
	if !found {
		t.Fatalf("log lacks %q:\n%s", want, strings.Join(log, "\n"))
	}
}
