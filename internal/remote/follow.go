package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

// BuildGetter is the CodeBuild call following a build needs.
type BuildGetter interface {
	BatchGetBuilds(ctx context.Context, in *codebuild.BatchGetBuildsInput, optFns ...func(*codebuild.Options)) (*codebuild.BatchGetBuildsOutput, error)
}

// LogGetter is the CloudWatch Logs call following a build needs.
type LogGetter interface {
	GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

// Poll is how often a follower asks: Min right after something happened,
// growing by Factor while nothing does, up to Max.
type Poll struct {
	Min, Max time.Duration
	Factor   float64
	// Settle is how long the log must stay quiet after the build is complete
	// before following ends. A Hangar runner writes every line before it
	// saves the build complete (0); CloudWatch ingests CodeBuild's last lines
	// a little after.
	Settle time.Duration
}

// Poll schedules. A Hangar runner answers in about a millisecond and a
// short build is over in tens of them, so it is asked often at first; AWS
// throttles (GetLogEvents: 25 requests a second per account), so it is
// asked at most a few times a second.
func HangarPoll() Poll { return Poll{Min: 3 * time.Millisecond, Max: time.Second, Factor: 1.25} }

// AWSPoll is the schedule for AWS itself.
func AWSPoll() Poll {
	return Poll{Min: 500 * time.Millisecond, Max: 5 * time.Second, Factor: 1.5, Settle: 3 * time.Second}
}

func (p Poll) next(d time.Duration) time.Duration {
	n := time.Duration(float64(d) * p.Factor)
	if n <= d {
		n = d + time.Millisecond
	}
	return min(n, p.Max)
}

// Follower follows one build: phase lines while it is provisioning, then
// its log line by line, until it is complete.
type Follower struct {
	Builds BuildGetter
	Logs   LogGetter
	// Out gets the build's log lines.
	Out io.Writer
	// Status gets phase lines and, when TTY, the progress line.
	Status io.Writer
	// TTY makes phase progress one line rewritten in place on Status
	// (cleared before any log line) instead of plain phase lines.
	TTY  bool
	Poll Poll
	// NoWait prints the log there is now and returns, complete or not.
	NoWait bool
	Log    *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// FollowStats says what following saw.
type FollowStats struct {
	Lines int   `json:"lines"`
	Bytes int64 `json:"bytes"`
	Polls int   `json:"polls"`
	// FirstLine is when the first log line arrived (zero when none did).
	FirstLine time.Time `json:"-"`
}

// Follow prints the build's log from its start and returns the build once
// it is complete and every log line is printed. It returns ctx's error when
// ctx ends first (the build goes on).
func (f *Follower) Follow(ctx context.Context, id string) (types.Build, FollowStats, error) {
	now := f.Now
	if now == nil {
		now = time.Now
	}
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	poll := f.Poll
	if poll.Min <= 0 {
		poll = HangarPoll()
	}
	out := bufio.NewWriterSize(f.Out, 64<<10)
	st := &followState{f: f, out: out, now: now, printed: map[int]bool{}}
	defer st.clearProgress()

	delay := poll.Min
	for {
		b, err := GetBuild(ctx, f.Builds, id)
		st.stats.Polls++
		if err != nil {
			return types.Build{}, st.stats, err
		}
		// The log first: phases that its agent lines tell are not repeated.
		moved := false
		if group, stream := logStream(b); group != "" {
			n, err := st.drain(ctx, group, stream)
			if err != nil {
				return b, st.stats, err
			}
			moved = n > 0
		}
		if st.phases(b) {
			moved = true
		}
		if b.BuildComplete || f.NoWait {
			// Every line was written before the build was saved complete,
			// and the drain above ran after that was seen: nothing is left
			// (where lines come late, wait until the log is quiet).
			if b.BuildComplete && poll.Settle > 0 {
				if err := st.settle(ctx, b, poll); err != nil {
					return b, st.stats, err
				}
			}
			log.Debug("build complete", "id", id, "status", b.BuildStatus, "polls", st.stats.Polls, "lines", st.stats.Lines)
			return b, st.stats, nil
		}
		if moved {
			delay = poll.Min
		} else {
			delay = poll.next(delay)
		}
		st.progress(b)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return b, st.stats, ctx.Err()
		case <-t.C:
		}
	}
}

// GetBuild reads one build.
func GetBuild(ctx context.Context, c BuildGetter, id string) (types.Build, error) {
	out, err := c.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{id}})
	if err != nil {
		return types.Build{}, fmt.Errorf("get build %s: %w", id, err)
	}
	if len(out.Builds) == 0 {
		return types.Build{}, &NotFoundError{ID: id}
	}
	return out.Builds[0], nil
}

// NotFoundError says a build does not exist.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("build %s not found", e.ID) }

// logStream returns the build's log group and stream once it has them
// (CodeBuild shows "null" names until then).
func logStream(b types.Build) (group, stream string) {
	if b.Logs == nil {
		return "", ""
	}
	g, s := aws.ToString(b.Logs.GroupName), aws.ToString(b.Logs.StreamName)
	if g == "" || s == "" || g == "null" || s == "null" {
		return "", ""
	}
	return g, s
}

type followState struct {
	f     *Follower
	out   *bufio.Writer
	now   func() time.Time
	stats FollowStats
	token *string

	logStarted   bool
	printed      map[int]bool // phases whose line was printed
	progressOn   bool
	phase        string
	phaseSeen    time.Time
	lastProgress string
	lastOutput   time.Time
}

// settle keeps reading the log of a complete build until it has been
// quiet for poll.Settle.
func (s *followState) settle(ctx context.Context, b types.Build, poll Poll) error {
	group, stream := logStream(b)
	if group == "" {
		return nil
	}
	quiet := s.now()
	for s.now().Sub(quiet) < poll.Settle {
		t := time.NewTimer(poll.Min)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		n, err := s.drain(ctx, group, stream)
		if err != nil {
			return err
		}
		if n > 0 {
			quiet = s.now()
		}
	}
	return nil
}

// drain reads the log from the last token until the token repeats (all
// there is for now), printing every event. A stream that does not exist
// yet has nothing to read. Pages are read ahead (see readAhead).
func (s *followState) drain(ctx context.Context, group, stream string) (int, error) {
	pages := newReadAhead(ctx, s.f.Logs, group, stream)
	defer pages.stop()
	n := 0
	for {
		res, err := pages.get(s.token)
		if err != nil {
			var nf *cwtypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return n, nil
			}
			return n, fmt.Errorf("read log %s/%s: %w", group, stream, err)
		}
		if len(res.Events) > 0 {
			s.clearProgress()
			if s.stats.FirstLine.IsZero() {
				s.stats.FirstLine = s.now()
			}
			s.logStarted = true
			s.lastOutput = s.now()
			for _, e := range res.Events {
				msg := aws.ToString(e.Message)
				s.out.WriteString(msg)
				if !strings.HasSuffix(msg, "\n") {
					s.out.WriteByte('\n')
				}
				s.stats.Lines++
				s.stats.Bytes += int64(len(msg))
			}
			n += len(res.Events)
			if err := s.out.Flush(); err != nil {
				return n, fmt.Errorf("write log: %w", err)
			}
		}
		next := res.NextForwardToken
		if next == nil || (s.token != nil && *next == *s.token) {
			return n, nil
		}
		s.token = next
	}
}

// phases prints a line for each phase that ended, until the log starts
// (the log's own agent lines say the same from then on), and reports
// whether the build moved on since the last poll.
func (s *followState) phases(b types.Build) bool {
	cur := aws.ToString(b.CurrentPhase)
	moved := cur != s.phase
	if moved {
		s.phase, s.phaseSeen = cur, s.now()
	}
	if s.logStarted || s.f.TTY {
		return moved
	}
	for i, p := range b.Phases {
		if s.printed[i] || p.PhaseStatus == "" || p.PhaseType == types.BuildPhaseTypeCompleted {
			continue
		}
		s.printed[i] = true
		fmt.Fprintf(s.f.Status, "hangar: %-16s %-10s %s\n", p.PhaseType, p.PhaseStatus, FormatDuration(PhaseDuration(p)))
	}
	return moved
}

// progress rewrites the TTY progress line while no log lines flow.
func (s *followState) progress(b types.Build) {
	if !s.f.TTY {
		return
	}
	if !s.lastOutput.IsZero() && s.now().Sub(s.lastOutput) < time.Second {
		return
	}
	line := fmt.Sprintf("hangar: %s %s · %s", s.phase, FormatDuration(s.now().Sub(s.phaseSeen)), aws.ToString(b.Id))
	if line == s.lastProgress && s.progressOn {
		return
	}
	fmt.Fprintf(s.f.Status, "\r\x1b[K%s", line)
	s.progressOn, s.lastProgress = true, line
}

func (s *followState) clearProgress() {
	if s.progressOn {
		fmt.Fprint(s.f.Status, "\r\x1b[K")
		s.progressOn = false
	}
}

// PhaseDuration is how long a phase took (or has taken so far, for one in
// progress: zero).
func PhaseDuration(p types.BuildPhase) time.Duration {
	if p.StartTime != nil && p.EndTime != nil {
		return p.EndTime.Sub(*p.StartTime)
	}
	if p.DurationInSeconds != nil {
		return time.Duration(*p.DurationInSeconds) * time.Second
	}
	return 0
}

// FormatDuration renders a duration compactly: 12ms, 1.3s, 2m05s.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
