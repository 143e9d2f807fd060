package envrules

import (
	"fmt"
	"strings"

	"github.com/hangarci/hangar/internal/model"
)

// Classify returns the CodeBuild type a value gets and the value to send.
//
// A value whose text before the first ':' is SSM or PARAMETER_STORE (ASCII,
// any case) names a Parameter Store parameter; SECRET or SECRETS_MANAGER
// names a Secrets Manager secret. The prefix and its colon are stripped and
// nothing else is rewritten (no /<project>/<env>/ is added). Every other
// value — including a bare "SSM" with no colon, which Jets would also treat
// as a reference — is PLAINTEXT and unchanged.
func Classify(value string) (typ, rest string) {
	prefix, rest, ok := strings.Cut(value, ":")
	if !ok {
		return model.EnvPlaintext, value
	}
	// ASCII-only folding: strings.EqualFold would also accept "ſsm" (U+017F),
	// which nobody means as a reference.
	switch asciiUpper(prefix) {
	case "SSM", "PARAMETER_STORE":
		return model.EnvParameterStore, rest
	case "SECRET", "SECRETS_MANAGER":
		return model.EnvSecretsManager, rest
	}
	return model.EnvPlaintext, value
}

// Typed builds the CodeBuild variable for name=value, typed by Classify. A
// reference with nothing after the prefix ("SSM:") is an error: CodeBuild
// would fail the build later with a less helpful message.
func Typed(name, value string) (model.EnvironmentVariable, error) {
	if err := checkName(name); err != nil {
		return model.EnvironmentVariable{}, err
	}
	typ, v := Classify(value)
	if typ != model.EnvPlaintext && v == "" {
		return model.EnvironmentVariable{}, fmt.Errorf("%s: %q names no %s", name, value, kindOf(typ))
	}
	return model.EnvironmentVariable{Name: name, Value: v, Type: typ}, nil
}

func kindOf(typ string) string {
	if typ == model.EnvSecretsManager {
		return "secret"
	}
	return "parameter"
}

func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("empty variable name")
	}
	if strings.ContainsAny(name, "=\x00") {
		return fmt.Errorf("%q is not a variable name (contains '=' or NUL)", name)
	}
	return nil
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// Names Hangar sets on every build it starts. The client that starts a build
// passes their values in Input.Runner.
const (
	// SourceVar says where the build's source snapshot is.
	SourceVar = "HANGAR_SOURCE"
	// RunIDVar ties a build to the hangar invocation that started it.
	RunIDVar = "HANGAR_RUN_ID"
)

// RunnerOwned reports whether name belongs to the runner: a local value of
// that name is never passed, however the rules read, and no block rule
// removes the runner's own value.
//
//   - HANGAR_SOURCE, HANGAR_RUN_ID: set by Hangar for each build.
//   - CODEBUILD_*: reserved by CodeBuild; StartBuild rejects such overrides,
//     and running hangar inside a CodeBuild build would otherwise forward them.
//   - AWS_CONTAINER_CREDENTIALS_*, AWS_CONTAINER_AUTHORIZATION_TOKEN: how a
//     build gets its role's credentials; a forwarded local value (hangar run
//     inside ECS or CodeBuild) would hijack them.
func RunnerOwned(name string) bool {
	switch name {
	case SourceVar, RunIDVar,
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN":
		return true
	}
	return strings.HasPrefix(name, "CODEBUILD_")
}

// RunnerOwnedNames lists the fixed runner-owned names (RunnerOwned also
// covers every CODEBUILD_ name).
func RunnerOwnedNames() []string {
	return []string{
		"AWS_CONTAINER_AUTHORIZATION_TOKEN",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"CODEBUILD_*",
		SourceVar,
		RunIDVar,
	}
}
