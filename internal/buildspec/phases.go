package buildspec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hangarci/hangar/internal/model"
)

// PhaseNames returns the buildspec phases in run order: INSTALL,
// PRE_BUILD, BUILD, POST_BUILD. It is an array so no caller can change the
// order for everyone else.
func PhaseNames() [4]string {
	return [4]string{model.PhaseInstall, model.PhasePreBuild, model.PhaseBuild, model.PhasePostBuild}
}

// phaseKey returns a phase's key under phases ("pre_build"), or "" when
// name is not a buildspec phase.
func phaseKey(name string) string {
	for _, n := range PhaseNames() {
		if n == name {
			return strings.ToLower(name)
		}
	}
	return ""
}

// phaseForKey maps a key under phases to the phase's name.
func phaseForKey(key string) (string, bool) {
	for _, n := range PhaseNames() {
		if strings.ToLower(n) == key {
			return n, true
		}
	}
	return "", false
}

// Action is the on-failure action of a phase.
type Action string

// On-failure actions; ActionDefault means on-failure is not set.
const (
	ActionDefault  Action = ""
	ActionAbort    Action = "ABORT"
	ActionContinue Action = "CONTINUE"
	ActionRetry    Action = "RETRY"
)

// Retry limits from the buildspec reference.
const (
	DefaultRetryCount = 3
	MaxRetryCount     = 100
)

// OnFailure is a parsed on-failure value.
type OnFailure struct {
	Action     Action
	RetryCount int            // RETRY only: retries allowed
	RetryMatch *regexp.Regexp // RETRY only: nil retries on any error message
	Value      string         // as written
}

// ShouldRetry reports whether a phase that failed with message, after
// retries retries already made, is retried.
func (o OnFailure) ShouldRetry(retries int, message string) bool {
	if o.Action != ActionRetry || retries >= o.RetryCount {
		return false
	}
	return o.RetryMatch == nil || o.RetryMatch.MatchString(message)
}

// ParseOnFailure parses ABORT, CONTINUE, RETRY, RETRY-<count>,
// RETRY-<regex> and RETRY-<count>-<regex>. An all-digit suffix is a count
// (0–100), so a regex that is only digits needs a count in front.
func ParseOnFailure(v string) (OnFailure, error) {
	o := OnFailure{Value: v}
	switch v {
	case "ABORT":
		o.Action = ActionAbort
		return o, nil
	case "CONTINUE":
		o.Action = ActionContinue
		return o, nil
	case "RETRY":
		o.Action, o.RetryCount = ActionRetry, DefaultRetryCount
		return o, nil
	}
	rest, ok := strings.CutPrefix(v, "RETRY-")
	if !ok || rest == "" {
		return OnFailure{}, fmt.Errorf("unknown action")
	}
	o.Action, o.RetryCount = ActionRetry, DefaultRetryCount
	countText, pattern, hasPattern := strings.Cut(rest, "-")
	if isDigits(countText) {
		n, err := strconv.Atoi(countText)
		if err != nil || n > MaxRetryCount {
			return OnFailure{}, fmt.Errorf("retry count %s is over %d", countText, MaxRetryCount)
		}
		o.RetryCount = n
		if !hasPattern {
			return o, nil
		}
	} else {
		pattern = rest
	}
	if pattern == "" {
		return OnFailure{}, fmt.Errorf("empty retry pattern")
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return OnFailure{}, fmt.Errorf("retry pattern: %w", err)
	}
	o.RetryMatch = re
	return o, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// phaseOrder is every phase in run order up to FINALIZING.
func phaseOrder() [10]string {
	return [10]string{
		model.PhaseSubmitted, model.PhaseQueued, model.PhaseProvisioning, model.PhaseDownloadSource,
		model.PhaseInstall, model.PhasePreBuild, model.PhaseBuild, model.PhasePostBuild,
		model.PhaseUploadArtifacts, model.PhaseFinalizing,
	}
}

// NextPhase returns the phase that runs after name succeeded. "" means the
// build goes on to FINALIZING (which always runs, then COMPLETED): after
// UPLOAD_ARTIFACTS, and for FINALIZING, COMPLETED or an unknown name.
func NextPhase(name string) string {
	order := phaseOrder()
	for i, n := range order {
		if n == name && i+1 < len(order) && order[i+1] != model.PhaseFinalizing {
			return order[i+1]
		}
	}
	return ""
}

// NextPhaseAfterFailure returns the phase that runs after name failed,
// given its on-failure setting (the zero OnFailure for phases that are not
// buildspec phases, and for RETRY once retries are used up). "" means
// FINALIZING, as for NextPhase. The rules (reference §3.3):
//
//	SUBMITTED … DOWNLOAD_SOURCE → FINALIZING
//	INSTALL, PRE_BUILD          → FINALIZING
//	BUILD                       → POST_BUILD (then UPLOAD_ARTIFACTS)
//	POST_BUILD                  → UPLOAD_ARTIFACTS
//	UPLOAD_ARTIFACTS            → FINALIZING
//	on-failure: CONTINUE        → the next phase, as on success
//	on-failure: ABORT           → FINALIZING: no more buildspec phases, no upload
func NextPhaseAfterFailure(name string, o OnFailure) string {
	if phaseKey(name) != "" {
		switch o.Action {
		case ActionContinue:
			return NextPhase(name)
		case ActionAbort:
			return ""
		}
	}
	switch name {
	case model.PhaseBuild:
		return model.PhasePostBuild
	case model.PhasePostBuild:
		return model.PhaseUploadArtifacts
	}
	return ""
}
