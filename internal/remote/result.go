package remote

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/hangarci/hangar/internal/pack"
)

// Result is what `hangar run --output json` prints.
type Result struct {
	BuildID  string `json:"buildId"`
	Project  string `json:"project"`
	RunID    string `json:"runId"`
	Command  string `json:"command,omitempty"` // the command line run; empty for a buildspec
	Status   string `json:"status"`
	ExitCode int    `json:"exitCode"`
	// Detached: the run returned while the build goes on (--detach, Ctrl-C).
	Detached bool          `json:"detached,omitempty"`
	Phases   []PhaseResult `json:"phases"`
	// BytesSent is every object body uploaded for this run.
	BytesSent int64        `json:"bytesSent"`
	Upload    UploadStats  `json:"upload"`
	Source    SourceResult `json:"source"`
	Git       *GitResult   `json:"git,omitempty"`
	Log       LogStats     `json:"log"`
	Timings   Timings      `json:"timingsMs"`
	// Failure is the context of the failing phase, when the build failed.
	Failure string `json:"failure,omitempty"`
}

// PhaseResult is one phase of the build.
type PhaseResult struct {
	Type       string  `json:"type"`
	Status     string  `json:"status,omitempty"`
	DurationMs float64 `json:"durationMs"`
	Context    string  `json:"context,omitempty"`
}

// SourceResult describes the packed tree.
type SourceResult struct {
	Location string `json:"location"` // bucket/key the build's source is
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
	Hashed   int    `json:"hashed"` // files read to hash (hash cache misses)
}

// GitResult is the tree's git metadata.
type GitResult struct {
	State  string `json:"state"`
	Branch string `json:"branch,omitempty"`
	SHA    string `json:"sha,omitempty"`
	Dirty  bool   `json:"dirty"`
}

// LogStats count what was followed.
type LogStats struct {
	Lines int   `json:"lines"`
	Bytes int64 `json:"bytes"`
	Polls int   `json:"polls"`
}

// Timings say where the time of a run went, in milliseconds. Scan, Git and
// Connect+List overlap.
type Timings struct {
	CLI       float64 `json:"cli,omitempty"` // before Run: config, flags
	Scan      float64 `json:"scan"`
	Git       float64 `json:"git"`
	Connect   float64 `json:"connect"` // reach the runner, bootstrap
	List      float64 `json:"list"`    // list the runner's blobs
	Upload    float64 `json:"upload"`
	Start     float64 `json:"start"`     // StartBuild
	FirstLine float64 `json:"firstLine"` // from Run's start to the first log line
	Follow    float64 `json:"follow"`
	Total     float64 `json:"total"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fill takes status and phases from the build.
func (r *Result) fill(b types.Build) {
	r.BuildID = aws.ToString(b.Id)
	if r.Project == "" {
		r.Project = aws.ToString(b.ProjectName)
	}
	r.Status = string(b.BuildStatus)
	r.Phases = Phases(b)
	r.ExitCode = ExitCode(b)
	r.Failure = FailureContext(b)
}

// Phases lists a build's phases with their durations and contexts.
func Phases(b types.Build) []PhaseResult {
	out := make([]PhaseResult, 0, len(b.Phases))
	for _, p := range b.Phases {
		pr := PhaseResult{Type: string(p.PhaseType), Status: string(p.PhaseStatus), DurationMs: ms(PhaseDuration(p))}
		var msgs []string
		for _, c := range p.Contexts {
			if m := strings.TrimSpace(aws.ToString(c.Message)); m != "" {
				msgs = append(msgs, joinNonEmpty(": ", aws.ToString(c.StatusCode), m))
			}
		}
		pr.Context = strings.Join(msgs, "; ")
		out = append(out, pr)
	}
	return out
}

// FailureContext is the context of the first phase that did not succeed.
func FailureContext(b types.Build) string {
	for _, p := range Phases(b) {
		if p.Status != "" && p.Status != string(types.StatusTypeSucceeded) && p.Context != "" {
			return p.Type + " " + p.Status + ": " + p.Context
		}
	}
	return ""
}

// Summary is the one line printed at the end of a run: status, the
// phases' durations, the build id.
func Summary(b types.Build) string {
	var total time.Duration
	if b.StartTime != nil && b.EndTime != nil {
		total = b.EndTime.Sub(*b.StartTime)
	}
	var ph []string
	for _, p := range b.Phases {
		if p.PhaseType == types.BuildPhaseTypeCompleted {
			continue
		}
		s := fmt.Sprintf("%s %s", strings.ToLower(string(p.PhaseType)), FormatDuration(PhaseDuration(p)))
		if p.PhaseStatus != "" && p.PhaseStatus != types.StatusTypeSucceeded {
			s += " " + string(p.PhaseStatus)
		}
		ph = append(ph, s)
	}
	line := fmt.Sprintf("%s in %s", b.BuildStatus, FormatDuration(total))
	if len(ph) > 0 {
		line += " (" + strings.Join(ph, ", ") + ")"
	}
	return line + " · " + aws.ToString(b.Id)
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

func gitResult(i pack.Info) *GitResult {
	if i.State == pack.GitNotRepo || i.State == pack.GitNotFound || i.State == "" {
		return nil
	}
	return &GitResult{State: string(i.State), Branch: i.Branch, SHA: i.SHA, Dirty: i.Dirty}
}

// gitLabel is " (main@abc1234, dirty)" or "" without git.
func gitLabel(i pack.Info) string {
	if i.State == pack.GitNotRepo || i.State == pack.GitNotFound || i.State == "" {
		return ""
	}
	branch := i.Branch
	if branch == "" {
		branch = "(detached)"
	}
	s := branch
	if i.ShortSHA != "" {
		s += "@" + i.ShortSHA
	} else if i.State == pack.GitNoCommits {
		s += " (no commits)"
	}
	if i.Dirty {
		s += ", dirty"
	}
	return " (" + s + ")"
}
