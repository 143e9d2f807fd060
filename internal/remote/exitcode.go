package remote

import (
	"regexp"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

// Exit codes of `hangar run` (DESIGN §3).
const (
	ExitSucceeded = 0
	ExitFailed    = 1   // FAILED with no command status to pass on
	ExitUsage     = 2   // config or usage error: nothing started
	ExitTimedOut  = 124 // TIMED_OUT, as timeout(1)
	ExitRunner    = 125 // FAULT, or the runner cannot be reached
	ExitDetached  = 130 // Ctrl-C: detached, the build goes on
	ExitStopped   = 143 // STOPPED, as a SIGTERM'd process
)

// exitStatusRE finds the command status in CodeBuild's phase context
// "Error while executing command: <cmd>. Reason: exit status <n>". The
// command itself may contain anything, so the last "Reason: exit status"
// counts; the runner may append a note in parentheses.
var exitStatusRE = regexp.MustCompile(`Reason: exit status (\d{1,10})(?:\s*\(.*\))?\s*$`)

// CommandStatus parses the failing command's exit status out of a phase
// context message; ok is false when the message carries none.
func CommandStatus(message string) (status int, ok bool) {
	m := exitStatusRE.FindStringSubmatch(message)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n < 1 || n > 255 {
		return 0, false
	}
	return n, true
}

// ExitCode maps a build's outcome to the exit code of `hangar run`:
// SUCCEEDED 0; FAILED the status of the first failing command found in
// the phases' contexts (1 when none says); TIMED_OUT 124; STOPPED 143;
// FAULT (and anything unknown) 125.
func ExitCode(b types.Build) int {
	switch b.BuildStatus {
	case types.StatusTypeSucceeded:
		return ExitSucceeded
	case types.StatusTypeFailed:
		if _, n, ok := FailedCommand(b); ok {
			return n
		}
		return ExitFailed
	case types.StatusTypeTimedOut:
		return ExitTimedOut
	case types.StatusTypeStopped:
		return ExitStopped
	default:
		return ExitRunner
	}
}

// FailedCommand returns the first failed phase whose context names a
// command's exit status, and that status.
func FailedCommand(b types.Build) (types.BuildPhase, int, bool) {
	for _, p := range b.Phases {
		if p.PhaseStatus != types.StatusTypeFailed {
			continue
		}
		for _, c := range p.Contexts {
			if c.Message == nil {
				continue
			}
			if n, ok := CommandStatus(*c.Message); ok {
				return p, n, true
			}
		}
	}
	return types.BuildPhase{}, 0, false
}
