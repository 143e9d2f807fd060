package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/hangarci/hangar/internal/logstore"
	"github.com/hangarci/hangar/internal/model"
)

var testNames = model.Names{Region: "us-east-1", Account: model.Account}

type fixture struct {
	store  *logstore.Store
	url    string
	client *cloudwatchlogs.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := logstore.Open(t.TempDir(), logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	srv := httptest.NewServer(New(store, testNames, log))
	t.Cleanup(srv.Close)
	client := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       bodyNoWriteTo{&http.Client{}},
	})
	return &fixture{store: store, url: srv.URL, client: client}
}

// bodyNoWriteTo works around a race in the SDK (aws/aws-sdk-go-v2#2737):
// the SDK closes the request body as soon as the response headers arrive;
// its body wrapper's WriteTo then returns io.EOF to the transport's final
// "anything left?" copy, and the transport closes the connection under the
// response being read ("use of closed network connection"). A fast local
// server wins that race often. Hiding WriteTo makes the transport use Read,
// whose EOF after Close is harmless.
type bodyNoWriteTo struct{ c *http.Client }

func (b bodyNoWriteTo) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return b.c.Do(r)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// put writes n events "<prefix> i" to group/stream through the API,
// creating both, at 3 events per millisecond from base.
func (f *fixture) put(t *testing.T, group, stream, prefix string, base int64, from, n int) {
	t.Helper()
	ctx := context.Background()
	var apiErr *types.ResourceAlreadyExistsException
	if _, err := f.client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &group}); err != nil && !errors.As(err, &apiErr) {
		t.Fatal(err)
	}
	if _, err := f.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: &group, LogStreamName: &stream}); err != nil && !errors.As(err, &apiErr) {
		t.Fatal(err)
	}
	for start := from; start < from+n; start += 5000 {
		var evs []types.InputLogEvent
		for i := start; i < min(start+5000, from+n); i++ {
			evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(base + int64(i/3)), Message: aws.String(fmt.Sprintf("%s %d\n", prefix, i))})
		}
		out, err := f.client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: evs})
		if err != nil {
			t.Fatal(err)
		}
		if out.RejectedLogEventsInfo != nil {
			t.Fatalf("rejected: %+v", out.RejectedLogEventsInfo)
		}
	}
}

func wantSeq(t *testing.T, got []string, prefix string, from, to int) {
	t.Helper()
	if len(got) != to-from {
		t.Fatalf("got %d events, want %d", len(got), to-from)
	}
	for i, m := range got {
		if want := fmt.Sprintf("%s %d\n", prefix, from+i); m != want {
			t.Fatalf("event %d = %q, want %q", i, m, want)
		}
	}
}

func TestGetLogEventsPaging(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now().UnixMilli()
	f.put(t, "/aws/codebuild/app", "build-1", "line", now-60000, 0, 25000)

	// Forward to the end, looping until the token repeats, as clients do.
	in := &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String("/aws/codebuild/app"), LogStreamName: aws.String("build-1"),
		StartFromHead: aws.Bool(true), Limit: aws.Int32(4000),
	}
	var got []string
	calls := 0
	for {
		out, err := f.client.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		calls++
		for _, e := range out.Events {
			got = append(got, *e.Message)
			if *e.IngestionTime < now || *e.Timestamp < now-60000 {
				t.Fatalf("times: %+v", e)
			}
		}
		if out.NextForwardToken == nil || out.NextBackwardToken == nil {
			t.Fatal("nil token")
		}
		if in.NextToken != nil && *out.NextForwardToken == *in.NextToken {
			if len(out.Events) != 0 {
				t.Fatal("token repeated with events")
			}
			break
		}
		in.NextToken = out.NextForwardToken
	}
	wantSeq(t, got, "line", 0, 25000)
	if calls != 8 {
		t.Errorf("%d calls, want 8 (7 pages and the repeat)", calls)
	}

	// The SDK's paginator stops on the repeated token too.
	p := cloudwatchlogs.NewGetLogEventsPaginator(f.client, &cloudwatchlogs.GetLogEventsInput{
		LogGroupIdentifier: aws.String(testNames.LogGroupArn("/aws/codebuild/app") + ":*"),
		LogStreamName:      aws.String("build-1"), StartFromHead: aws.Bool(true),
	}, func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
	got = got[:0]
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			got = append(got, *e.Message)
		}
	}
	wantSeq(t, got, "line", 0, 25000)

	// Backward from the newest (the default), pages in ascending order.
	in = &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/codebuild/app"), LogStreamName: aws.String("build-1"), Limit: aws.Int32(3000)}
	var pages [][]string
	for {
		out, err := f.client.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var page []string
		for _, e := range out.Events {
			page = append(page, *e.Message)
		}
		if in.NextToken != nil && *out.NextBackwardToken == *in.NextToken {
			break
		}
		pages = append(pages, page)
		in.NextToken = out.NextBackwardToken
	}
	got = got[:0]
	for i := len(pages) - 1; i >= 0; i-- {
		got = append(got, pages[i]...)
	}
	wantSeq(t, got, "line", 0, 25000)

	// A time range: [startTime, endTime).
	out, err := f.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String("/aws/codebuild/app"), LogStreamName: aws.String("build-1"), StartFromHead: aws.Bool(true),
		StartTime: aws.Int64(now - 60000 + 100), EndTime: aws.Int64(now - 60000 + 110),
	})
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, e := range out.Events {
		got = append(got, *e.Message)
	}
	wantSeq(t, got, "line", 300, 330)
}

func apiError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("error = %s: %s, want %s: %s", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.put(t, "g", "s", "x", time.Now().UnixMilli(), 0, 3)

	_, err := f.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s")})
	apiError(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("not a typed ResourceNotFoundException: %T", err)
	}
	_, err = f.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope")})
	apiError(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
	_, err = f.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: aws.String("garbage")})
	apiError(t, err, "InvalidParameterException", "The specified nextToken is invalid.")
	_, err = f.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), Limit: aws.Int32(10001)})
	apiError(t, err, "InvalidParameterException", "")
	_, err = f.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("bad name!"), LogStreamName: aws.String("s")})
	apiError(t, err, "InvalidParameterException", "")
	_, err = f.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNames: []string{"nope"}})
	apiError(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
	_, err = f.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String(`"open`)})
	apiError(t, err, "InvalidParameterException", "")
	_, err = f.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNames: []string{"s"}, LogStreamNamePrefix: aws.String("s")})
	apiError(t, err, "InvalidParameterException", "")

	_, err = f.client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")})
	apiError(t, err, "ResourceAlreadyExistsException", "The specified log group already exists")
	_, err = f.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	apiError(t, err, "ResourceAlreadyExistsException", "The specified log stream already exists")
	_, err = f.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s")})
	apiError(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	_, err = f.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a:b")})
	apiError(t, err, "InvalidParameterException", "")

	put := func(evs ...types.InputLogEvent) (*cloudwatchlogs.PutLogEventsOutput, error) {
		return f.client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: evs})
	}
	ev := func(ts int64, msg string) types.InputLogEvent {
		return types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(msg)}
	}
	now := time.Now().UnixMilli()
	_, err = put(ev(now, "b"), ev(now-1, "a"))
	apiError(t, err, "InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
	_, err = put(ev(now, ""))
	apiError(t, err, "InvalidParameterException", "")
	_, err = f.client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope"), LogEvents: []types.InputLogEvent{ev(now, "x")}})
	apiError(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
	out, err := put(ev(now-15*24*3600*1000, "too old"), ev(now, "ok"), ev(now+3*3600*1000, "too new"))
	if err != nil {
		t.Fatal(err)
	}
	if r := out.RejectedLogEventsInfo; r == nil || aws.ToInt32(r.TooOldLogEventEndIndex) != 1 || aws.ToInt32(r.TooNewLogEventStartIndex) != 2 {
		t.Fatalf("rejected = %+v", out.RejectedLogEventsInfo)
	}
	res, err := f.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), Limit: aws.Int32(1)})
	if err != nil || len(res.Events) != 1 || *res.Events[0].Message != "ok" {
		t.Fatalf("after a partly rejected put: %+v %v", res, err)
	}

	if _, err := f.client.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("g")})
	apiError(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
}

func TestFilterLogEvents(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	base := time.Now().UnixMilli() - 10000
	f.put(t, "/aws/codebuild/app", "build-1", "one", base, 0, 700)
	f.put(t, "/aws/codebuild/app", "build-2", "two", base, 0, 500)
	f.put(t, "/aws/codebuild/app", "other", "three", base, 0, 100)

	run := func(in cloudwatchlogs.FilterLogEventsInput) []types.FilteredLogEvent {
		t.Helper()
		p := cloudwatchlogs.NewFilterLogEventsPaginator(f.client, &in)
		var out []types.FilteredLogEvent
		pages := 0
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			out = append(out, page.Events...)
		}
		if in.Limit != nil && pages < len(out)/int(*in.Limit) {
			t.Fatalf("%d pages for %d events of limit %d", pages, len(out), *in.Limit)
		}
		return out
	}
	all := run(cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/codebuild/app"), Limit: aws.Int32(97)})
	if len(all) != 1300 {
		t.Fatalf("got %d events, want 1300", len(all))
	}
	ids := make(map[string]bool)
	for i, e := range all {
		if ids[*e.EventId] {
			t.Fatalf("duplicate eventId %s", *e.EventId)
		}
		ids[*e.EventId] = true
		if !strings.HasPrefix(*e.LogStreamName, "build-") && *e.LogStreamName != "other" {
			t.Fatalf("logStreamName %q", *e.LogStreamName)
		}
		if i > 0 && *e.Timestamp < *all[i-1].Timestamp {
			t.Fatal("events not interleaved by time")
		}
	}
	// The same events and ids on every call, whatever the page size.
	again := run(cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/codebuild/app"), Interleaved: aws.Bool(true)})
	if !slices.EqualFunc(all, again, func(a, b types.FilteredLogEvent) bool {
		return *a.EventId == *b.EventId && *a.Message == *b.Message && *a.LogStreamName == *b.LogStreamName
	}) {
		t.Fatal("event ids differ between calls")
	}

	matched := run(cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String("/aws/codebuild/app"), LogStreamNamePrefix: aws.String("build-"),
		FilterPattern: aws.String(`?"one 7" ?"two 7"`), Limit: aws.Int32(5),
	})
	// "one 7", "one 70".."one 79" and the same for two.
	if len(matched) != 22 {
		t.Fatalf("pattern matched %d events", len(matched))
	}
	for _, e := range matched {
		if !ids[*e.EventId] {
			t.Fatalf("event id %s not seen in the full search", *e.EventId)
		}
	}
	newest := run(cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String("/aws/codebuild/app"), LogStreamNames: []string{"other"}, StartFromHead: aws.Bool(false), Limit: aws.Int32(30),
	})
	if len(newest) != 100 || *newest[0].Message != "three 99\n" {
		t.Fatalf("backward: %d events, first %q", len(newest), *newest[0].Message)
	}
}

func TestDescribe(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	base := time.Now().UnixMilli() - 10000
	for i, g := range []string{"/aws/codebuild/a", "/aws/codebuild/b", "/aws/codebuild/c", "/other"} {
		f.put(t, g, "s", "x", base+int64(i), 0, 1)
	}
	var names []string
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(f.client, &cloudwatchlogs.DescribeLogGroupsInput{
		LogGroupNamePrefix: aws.String("/aws/codebuild/"), Limit: aws.Int32(2),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.LogGroups {
			names = append(names, *g.LogGroupName)
			if *g.Arn != "arn:aws:logs:us-east-1:000000000000:log-group:"+*g.LogGroupName+":*" ||
				*g.LogGroupArn != "arn:aws:logs:us-east-1:000000000000:log-group:"+*g.LogGroupName ||
				g.CreationTime == nil || aws.ToInt64(g.StoredBytes) == 0 || g.LogGroupClass != types.LogGroupClassStandard {
				t.Fatalf("log group %+v", g)
			}
		}
	}
	if fmt.Sprint(names) != "[/aws/codebuild/a /aws/codebuild/b /aws/codebuild/c]" {
		t.Fatalf("groups = %v", names)
	}

	g := "/aws/codebuild/a"
	for i, s := range []string{"s3", "s1", "s2", "empty"} {
		if s == "empty" {
			if _, err := f.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: &g, LogStreamName: &s}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		f.put(t, g, s, "y", base+100*int64(i), 0, 3)
	}
	list := func(in cloudwatchlogs.DescribeLogStreamsInput) []types.LogStream {
		t.Helper()
		in.LogGroupName = &g
		var out []types.LogStream
		p := cloudwatchlogs.NewDescribeLogStreamsPaginator(f.client, &in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page.LogStreams...)
		}
		return out
	}
	streamNames := func(ls []types.LogStream) string {
		var n []string
		for _, s := range ls {
			n = append(n, *s.LogStreamName)
		}
		return strings.Join(n, ",")
	}
	if got := streamNames(list(cloudwatchlogs.DescribeLogStreamsInput{Limit: aws.Int32(2)})); got != "empty,s,s1,s2,s3" {
		t.Errorf("by name: %s", got)
	}
	if got := streamNames(list(cloudwatchlogs.DescribeLogStreamsInput{LogStreamNamePrefix: aws.String("s"), Descending: aws.Bool(true), Limit: aws.Int32(3)})); got != "s3,s2,s1,s" {
		t.Errorf("by name, descending: %s", got)
	}
	byTime := list(cloudwatchlogs.DescribeLogStreamsInput{OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true), Limit: aws.Int32(1)})
	if got := streamNames(byTime); got != "s2,s1,s3,s,empty" {
		t.Errorf("by last event time: %s", got)
	}
	s2 := byTime[0]
	if *s2.Arn != testNames.LogStreamArn(g, "s2") || *s2.FirstEventTimestamp != base+200 || *s2.LastEventTimestamp != base+200 ||
		s2.LastIngestionTime == nil || *s2.CreationTime == 0 || *s2.StoredBytes == 0 {
		t.Errorf("stream s2 = %+v", s2)
	}
	if e := byTime[4]; e.FirstEventTimestamp != nil || e.LastEventTimestamp != nil {
		t.Errorf("empty stream has event times: %+v", e)
	}
	_, err := f.client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: &g, OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("s")})
	apiError(t, err, "InvalidParameterException", "")
	_, err = f.client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("nope")})
	apiError(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
}
