package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

// wireLogs serves a fakeRunner's GetLogEvents as JSON over a fake HTTP
// transport, so that a real SDK client (and the follower's decoder and
// read-ahead) reads it.
type wireLogs struct {
	f *fakeRunner
}

func (w *wireLogs) Do(req *http.Request) (*http.Response, error) {
	var in struct {
		LogGroupName, LogStreamName string
		StartFromHead               bool
		NextToken                   *string
	}
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
		return nil, err
	}
	out, err := w.f.GetLogEvents(req.Context(), &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: &in.LogGroupName, LogStreamName: &in.LogStreamName, StartFromHead: &in.StartFromHead, NextToken: in.NextToken,
	})
	status, body := 200, []byte(nil)
	var nf *cwtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		status, body = 400, []byte(`{"__type":"ResourceNotFoundException","message":"The specified log stream does not exist."}`)
	case err != nil:
		return nil, err
	default:
		type event struct {
			Timestamp int64  `json:"timestamp"`
			Message   string `json:"message"`
		}
		page := struct {
			Events           []event `json:"events"`
			NextForwardToken string  `json:"nextForwardToken"`
			Backward         string  `json:"nextBackwardToken"`
		}{Events: []event{}, NextForwardToken: aws.ToString(out.NextForwardToken), Backward: "b/0"}
		for i, e := range out.Events {
			page.Events = append(page.Events, event{int64(i), aws.ToString(e.Message)})
		}
		if body, err = json.Marshal(page); err != nil {
			return nil, err
		}
	}
	return &http.Response{
		StatusCode: status, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}, nil
}

func (w *wireLogs) client() *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://logs.test"),
		Credentials: aws.AnonymousCredentials{}, HTTPClient: w, RetryMaxAttempts: 1,
	})
}

// TestFollowReadAhead follows a build through the SDK: pages are read ahead
// while the last is decoded, and every line still arrives once, in order.
func TestFollowReadAhead(t *testing.T) {
	f := newFakeRunner(500)
	lines := numbered("line \x1b[1m\"é\"\x1b[0m ", 20_000)
	var want []string
	add := func(l []string) []string { want = append(want, l...); return l }
	f.steps = []func(*fakeRunner){
		f.openLog(false), // the stream is not there yet
		f.openLog(true),
		f.logs(add(lines[:3])...),
		func(*fakeRunner) {}, // nothing new
		f.logs(add(lines[3:12_000])...),
		f.complete(types.StatusTypeSucceeded, add(lines[12_000:])...),
	}
	w := &wireLogs{f: f}
	var out, status bytes.Buffer
	fl := testFollower(f, &out, &status)
	fl.Logs = w.client()
	b, st, err := fl.Follow(context.Background(), "p:1")
	if err != nil {
		t.Fatal(err)
	}
	if b.BuildStatus != types.StatusTypeSucceeded {
		t.Fatalf("status %s", b.BuildStatus)
	}
	if got := out.String(); got != strings.Join(want, "\n")+"\n" || st.Lines != len(want) {
		t.Fatalf("got %d lines (stats %d), want %d, or not in order", strings.Count(got, "\n"), st.Lines, len(want))
	}
}

// TestReadAheadAsksForNextPage: once a page's body is in, the next page is
// asked for before the caller has it; it is used for its token, no page is
// read twice, and the end of the log (a token that repeats) asks for
// nothing more.
func TestReadAheadAsksForNextPage(t *testing.T) {
	f := newFakeRunner(10)
	f.openLog(true)(f)
	f.logs(numbered("l", 25)...)(f)
	w := &wireLogs{f: f}
	r := newReadAhead(context.Background(), w.client(), "/aws/codebuild/p", "1")
	defer r.stop()
	pending := func() []string {
		r.mu.Lock()
		defer r.mu.Unlock()
		var toks []string
		for tok := range r.pending {
			toks = append(toks, tok)
		}
		return toks
	}
	var tok *string
	for i, want := range []struct {
		events int
		next   string
	}{{10, "f/10"}, {10, "f/20"}, {5, "f/25"}, {0, "f/25"}} {
		out, err := r.get(tok)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) != want.events || aws.ToString(out.NextForwardToken) != want.next {
			t.Fatalf("page at %v: %d events, next %q; want %d, %q", aws.ToString(tok), len(out.Events), aws.ToString(out.NextForwardToken), want.events, want.next)
		}
		// The first page's read asked for the second; then at most one
		// page is read ahead, and none after the end.
		got := pending()
		switch {
		case i == 0 && !reflect.DeepEqual(got, []string{"f/10"}),
			len(got) > 1,
			len(got) == 1 && got[0] != want.next,
			want.events == 0 && len(got) > 0:
			t.Fatalf("after the page at %v, reading ahead %v", aws.ToString(tok), got)
		}
		tok = out.NextForwardToken
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reads != 4 {
		t.Errorf("%d reads, want 4 (one per page)", f.reads)
	}
}

func TestForwardTokenHint(t *testing.T) {
	for body, want := range map[string]string{
		`{"events":[],"nextForwardToken":"f/12","nextBackwardToken":"b/0"}`:                                     "f/12",
		`{"events":[{"message":"\"nextForwardToken\":\"no\""}],"nextForwardToken":"f/1"}`:                       "f/1",
		`{"nextForwardToken":"f/3","events":[{"message":"x"}]}`:                                                 "f/3",
		`{"events":[{"message":"x\"nextForwardToken\":\"no\""}],"nextForwardToken":null}`:                       "",
		`{"events":[],"nextForwardToken":"f/\u0031"}`:                                                           "",
		`{"events":[],"nextForwardToken" : "f/1"}`:                                                              "",
		`{"events":[{"message":"x"}],"nextForwardToken":"f/9", "nextBackwardToken":"b/0","nextForwardToken":1}`: "f/9",
	} {
		got, ok := forwardTokenHint([]byte(body))
		if got != want || ok != (want != "") {
			t.Errorf("forwardTokenHint(%s) = %q, %v; want %q", body, got, ok, want)
		}
	}
}
