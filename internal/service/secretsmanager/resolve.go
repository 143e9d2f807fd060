package secretsmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hangarci/hangar/internal/awsapi"
)

// SecretRef is a CodeBuild secrets-manager reference:
// secret-id[:json-key[:version-stage[:version-id]]].
type SecretRef struct {
	SecretID     string // a name, or a full or partial ARN
	JSONKey      string // "" for the whole SecretString
	VersionStage string // "" for AWSCURRENT (or whatever VersionID names)
	VersionID    string
}

// ParseSecretRef parses a CodeBuild secrets-manager reference. A secret-id
// that is an ARN has colons of its own: its first seven fields
// (arn:partition:secretsmanager:region:account:secret:name) are the id;
// secret names cannot hold colons, so the rest is unambiguous.
func ParseSecretRef(ref string) (SecretRef, error) {
	var r SecretRef
	var rest []string
	// Only a Secrets Manager ARN is taken for one: a secret may be named
	// "arn", and "arn:key" then means its key.
	if f := strings.SplitN(ref, ":", 8); len(f) > 2 && f[0] == "arn" && f[2] == "secretsmanager" {
		if len(f) < 7 || f[5] != "secret" || f[6] == "" {
			return r, fmt.Errorf("invalid secrets-manager reference %q: an ARN must be arn:aws:secretsmanager:<region>:<account>:secret:<name>", ref)
		}
		r.SecretID = strings.Join(f[:7], ":")
		if len(f) == 8 {
			rest = strings.Split(f[7], ":")
		}
	} else {
		f := strings.Split(ref, ":")
		r.SecretID, rest = f[0], f[1:]
	}
	if r.SecretID == "" {
		return r, fmt.Errorf("invalid secrets-manager reference %q: the secret id is empty", ref)
	}
	if len(rest) > 3 {
		return r, fmt.Errorf("invalid secrets-manager reference %q: want secret-id[:json-key[:version-stage[:version-id]]]", ref)
	}
	fields := []*string{&r.JSONKey, &r.VersionStage, &r.VersionID}
	for i, v := range rest {
		*fields[i] = v
	}
	return r, nil
}

// Resolve returns the value a CodeBuild secrets-manager reference names,
// for build variables: the SecretString of the version (AWSCURRENT unless
// the reference says otherwise), or one top-level key of it when the
// reference has a json-key. Errors name the secret (and key) and never the
// value; errors.Is(err, ErrNotFound) tells a missing secret, version or key
// apart from failures of the runner.
func (s *Service) Resolve(ctx context.Context, ref string) (string, error) {
	r, err := ParseSecretRef(ref)
	if err != nil {
		return "", err
	}
	out, err := s.getValue(ctx, r.SecretID, r.VersionID, r.VersionStage)
	if err != nil {
		if e, ok := awsapi.AsError(err); ok {
			return "", &resolveError{code: e.Code, msg: e.Message, id: r.SecretID}
		}
		return "", fmt.Errorf("resolve secret %s: %w", r.SecretID, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secret %s holds a binary value (SecretBinary); build variables can use only SecretString values", r.SecretID)
	}
	if r.JSONKey == "" {
		return *out.SecretString, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*out.SecretString), &obj); err != nil || obj == nil {
		return "", fmt.Errorf("secret %s: its value is not a JSON object, so key %q cannot be looked up in it", r.SecretID, r.JSONKey)
	}
	raw, ok := obj[r.JSONKey]
	if !ok {
		return "", fmt.Errorf("secret %s has no key %q in its JSON value: %w", r.SecretID, r.JSONKey, ErrNotFound)
	}
	// A string is used as it is; numbers, booleans, objects as their JSON.
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		return str, nil
	}
	if string(raw) == "null" {
		return "", nil
	}
	return string(raw), nil
}

// resolveError is a Secrets Manager refusal as a build log shows it,
// "<Exception>: <message>" as in CodeBuild's "Secrets Manager Error"
// context, plus the secret id so the user knows which reference failed.
type resolveError struct{ code, msg, id string }

func (e *resolveError) Error() string {
	return fmt.Sprintf("%s: %s (secret-id %s)", e.code, e.msg, e.id)
}

// Unwrap makes errors.Is(err, ErrNotFound) hold for a missing secret.
func (e *resolveError) Unwrap() error {
	if e.code == "ResourceNotFoundException" {
		return ErrNotFound
	}
	return nil
}
