package server

import (
	"context"

	"github.com/hangarci/hangar/internal/authz"
	"github.com/hangarci/hangar/internal/service/secretsmanager"
	"github.com/hangarci/hangar/internal/service/ssm"
)

// roleParams resolves a build's parameter-store variables with the rights
// of the build's role session (the caller the runner puts in ctx), as
// CodeBuild calls ssm:GetParameters with the service role: a role that may
// not read a parameter fails the build with AWS's AccessDeniedException.
type roleParams struct {
	svc   *ssm.Service
	authz *authz.Authorizer
}

func (p roleParams) Resolve(ctx context.Context, names []string) (map[string]string, []string, error) {
	d, err := p.authz.CheckParameters(ctx, names)
	if err != nil {
		return nil, nil, err
	}
	if d != nil {
		return nil, nil, accessDenied{d.Message()}
	}
	return p.svc.Resolve(ctx, names)
}

// roleSecrets resolves secrets-manager variables the same way, with
// secretsmanager:GetSecretValue.
type roleSecrets struct {
	svc   *secretsmanager.Service
	authz *authz.Authorizer
}

func (s roleSecrets) Resolve(ctx context.Context, ref string) (string, error) {
	r, err := secretsmanager.ParseSecretRef(ref)
	if err != nil {
		return s.svc.Resolve(ctx, ref) // the same error, in the service's words
	}
	d, err := s.authz.CheckSecret(ctx, r.SecretID)
	if err != nil {
		return "", err
	}
	if d != nil {
		return "", accessDenied{d.Message()}
	}
	return s.svc.Resolve(ctx, ref)
}

// accessDenied is a refusal as a build's phase context shows it:
// "AccessDeniedException: User: … is not authorized to perform: …".
type accessDenied struct{ msg string }

func (e accessDenied) Error() string { return "AccessDeniedException: " + e.msg }
