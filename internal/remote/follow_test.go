package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

// fakeRunner plays a build: every BatchGetBuilds moves it one step on,
// running the step's action (append lines, change phase) before it answers,
// the way a runner writes log lines before it saves a state. Its
// GetLogEvents follows CloudWatch's token rules, with a small page.
type fakeRunner struct {
	mu      sync.Mutex
	steps   []func(*fakeRunner)
	step    int
	build   types.Build
	lines   []string
	stream  bool // the log stream exists
	page    int
	reads   int
	onPoll  func(step int)
	badRead bool
}

func newFakeRunner(page int) *fakeRunner {
	return &fakeRunner{page: page, build: types.Build{
		Id: aws.String("p:1"), ProjectName: aws.String("p"), BuildStatus: types.StatusTypeInProgress,
		CurrentPhase: aws.String("SUBMITTED"),
		Logs:         &types.LogsLocation{GroupName: aws.String("null"), StreamName: aws.String("null")},
	}}
}

func (f *fakeRunner) BatchGetBuilds(ctx context.Context, in *codebuild.BatchGetBuildsInput, _ ...func(*codebuild.Options)) (*codebuild.BatchGetBuildsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.step < len(f.steps) {
		f.steps[f.step](f)
	}
	f.step++
	if f.onPoll != nil {
		f.onPoll(f.step)
	}
	return &codebuild.BatchGetBuildsOutput{Builds: []types.Build{f.build}}, nil
}

func (f *fakeRunner) GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if !f.stream {
		return nil, &cwtypes.ResourceNotFoundException{Message: aws.String("The specified log stream does not exist.")}
	}
	if aws.ToString(in.LogGroupName) != "/aws/codebuild/p" || aws.ToString(in.LogStreamName) != "1" || !aws.ToBool(in.StartFromHead) {
		return nil, fmt.Errorf("bad request %+v", in)
	}
	start := 0
	if in.NextToken != nil {
		n, err := strconv.Atoi(strings.TrimPrefix(*in.NextToken, "f/"))
		if err != nil {
			return nil, err
		}
		start = n
	}
	end := min(start+f.page, len(f.lines))
	out := &cloudwatchlogs.GetLogEventsOutput{NextForwardToken: aws.String("f/" + strconv.Itoa(end))}
	for _, l := range f.lines[start:end] {
		out.Events = append(out.Events, cwtypes.OutputLogEvent{Message: aws.String(l + "\n")})
	}
	return out, nil
}

func (f *fakeRunner) phase(p string, lines ...string) func(*fakeRunner) {
	return func(f *fakeRunner) {
		if n := len(f.build.Phases); n > 0 {
			f.build.Phases[n-1].PhaseStatus = types.StatusTypeSucceeded
		}
		f.build.Phases = append(f.build.Phases, types.BuildPhase{PhaseType: types.BuildPhaseType(p)})
		f.build.CurrentPhase = aws.String(p)
		f.lines = append(f.lines, lines...)
	}
}

func (f *fakeRunner) logs(lines ...string) func(*fakeRunner) {
	return func(f *fakeRunner) { f.lines = append(f.lines, lines...) }
}

func (f *fakeRunner) openLog(stream bool) func(*fakeRunner) {
	return func(f *fakeRunner) {
		f.build.Logs = &types.LogsLocation{GroupName: aws.String("/aws/codebuild/p"), StreamName: aws.String("1")}
		f.stream = stream
	}
}

func (f *fakeRunner) complete(status types.StatusType, lines ...string) func(*fakeRunner) {
	return func(f *fakeRunner) {
		f.lines = append(f.lines, lines...)
		f.stream = true
		f.build.BuildComplete = true
		f.build.BuildStatus = status
		f.build.CurrentPhase = aws.String("COMPLETED")
	}
}

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func testFollower(f *fakeRunner, out, status *bytes.Buffer) *Follower {
	return &Follower{Builds: f, Logs: f, Out: out, Status: status, Poll: Poll{Min: time.Microsecond, Max: 50 * time.Microsecond, Factor: 2}}
}

func TestFollowEveryLineOnceInOrder(t *testing.T) {
	f := newFakeRunner(7)
	var want []string
	add := func(l []string) []string { want = append(want, l...); return l }
	f.steps = []func(*fakeRunner){
		f.phase("SUBMITTED"),
		f.phase("QUEUED"),
		f.phase("PROVISIONING"),
		f.openLog(false), // names known, stream not there yet
		f.openLog(true),
		f.logs(add(numbered("a", 3))...),
		f.phase("BUILD", add(numbered("b", 40))...),
		func(*fakeRunner) {}, // nothing new
		func(*fakeRunner) {},
		f.logs(add([]string{"no newline at all", "", "  spaced  "})...),
		// The last lines land just before the build is saved complete.
		f.complete(types.StatusTypeSucceeded, add(numbered("z", 23))...),
	}
	var out, status bytes.Buffer
	b, st, err := testFollower(f, &out, &status).Follow(context.Background(), "p:1")
	if err != nil {
		t.Fatal(err)
	}
	if !b.BuildComplete || b.BuildStatus != types.StatusTypeSucceeded {
		t.Fatalf("build %+v", b)
	}
	if got := out.String(); got != strings.Join(want, "\n")+"\n" {
		t.Fatalf("log:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if st.Lines != len(want) {
		t.Errorf("stats lines %d, want %d", st.Lines, len(want))
	}
	// Phase lines for the phases that ended before the log started, once.
	s := status.String()
	for _, p := range []string{"SUBMITTED", "QUEUED"} {
		if strings.Count(s, p) != 1 {
			t.Errorf("phase %s shown %d times in:\n%s", p, strings.Count(s, p), s)
		}
	}
	if strings.Contains(s, "BUILD") {
		t.Errorf("phase lines after the log started:\n%s", s)
	}
}

// TestFollowLargeLog reads many pages between two polls.
func TestFollowLargeLog(t *testing.T) {
	f := newFakeRunner(1000)
	lines := numbered("line ", 200_000)
	f.steps = []func(*fakeRunner){
		f.openLog(true),
		f.logs(lines[:50_000]...),
		f.logs(lines[50_000:150_000]...),
		f.complete(types.StatusTypeFailed, lines[150_000:]...),
	}
	var out, status bytes.Buffer
	b, st, err := testFollower(f, &out, &status).Follow(context.Background(), "p:1")
	if err != nil {
		t.Fatal(err)
	}
	if b.BuildStatus != types.StatusTypeFailed {
		t.Fatalf("status %s", b.BuildStatus)
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != len(lines) || st.Lines != len(lines) {
		t.Fatalf("%d lines (stats %d), want %d", len(got), st.Lines, len(lines))
	}
	for i := range lines {
		if got[i] != lines[i] {
			t.Fatalf("line %d = %q, want %q", i, got[i], lines[i])
		}
	}
}

// TestFollowNoLog: a build that ends before it has a log stream.
func TestFollowNoLog(t *testing.T) {
	f := newFakeRunner(10)
	f.steps = []func(*fakeRunner){
		f.phase("SUBMITTED"),
		func(f *fakeRunner) {
			f.build.BuildComplete, f.build.BuildStatus = true, types.StatusTypeFault
		},
	}
	var out, status bytes.Buffer
	b, _, err := testFollower(f, &out, &status).Follow(context.Background(), "p:1")
	if err != nil {
		t.Fatal(err)
	}
	if ExitCode(b) != ExitRunner || out.Len() != 0 {
		t.Fatalf("exit %d, log %q", ExitCode(b), out.String())
	}
	if f.reads != 0 {
		t.Errorf("%d log reads of a build without a log", f.reads)
	}
}

// TestFollowCancel: a cancelled context detaches with ctx's error after
// printing what had arrived.
func TestFollowCancel(t *testing.T) {
	f := newFakeRunner(10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.steps = []func(*fakeRunner){f.openLog(true), f.logs("one", "two")}
	f.onPoll = func(step int) {
		if step == 5 {
			cancel()
		}
	}
	var out, status bytes.Buffer
	_, _, err := testFollower(f, &out, &status).Follow(ctx, "p:1")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if out.String() != "one\ntwo\n" {
		t.Fatalf("log %q", out.String())
	}
}

// TestFollowNoWait prints what there is and returns at once.
func TestFollowNoWait(t *testing.T) {
	f := newFakeRunner(2)
	f.openLog(true)(f)
	f.logs("a", "b", "c", "d", "e")(f)
	var out, status bytes.Buffer
	fl := testFollower(f, &out, &status)
	fl.NoWait = true
	b, st, err := fl.Follow(context.Background(), "p:1")
	if err != nil {
		t.Fatal(err)
	}
	if b.BuildComplete || out.String() != "a\nb\nc\nd\ne\n" || st.Polls != 1 {
		t.Fatalf("complete %v, polls %d, log %q", b.BuildComplete, st.Polls, out.String())
	}
}

// TestFollowTTY: the progress line is drawn in place and cleared before
// log lines and at the end.
func TestFollowTTY(t *testing.T) {
	f := newFakeRunner(10)
	f.steps = []func(*fakeRunner){
		f.phase("SUBMITTED"), f.phase("QUEUED"), f.phase("PROVISIONING"),
		f.openLog(true), f.logs("hello"),
		f.complete(types.StatusTypeSucceeded),
	}
	var out bytes.Buffer
	status := &orderedWriter{}
	fl := testFollower(f, &out, &bytes.Buffer{})
	fl.Out, fl.Status, fl.TTY = status.as("out"), status.as("err"), true
	if _, _, err := fl.Follow(context.Background(), "p:1"); err != nil {
		t.Fatal(err)
	}
	s := status.String()
	if !strings.Contains(s, "err:\r\x1b[Khangar: QUEUED") {
		t.Fatalf("no progress line in %q", s)
	}
	if strings.Contains(s, "SUBMITTED   ") {
		t.Fatalf("plain phase lines on a TTY: %q", s)
	}
	// The line before the log output clears the progress line.
	i := strings.Index(s, "out:hello")
	if i < 0 || !strings.HasSuffix(s[:i], "err:\r\x1b[K") {
		t.Fatalf("progress not cleared before the log: %q", s)
	}
	if !strings.HasSuffix(s, "out:hello\n") {
		t.Fatalf("progress drawn after the end: %q", s)
	}
}

// orderedWriter records writes from several writers in order.
type orderedWriter struct{ bytes.Buffer }

type taggedWriter struct {
	o   *orderedWriter
	tag string
}

func (w *orderedWriter) as(tag string) *taggedWriter { return &taggedWriter{w, tag} }

func (t *taggedWriter) Write(p []byte) (int, error) {
	t.o.WriteString(t.tag + ":")
	return t.o.Write(p)
}

func TestPollBacksOff(t *testing.T) {
	p := HangarPoll()
	d, n := p.Min, 0
	for d < p.Max {
		d = p.next(d)
		n++
	}
	if d != p.Max || n > 60 {
		t.Fatalf("reached %v after %d steps", d, n)
	}
}

// TestFollowSettle: where log lines land after the build is complete
// (CloudWatch), following waits until the log has been quiet.
func TestFollowSettle(t *testing.T) {
	f := newFakeRunner(10)
	f.steps = []func(*fakeRunner){f.openLog(true), f.complete(types.StatusTypeSucceeded, "early")}
	reads := 0
	late := &lateLogs{fakeRunner: f, late: map[int][]string{3: {"late 1"}, 6: {"late 2"}}, reads: &reads}
	var out, status bytes.Buffer
	fl := testFollower(f, &out, &status)
	fl.Logs = late
	fl.Poll.Settle = 20 * time.Millisecond
	fl.Poll.Min = time.Millisecond
	if _, _, err := fl.Follow(context.Background(), "p:1"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "early\nlate 1\nlate 2\n" {
		t.Fatalf("log %q", out.String())
	}
}

// lateLogs appends lines on given reads, as late ingestion would.
type lateLogs struct {
	*fakeRunner
	late  map[int][]string
	reads *int
}

func (l *lateLogs) GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	*l.reads++
	if lines, ok := l.late[*l.reads]; ok {
		l.fakeRunner.mu.Lock()
		l.fakeRunner.lines = append(l.fakeRunner.lines, lines...)
		l.fakeRunner.mu.Unlock()
	}
	return l.fakeRunner.GetLogEvents(ctx, in, o...)
}
