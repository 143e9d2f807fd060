package buildspec

import (
	"reflect"
	"testing"

	"github.com/hangarci/hangar/internal/model"
)

func TestPhaseNames(t *testing.T) {
	got := PhaseNames()
	want := [4]string{"INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD"}
	if got != want {
		t.Fatalf("PhaseNames = %v", got)
	}
	keys := []string{"install", "pre_build", "build", "post_build"}
	for i, p := range got {
		if phaseKey(p) != keys[i] {
			t.Errorf("phaseKey(%s) = %q", p, phaseKey(p))
		}
		if back, ok := phaseForKey(keys[i]); !ok || back != p {
			t.Errorf("phaseForKey(%q) = %v %v", keys[i], back, ok)
		}
	}
	// The returned array is a copy.
	got[0] = "X"
	if PhaseNames()[0] != model.PhaseInstall {
		t.Error("PhaseNames shares state")
	}
	for _, p := range []string{model.PhaseSubmitted, model.PhaseDownloadSource, model.PhaseUploadArtifacts, model.PhaseFinalizing, "install", "NOPE"} {
		if phaseKey(p) != "" {
			t.Errorf("%s should not be a buildspec phase", p)
		}
	}
	if _, ok := phaseForKey("BUILD"); ok {
		t.Error("phase keys are lower case")
	}
}

func TestPhasesListAndGet(t *testing.T) {
	s := mustParse(t, "version: 0.2\nphases:\n  post_build:\n    commands: [c]\n  install:\n    commands: [a]\n")
	var names []string
	for _, p := range s.Phases.List() {
		names = append(names, p.Name)
		if p.Phase != s.Phases.Get(p.Name) || p.Phase.Name != p.Name {
			t.Errorf("List/Get disagree on %s", p.Name)
		}
	}
	if !reflect.DeepEqual(names, []string{"INSTALL", "POST_BUILD"}) {
		t.Errorf("List = %v", names)
	}
	if s.Phases.Get(model.PhaseBuild) != nil || s.Phases.Get(model.PhaseUploadArtifacts) != nil {
		t.Error("Get returned a phase the buildspec does not have")
	}
}

func TestNextPhase(t *testing.T) {
	chain := []string{
		model.PhaseSubmitted, model.PhaseQueued, model.PhaseProvisioning, model.PhaseDownloadSource, model.PhaseInstall,
		model.PhasePreBuild, model.PhaseBuild, model.PhasePostBuild, model.PhaseUploadArtifacts,
	}
	for i := 0; i+1 < len(chain); i++ {
		if got := NextPhase(chain[i]); got != chain[i+1] {
			t.Errorf("NextPhase(%s) = %s, want %s", chain[i], got, chain[i+1])
		}
	}
	// "" is FINALIZING's turn.
	for _, p := range []string{model.PhaseUploadArtifacts, model.PhaseFinalizing, model.PhaseCompleted, "NOPE"} {
		if got := NextPhase(p); got != "" {
			t.Errorf("NextPhase(%s) = %q, want \"\"", p, got)
		}
	}
}

func mustOnFailure(t *testing.T, v string) OnFailure {
	t.Helper()
	o, err := ParseOnFailure(v)
	if err != nil {
		t.Fatalf("ParseOnFailure(%q): %v", v, err)
	}
	return o
}

func TestNextPhaseAfterFailure(t *testing.T) {
	unset := OnFailure{}
	abort := mustOnFailure(t, "ABORT")
	cont := mustOnFailure(t, "CONTINUE")
	retry := mustOnFailure(t, "RETRY")
	const finalizing = "" // NextPhaseAfterFailure's "go to FINALIZING"
	tests := []struct {
		failed string
		of     OnFailure
		want   string
	}{
		// Default rules (reference §3.3).
		{model.PhaseSubmitted, unset, finalizing},
		{model.PhaseQueued, unset, finalizing},
		{model.PhaseProvisioning, unset, finalizing},
		{model.PhaseDownloadSource, unset, finalizing},
		{model.PhaseInstall, unset, finalizing},
		{model.PhasePreBuild, unset, finalizing},
		{model.PhaseBuild, unset, model.PhasePostBuild},
		{model.PhasePostBuild, unset, model.PhaseUploadArtifacts},
		{model.PhaseUploadArtifacts, unset, finalizing},
		{model.PhaseFinalizing, unset, finalizing},
		{"NOPE", unset, finalizing},
		// CONTINUE: on to the next phase.
		{model.PhaseInstall, cont, model.PhasePreBuild},
		{model.PhasePreBuild, cont, model.PhaseBuild},
		{model.PhaseBuild, cont, model.PhasePostBuild},
		{model.PhasePostBuild, cont, model.PhaseUploadArtifacts},
		// ABORT: no more buildspec phases, no upload.
		{model.PhaseInstall, abort, finalizing},
		{model.PhasePreBuild, abort, finalizing},
		{model.PhaseBuild, abort, finalizing},
		{model.PhasePostBuild, abort, finalizing},
		// RETRY once retries are used up: the default rule.
		{model.PhaseInstall, retry, finalizing},
		{model.PhaseBuild, retry, model.PhasePostBuild},
		{model.PhasePostBuild, retry, model.PhaseUploadArtifacts},
		// on-failure belongs to buildspec phases only.
		{model.PhaseDownloadSource, cont, finalizing},
		{model.PhaseUploadArtifacts, cont, finalizing},
		{model.PhaseProvisioning, abort, finalizing},
	}
	for _, tc := range tests {
		if got := NextPhaseAfterFailure(tc.failed, tc.of); got != tc.want {
			t.Errorf("NextPhaseAfterFailure(%s, %q) = %q, want %q", tc.failed, tc.of.Value, got, tc.want)
		}
	}
}

func TestParseOnFailure(t *testing.T) {
	tests := []struct {
		in      string
		action  Action
		count   int
		pattern string
	}{
		{"ABORT", ActionAbort, 0, ""},
		{"CONTINUE", ActionContinue, 0, ""},
		{"RETRY", ActionRetry, 3, ""},
		{"RETRY-0", ActionRetry, 0, ""},
		{"RETRY-5", ActionRetry, 5, ""},
		{"RETRY-100", ActionRetry, 100, ""},
		{"RETRY-timed out", ActionRetry, 3, "timed out"},
		{"RETRY-.*Throttl.*", ActionRetry, 3, ".*Throttl.*"},
		{"RETRY-5-exit status 1", ActionRetry, 5, "exit status 1"},
		{"RETRY-5-a-b-c", ActionRetry, 5, "a-b-c"},
		{"RETRY-x5-y", ActionRetry, 3, "x5-y"},
	}
	for _, tc := range tests {
		o := mustOnFailure(t, tc.in)
		pattern := ""
		if o.RetryMatch != nil {
			pattern = o.RetryMatch.String()
		}
		if o.Action != tc.action || o.RetryCount != tc.count || pattern != tc.pattern || o.Value != tc.in {
			t.Errorf("ParseOnFailure(%q) = %+v (pattern %q)", tc.in, o, pattern)
		}
	}
	for _, bad := range []string{"", "abort", "Abort", "STOP", "RETRY-", "RETRY-101", "RETRY-99999999999999999999", "RETRY-5-", "RETRY-(", "RETRY-2-[", "RETRYX"} {
		if o, err := ParseOnFailure(bad); err == nil {
			t.Errorf("ParseOnFailure(%q) = %+v, want error", bad, o)
		}
	}
}

func TestShouldRetry(t *testing.T) {
	any3 := mustOnFailure(t, "RETRY")
	for i := range 3 {
		if !any3.ShouldRetry(i, "whatever") {
			t.Errorf("RETRY should retry after %d retries", i)
		}
	}
	if any3.ShouldRetry(3, "whatever") {
		t.Error("RETRY should stop after 3 retries")
	}
	matching := mustOnFailure(t, "RETRY-2-exit status 1$")
	msg := "Error while executing command: make. Reason: exit status 1"
	if !matching.ShouldRetry(0, msg) || !matching.ShouldRetry(1, msg) || matching.ShouldRetry(2, msg) {
		t.Error("RETRY-2-<regex> retries wrong number of times")
	}
	if matching.ShouldRetry(0, "Error while executing command: make. Reason: exit status 2") {
		t.Error("RETRY-<regex> retried a message that does not match")
	}
	if mustOnFailure(t, "RETRY-0").ShouldRetry(0, "x") {
		t.Error("RETRY-0 should never retry")
	}
	for _, v := range []string{"ABORT", "CONTINUE"} {
		if mustOnFailure(t, v).ShouldRetry(0, "x") {
			t.Errorf("%s should not retry", v)
		}
	}
	if (OnFailure{}).ShouldRetry(0, "x") {
		t.Error("unset on-failure should not retry")
	}
}
