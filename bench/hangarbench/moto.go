package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// moto is a moto_server (getmoto/moto's stand-alone server) on a free
// loopback port: the peer for the API round trip. It keeps builds in
// memory and runs none (BatchGetBuilds makes up their phases), so only
// the API calls compare.
type moto struct {
	cmd      *exec.Cmd
	cfg      aws.Config
	endpoint string
}

var motoListening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

func startMoto(ctx context.Context) (*moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("%w (install it with pip install 'moto[server]')", err)
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	// Hangar's account, so that the same role ARN passes moto's check that
	// a project's role is in the caller's account.
	cmd.Env = append(os.Environ(), "MOTO_ACCOUNT_ID=000000000000")
	// Its own process group: the pyenv shim execs python, and werkzeug
	// may start helpers; close ends them all.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	m := &moto{cmd: cmd}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() { // drained to the end, or werkzeug's request log blocks it
			if sub := motoListening.FindStringSubmatch(sc.Text()); sub != nil && !sent {
				found <- sub[1]
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	var endpoint string
	select {
	case endpoint = <-found:
	case <-time.After(30 * time.Second):
	}
	if endpoint == "" {
		m.close()
		return nil, fmt.Errorf("moto_server did not say where it listens")
	}
	m.endpoint = endpoint
	m.cfg = aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(endpoint),
	}
	return m, nil
}

func (m *moto) close() {
	if m.cmd.Process == nil {
		return
	}
	syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// benchRole is the service role of every benchmark project, in Hangar's
// account, which moto is started in too.
const benchRole = "arn:aws:iam::000000000000:role/bench"

// codebuildTrust lets CodeBuild assume the role.
const codebuildTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// ensureRole creates benchRole on a runner, which lets a build start only
// when CodeBuild may assume its project's role.
func ensureRole(ctx context.Context, cfg aws.Config) error {
	_, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("bench"),
		AssumeRolePolicyDocument: aws.String(codebuildTrust),
	})
	var exists *iamtypes.EntityAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("create role bench: %w", err)
	}
	return nil
}

// createProject creates a NO_SOURCE project that both servers accept
// (moto wants a source location even without a source; Hangar takes one).
func createProject(ctx context.Context, cfg aws.Config, name, spec string) error {
	_, err := codebuild.NewFromConfig(cfg).CreateProject(ctx, &codebuild.CreateProjectInput{
		Name:        aws.String(name),
		Source:      &types.ProjectSource{Type: types.SourceTypeNoSource, Location: aws.String("none"), Buildspec: aws.String(spec)},
		Artifacts:   &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts},
		Environment: &types.ProjectEnvironment{Type: types.EnvironmentTypeLinuxContainer, Image: aws.String("aws/codebuild/amazonlinux2-x86_64-standard:5.0"), ComputeType: types.ComputeTypeBuildGeneral1Small},
		ServiceRole: aws.String(benchRole),
	})
	return err
}
