package main

// TEMPORARY shim: stands in for bootstrap.Ensure (internal/bootstrap, being
// written by another engineer) with the same signature, so `hangar run`
// works until it lands. It only makes what a run needs (the bucket and the
// projects) when they are missing. Delete this file and call
// bootstrap.Ensure in run.go once it exists.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/hangarci/hangar/internal/config"
	"github.com/hangarci/hangar/internal/envrules"
	"github.com/hangarci/hangar/internal/target"
)

// shimResources mirrors bootstrap.Resources.
type shimResources struct {
	Bucket, Project, LambdaProject, FleetArn string
}

func bootstrapEnsure(ctx context.Context, t *target.Target, cfg *config.Config, out io.Writer) (*shimResources, error) {
	res := &shimResources{Project: cfg.ProjectName()}
	if cfg.CodeBuild.Lambda.Enable {
		res.LambdaProject = cfg.LambdaProjectName()
	}
	ns := strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(cfg.Namespace()))
	res.Bucket = fmt.Sprintf("%s-000000000000-%s", ns, cfg.Region)
	s3c := t.S3()
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(res.Bucket)}); err != nil {
		_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(res.Bucket)})
		var owned *s3types.BucketAlreadyOwnedByYou
		if err != nil && !errors.As(err, &owned) {
			return nil, fmt.Errorf("create bucket %s: %w", res.Bucket, err)
		}
		fmt.Fprintf(out, "hangar: created bucket %s\n", res.Bucket)
	}
	names := []string{res.Project}
	if res.LambdaProject != "" {
		names = append(names, res.LambdaProject)
	}
	cb := t.CodeBuild()
	got, err := cb.BatchGetProjects(ctx, &codebuild.BatchGetProjectsInput{Names: names})
	if err != nil {
		return nil, fmt.Errorf("get projects: %w", err)
	}
	have := map[string]bool{}
	for _, p := range got.Projects {
		have[aws.ToString(p.Name)] = true
	}
	rules, err := envrules.New(cfg.EnvSpec())
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if have[name] {
			continue
		}
		env := cfg.Environment()
		if name == res.LambdaProject {
			env = cfg.LambdaEnvironment()
		}
		in := &codebuild.CreateProjectInput{
			Name:      aws.String(name),
			Source:    &cbtypes.ProjectSource{Type: cbtypes.SourceTypeNoSource, Buildspec: aws.String("version: 0.2\nphases:\n  build:\n    commands:\n      - uname -a\n")},
			Artifacts: &cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeNoArtifacts},
			Environment: &cbtypes.ProjectEnvironment{
				ComputeType:          cbtypes.ComputeType(fmt.Sprint(env["computeType"])),
				Image:                aws.String(fmt.Sprint(env["image"])),
				Type:                 cbtypes.EnvironmentType(fmt.Sprint(env["type"])),
				EnvironmentVariables: envrules.SDK(rules.ProjectVars()),
			},
			ServiceRole: aws.String("arn:aws:iam::000000000000:role/" + cfg.Namespace() + "-codebuild-role"),
		}
		if name == res.Project {
			in.TimeoutInMinutes = aws.Int32(int32(cfg.CodeBuild.Project.TimeoutInMinutes))
		}
		if _, err := cb.CreateProject(ctx, in); err != nil {
			return nil, fmt.Errorf("create project %s: %w", name, err)
		}
		fmt.Fprintf(out, "hangar: created project %s\n", name)
	}
	return res, nil
}
