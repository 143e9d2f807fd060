package remote

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

func TestCommandStatus(t *testing.T) {
	for _, c := range []struct {
		msg  string
		want int
		ok   bool
	}{
		{"Error while executing command: sh -c 'exit 7'. Reason: exit status 7", 7, true},
		{"Error while executing command: false. Reason: exit status 1", 1, true},
		{"Error while executing command: exit 255. Reason: exit status 255", 255, true},
		{"Error while executing command: make. Reason: exit status 2 (out of memory: the build used more than the BUILD_GENERAL1_SMALL memory limit of 3072 MB)", 2, true},
		// The command's own text cannot fool the parser.
		{"Error while executing command: echo 'Reason: exit status 3'. Reason: exit status 9", 9, true},
		{"Error while executing command: echo Reason: exit status 3. Reason: exit status 12", 12, true},
		{"Error while executing command: x. Reason: exit status 0", 0, false},
		{"Error while executing command: x. Reason: exit status 256", 0, false},
		{"Error while executing command: x. Reason: exit status 99999999999", 0, false},
		{"YAML_FILE_ERROR: stat /codebuild/output/src/buildspec.yml: no such file or directory", 0, false},
		{"", 0, false},
	} {
		got, ok := CommandStatus(c.msg)
		if got != c.want || ok != c.ok {
			t.Errorf("CommandStatus(%q) = %d, %v; want %d, %v", c.msg, got, ok, c.want, c.ok)
		}
	}
}

func phase(typ types.BuildPhaseType, status types.StatusType, code, msg string) types.BuildPhase {
	p := types.BuildPhase{PhaseType: typ, PhaseStatus: status}
	if code != "" || msg != "" {
		p.Contexts = []types.PhaseContext{{StatusCode: aws.String(code), Message: aws.String(msg)}}
	}
	return p
}

func TestExitCode(t *testing.T) {
	ok := func(typ types.BuildPhaseType) types.BuildPhase { return phase(typ, types.StatusTypeSucceeded, "", "") }
	for _, c := range []struct {
		name string
		b    types.Build
		want int
	}{
		{"succeeded", types.Build{BuildStatus: types.StatusTypeSucceeded}, 0},
		{"failed with status", types.Build{BuildStatus: types.StatusTypeFailed, Phases: []types.BuildPhase{
			ok(types.BuildPhaseTypeSubmitted), ok(types.BuildPhaseTypeInstall),
			phase(types.BuildPhaseTypeBuild, types.StatusTypeFailed, "COMMAND_EXECUTION_ERROR", "Error while executing command: sh -c 'exit 7'. Reason: exit status 7"),
			ok(types.BuildPhaseTypePostBuild),
		}}, 7},
		{"first failing command wins", types.Build{BuildStatus: types.StatusTypeFailed, Phases: []types.BuildPhase{
			phase(types.BuildPhaseTypeBuild, types.StatusTypeFailed, "COMMAND_EXECUTION_ERROR", "Error while executing command: a. Reason: exit status 3"),
			phase(types.BuildPhaseTypePostBuild, types.StatusTypeFailed, "COMMAND_EXECUTION_ERROR", "Error while executing command: b. Reason: exit status 4"),
		}}, 3},
		{"failed, no status (bad buildspec)", types.Build{BuildStatus: types.StatusTypeFailed, Phases: []types.BuildPhase{
			phase(types.BuildPhaseTypeDownloadSource, types.StatusTypeFailed, "YAML_FILE_ERROR", "stat buildspec.yml: no such file or directory"),
		}}, 1},
		{"failed, no phases", types.Build{BuildStatus: types.StatusTypeFailed}, 1},
		{"timed out", types.Build{BuildStatus: types.StatusTypeTimedOut, Phases: []types.BuildPhase{
			phase(types.BuildPhaseTypeBuild, types.StatusTypeTimedOut, "BUILD_TIMED_OUT", "Build has timed out."),
		}}, 124},
		{"stopped", types.Build{BuildStatus: types.StatusTypeStopped}, 143},
		{"fault", types.Build{BuildStatus: types.StatusTypeFault}, 125},
		{"in progress", types.Build{BuildStatus: types.StatusTypeInProgress}, 125},
	} {
		if got := ExitCode(c.b); got != c.want {
			t.Errorf("%s: ExitCode = %d, want %d", c.name, got, c.want)
		}
	}
}
