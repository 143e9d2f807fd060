package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/hangarci/hangar/internal/target"
)

// env is a runner started for one benchmark, on a fresh state dir.
type env struct {
	state    string
	endpoint string
	pprof    string // base URL of the runner's profiles, when started with --pprof
	cmd      *exec.Cmd
	cfg      aws.Config
}

func startEnv(ctx context.Context, bin string, args ...string) (*env, error) {
	state, err := os.MkdirTemp("", "hangarbench-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"server", "--listen", "127.0.0.1:0", "--state", state, "--log-level", "warn"}, args...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s server: %w", bin, err)
	}
	e := &env{state: state, cmd: cmd}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "pprof: "); ok {
			e.pprof = p
		}
		if ep, ok := strings.CutPrefix(sc.Text(), "endpoint: "); ok {
			e.endpoint = ep
			break
		}
	}
	if e.endpoint == "" {
		e.close()
		return nil, fmt.Errorf("runner did not print its endpoint")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	e.cfg, err = config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithSharedCredentialsFiles([]string{filepath.Join(state, "credentials")}),
		config.WithSharedConfigFiles([]string{}),
		config.WithBaseEndpoint(e.endpoint),
	)
	if err != nil {
		e.close()
		return nil, err
	}
	e.cfg.HTTPClient = target.WrapHTTPClient(e.cfg.HTTPClient)
	return e, nil
}

func (e *env) close() {
	if e.cmd != nil && e.cmd.Process != nil {
		e.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { e.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			e.cmd.Process.Kill()
		}
	}
	os.RemoveAll(e.state)
}

func (e *env) codebuild() *codebuild.Client { return codebuild.NewFromConfig(e.cfg) }
func (e *env) logs() *cloudwatchlogs.Client { return cloudwatchlogs.NewFromConfig(e.cfg) }

// project creates a NO_SOURCE project with an inline buildspec, and the
// role its builds run as.
func (e *env) project(ctx context.Context, name, spec string) error {
	if err := ensureRole(ctx, e.cfg); err != nil {
		return err
	}
	_, err := e.codebuild().CreateProject(ctx, &codebuild.CreateProjectInput{
		Name:        aws.String(name),
		Source:      &types.ProjectSource{Type: types.SourceTypeNoSource, Buildspec: aws.String(spec)},
		Artifacts:   &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts},
		Environment: &types.ProjectEnvironment{Type: types.EnvironmentTypeLinuxContainer, Image: aws.String("aws/codebuild/amazonlinux2-x86_64-standard:5.0"), ComputeType: types.ComputeTypeBuildGeneral1Small},
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/bench"),
	})
	return err
}

// wait polls a build until it is complete.
func (e *env) wait(ctx context.Context, id string) (types.Build, error) {
	cb := e.codebuild()
	for {
		out, err := cb.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{id}})
		if err != nil {
			return types.Build{}, err
		}
		if len(out.Builds) == 1 && out.Builds[0].BuildComplete {
			return out.Builds[0], nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logLines reads a finished build's log.
func (e *env) logLines(ctx context.Context, b types.Build) ([]string, error) {
	var lines []string
	var token *string
	for {
		out, err := e.logs().GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: b.Logs.GroupName, LogStreamName: b.Logs.StreamName,
			StartFromHead: aws.Bool(true), NextToken: token,
		})
		if err != nil {
			return nil, err
		}
		for _, ev := range out.Events {
			lines = append(lines, strings.TrimSuffix(aws.ToString(ev.Message), "\n"))
		}
		if token != nil && aws.ToString(out.NextForwardToken) == *token {
			return lines, nil
		}
		token = out.NextForwardToken
	}
}
