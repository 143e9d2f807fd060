package runner

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hangarci/hangar/internal/buildspec"
	"github.com/hangarci/hangar/internal/model"
)

// basePath is the PATH builds start with.
const basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// environment returns the shell's environment: buildspec variables, then
// project variables, then StartBuild overrides (each wins over the one
// before, as on CodeBuild), then the built-in CODEBUILD_* variables.
// Parameter-store and secrets-manager values are resolved here, at build
// start, and masked in the log from now on.
func (run *buildRun) environment(ctx context.Context, spec *buildspec.Spec, p paths) ([]string, outcome) {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	set("PATH", basePath)
	set("HOME", p.home)
	set("LANG", "C.UTF-8")

	// Every variable in precedence order, lowest first: the buildspec's,
	// then the build's (project variables with the StartBuild overrides
	// already applied). References are resolved before any is set.
	type entry struct{ name, value, typ string }
	var entries []entry
	for _, kv := range spec.Env.Variables {
		entries = append(entries, entry{kv.Name, kv.Value, model.EnvPlaintext})
	}
	for _, kv := range spec.Env.ParameterStore {
		entries = append(entries, entry{kv.Name, kv.Value, model.EnvParameterStore})
	}
	for _, kv := range spec.Env.SecretsManager {
		entries = append(entries, entry{kv.Name, kv.Value, model.EnvSecretsManager})
	}
	buildVars := 0 // the last buildVars entries are the build's (project + overrides)
	if e := run.b.Environment; e != nil {
		for _, v := range e.EnvironmentVariables {
			entries = append(entries, entry{v.Name, v.Value, v.Type})
		}
		buildVars = len(e.EnvironmentVariables)
	}
	var paramNames []string
	for _, e := range entries {
		if e.typ == model.EnvParameterStore {
			paramNames = append(paramNames, e.value)
		}
	}
	var params map[string]string
	if len(paramNames) > 0 {
		run.agent("Decrypting parameter store environment variables")
		vals, missing, err := run.r.cfg.Params.Resolve(run.asRole(ctx), dedupe(paramNames))
		if err != nil {
			return nil, outcome{model.StatusFailed, codeParams, err.Error()}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return nil, outcome{model.StatusFailed, codeParams, "parameter does not exist: " + missing[0]}
		}
		params = vals
	}
	for i, e := range entries {
		switch e.typ {
		case model.EnvParameterStore:
			entries[i].value = params[e.value]
		case model.EnvSecretsManager:
			v, err := run.r.cfg.Secrets.Resolve(run.asRole(ctx), e.value)
			if err != nil {
				return nil, outcome{model.StatusFailed, codeSecrets, err.Error()}
			}
			entries[i].value = v
		default:
			continue
		}
		run.secrets = append(run.secrets, entries[i].value)
	}
	run.maskSecrets()
	for _, e := range entries {
		set(e.name, e.value)
	}
	// CodeBuild does not export Parameter Store and Secrets Manager
	// variables of the build project (StartBuild overrides are the same
	// list); the buildspec's own parameter-store and secrets-manager names
	// may be exported. The entry that won decides.
	run.noExport = map[string]bool{}
	for i, e := range entries {
		run.noExport[e.name] = i >= len(entries)-buildVars && e.typ != model.EnvPlaintext && e.typ != ""
	}

	b := run.b
	builtins := [][2]string{
		{"AWS_REGION", run.r.cfg.Names.Region},
		{"AWS_DEFAULT_REGION", run.r.cfg.Names.Region},
		{"CODEBUILD_BUILD_ARN", b.Arn},
		{"CODEBUILD_BUILD_ID", b.ID},
		{"CODEBUILD_BUILD_NUMBER", strconv.FormatInt(b.BuildNumber, 10)},
		{"CODEBUILD_BUILD_SUCCEEDING", "1"},
		{"CODEBUILD_INITIATOR", b.Initiator},
		{"CODEBUILD_KMS_KEY_ID", b.EncryptionKey},
		{"CODEBUILD_LOG_PATH", b.Logs.StreamName},
		{"CODEBUILD_SRC_DIR", p.src},
		{"CODEBUILD_START_TIME", strconv.FormatInt(b.StartTime.UnixMilli(), 10)},
	}
	if e := b.Environment; e != nil {
		builtins = append(builtins, [2]string{"CODEBUILD_BUILD_IMAGE", e.Image})
	}
	if s := b.Source; s != nil && s.Type == model.SourceS3 {
		builtins = append(builtins, [2]string{"CODEBUILD_SOURCE_REPO_URL", "s3://" + s.Location})
		builtins = append(builtins, [2]string{"CODEBUILD_SOURCE_VERSION", "arn:aws:s3:::" + s.Location})
	} else if b.SourceVersion != "" {
		builtins = append(builtins, [2]string{"CODEBUILD_SOURCE_VERSION", b.SourceVersion})
	}
	for _, kv := range builtins {
		set(kv[0], kv[1])
	}
	// The role's credentials endpoint and the runner's own endpoint, so
	// the aws CLI and SDKs in the build reach the runner as the role.
	for _, kv := range run.credentialsEnv() {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, fmt.Sprintf("%s=%s", k, vars[k]))
	}
	return env, succeeded
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
