package runner

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/logstore"
)

// Credentials gives builds the credentials of their project's service
// role, as CodeBuild does: it assumes the role for the build and serves
// the session to it through a container credentials endpoint, which the
// AWS SDKs and CLI inside the build use by themselves.
type Credentials interface {
	// Issue assumes the build's role. The error is a *CredentialsError when
	// the role cannot be assumed (the build fails with CLIENT_ERROR);
	// anything else is a failure of the runner.
	Issue(ctx context.Context, req CredentialsRequest) (*BuildCredentials, error)
}

// CredentialsRequest asks for a build's credentials.
type CredentialsRequest struct {
	// Build is the build's UUID; the endpoint serves it under that name.
	Build string
	// RoleArn is the project's service role, as the build record has it
	// (an ARN or a bare role name).
	RoleArn string
	// SessionName is the role session's name: AWSCodeBuild-<uuid>.
	SessionName string
	// Mask is called with the secret values of credentials issued later
	// (a long build's refreshed session), so that the log masks them too.
	Mask func(values ...string)
}

// BuildCredentials is what a build gets.
type BuildCredentials struct {
	// Env is added to the build's environment: the container credentials
	// endpoint and its token, the runner's endpoint.
	Env []string
	// Secrets are masked in the build's log: the access key id, secret,
	// session token and the endpoint's token.
	Secrets []string
	// Caller is the role session; variables are resolved as it.
	Caller awsapi.Caller
	// Release revokes every credential issued for the build; the runner
	// calls it when the build ends.
	Release func(ctx context.Context)
}

// CredentialsError is a role the build cannot assume.
type CredentialsError struct{ Message string }

func (e *CredentialsError) Error() string { return e.Message }

// buildCreds is a running build's credentials and what its log masks.
type buildCreds struct {
	issued *BuildCredentials

	mu      sync.Mutex
	secrets []string // credential values: the issued ones and later ones
}

// assumeRole gets the build its role's credentials (PROVISIONING, where
// CodeBuild assumes the service role). A role that does not exist or does
// not trust CodeBuild fails the build with CLIENT_ERROR, as a build on
// CodeBuild cannot start without its role.
func (run *buildRun) assumeRole(ctx context.Context) outcome {
	cfg := run.r.cfg
	if cfg.Credentials == nil {
		return succeeded
	}
	if run.b.ServiceRole == "" {
		return run.clientError("The build has no service role")
	}
	run.creds = &buildCreds{}
	bc, err := cfg.Credentials.Issue(ctx, CredentialsRequest{
		Build:       buildUUID(run.b),
		RoleArn:     run.b.ServiceRole,
		SessionName: "AWSCodeBuild-" + buildUUID(run.b),
		Mask:        run.maskMore,
	})
	var ce *CredentialsError
	switch {
	case errors.As(err, &ce):
		return run.clientError("%s", ce.Message)
	case err != nil:
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return fault("assume the service role %s: %v", run.b.ServiceRole, err)
	}
	run.creds.issued = bc
	run.creds.secrets = append(run.creds.secrets, bc.Secrets...)
	return succeeded
}

// credentialsEnv returns the variables the build's credentials add.
func (run *buildRun) credentialsEnv() []string {
	if run.creds == nil || run.creds.issued == nil {
		return nil
	}
	return run.creds.issued.Env
}

// asRole returns ctx acting as the build's role session, so that
// parameter-store and secrets-manager variables are resolved with the
// role's rights, as CodeBuild resolves them.
func (run *buildRun) asRole(ctx context.Context) context.Context {
	if run.creds == nil || run.creds.issued == nil {
		return ctx
	}
	return awsapi.WithCaller(ctx, run.creds.issued.Caller)
}

// maskMore adds secret values to what the build's log masks (a refreshed
// session's credentials); the endpoint calls it from its own goroutine.
func (run *buildRun) maskMore(values ...string) {
	c := run.creds
	c.mu.Lock()
	defer c.mu.Unlock()
	c.secrets = append(c.secrets, values...)
	run.setMasker()
}

// setMasker (re)builds the log's masker from the resolved variable values
// and the credential values. Callers hold creds.mu when creds is set.
func (run *buildRun) setMasker() {
	all := append([]string(nil), run.secrets...)
	if run.creds != nil {
		all = append(all, run.creds.secrets...)
	}
	if run.log != nil && len(all) > 0 {
		run.log.SetMasker(logstore.NewMasker(all...))
	}
}

// maskSecrets masks the log with the variable values resolved so far and
// the build's credentials.
func (run *buildRun) maskSecrets() {
	if run.creds == nil {
		run.setMasker()
		return
	}
	run.creds.mu.Lock()
	defer run.creds.mu.Unlock()
	run.setMasker()
}

// maskValue masks secrets in a value leaving the build through the API
// (exported variables), as the log masks them.
func (run *buildRun) maskValue(v string) string {
	all := append([]string(nil), run.secrets...)
	if run.creds != nil {
		run.creds.mu.Lock()
		all = append(all, run.creds.secrets...)
		run.creds.mu.Unlock()
	}
	if len(all) == 0 {
		return v
	}
	return logstore.NewMasker(all...).MaskString(v)
}

// releaseCredentials revokes the build's credentials: they die with it.
func (run *buildRun) releaseCredentials() {
	if run.creds == nil || run.creds.issued == nil || run.creds.issued.Release == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(run.saveCtx), 10*time.Second)
	defer cancel()
	run.creds.issued.Release(ctx)
}

// awsEndpointShim makes `aws` in a build (and in the bash scripts it runs)
// pass --endpoint-url "$AWS_ENDPOINT_URL": aws CLIs older than that variable
// (2023; Debian 12 ships 2.9, which is what a host-sandbox build finds)
// ignore it and would call real AWS. Newer CLIs get the same URL either way;
// `command aws` bypasses it.
const awsEndpointShim = `aws() {
	if [ -n "${AWS_ENDPOINT_URL-}" ]; then command aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; else command aws "$@"; fi
}
export -f aws`

// bashShell reports whether a buildspec's env.shell is bash (the default),
// the only shell that passes functions on to child scripts.
func bashShell(shell string) bool {
	return shell == "" || shell == "bash" || filepath.Base(shell) == "bash"
}
