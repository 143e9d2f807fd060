package logstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a settable clock for creation and ingestion times.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(ms int64) {
	c.mu.Lock()
	c.t = time.UnixMilli(ms)
	c.mu.Unlock()
}

func openTest(t testing.TB, dir string, clock *testClock) *Store {
	t.Helper()
	opts := Options{}
	if clock != nil {
		opts.Now = clock.Now
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func events(from, n int, ts func(i int) int64) []Event {
	out := make([]Event, n)
	for i := range out {
		out[i] = Event{Timestamp: ts(from + i), Message: fmt.Sprintf("line %d\n", from+i)}
	}
	return out
}

// readAll pages GetEvents in one direction until the token repeats, the
// way CloudWatch clients do, and returns the messages in stream order.
func readAll(t *testing.T, s *Store, group, stream string, req GetRequest) []string {
	t.Helper()
	var pages [][]string
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatal("token never repeated")
		}
		res, err := s.GetEvents(context.Background(), group, stream, req)
		if err != nil {
			t.Fatalf("GetEvents(%+v): %v", req, err)
		}
		var page []string
		for _, e := range res.Events {
			page = append(page, e.Message)
		}
		pages = append(pages, page)
		next := res.NextBackwardToken
		if req.StartFromHead || strings.HasPrefix(req.Token, "f/") {
			next = res.NextForwardToken
		}
		if next == req.Token {
			if len(res.Events) != 0 {
				t.Fatalf("token repeated with %d events", len(res.Events))
			}
			break
		}
		req.Token = next
	}
	var out []string
	forward := req.StartFromHead || strings.HasPrefix(req.Token, "f/")
	if forward {
		for _, p := range pages {
			out = append(out, p...)
		}
	} else {
		for i := len(pages) - 1; i >= 0; i-- {
			out = append(out, pages[i]...)
		}
	}
	return out
}

func wantLines(t *testing.T, got []string, from, to int) {
	t.Helper()
	if len(got) != to-from {
		t.Fatalf("got %d events, want %d", len(got), to-from)
	}
	for i, m := range got {
		if want := fmt.Sprintf("line %d\n", from+i); m != want {
			t.Fatalf("event %d = %q, want %q", i, m, want)
		}
	}
}

func TestGetEventsPaging(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), nil)
	// Several batches; 10 events per millisecond, so time ranges cut
	// through runs of equal timestamps.
	for b := 0; b < 5; b++ {
		if err := s.Append(ctx, "/aws/codebuild/p", "s1", events(b*1000, 1000, func(i int) int64 { return 1000 + int64(i/10) })); err != nil {
			t.Fatal(err)
		}
	}
	wantLines(t, readAll(t, s, "/aws/codebuild/p", "s1", GetRequest{StartFromHead: true, Limit: 7}), 0, 5000)
	wantLines(t, readAll(t, s, "/aws/codebuild/p", "s1", GetRequest{Limit: 333}), 0, 5000)
	wantLines(t, readAll(t, s, "/aws/codebuild/p", "s1", GetRequest{StartFromHead: true}), 0, 5000)

	// Time range: [start, end).
	start, end := int64(1000+123), int64(1000+321)
	wantLines(t, readAll(t, s, "/aws/codebuild/p", "s1", GetRequest{StartFromHead: true, StartTime: &start, EndTime: &end, Limit: 50}), 1230, 3210)
	wantLines(t, readAll(t, s, "/aws/codebuild/p", "s1", GetRequest{StartTime: &start, EndTime: &end, Limit: 50}), 1230, 3210)

	// Default read: the newest events, in ascending order.
	res, err := s.GetEvents(ctx, "/aws/codebuild/p", "s1", GetRequest{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{res.Events[0].Message, res.Events[2].Message}; got[0] != "line 4997\n" || got[1] != "line 4999\n" {
		t.Fatalf("newest = %q", got)
	}
	if res.NextForwardToken != "f/5000" || res.NextBackwardToken != "b/4997" {
		t.Fatalf("tokens = %s %s", res.NextForwardToken, res.NextBackwardToken)
	}
	// At the end, the same token comes back, then new events appear.
	res, err = s.GetEvents(ctx, "/aws/codebuild/p", "s1", GetRequest{Token: "f/5000"})
	if err != nil || len(res.Events) != 0 || res.NextForwardToken != "f/5000" {
		t.Fatalf("at end: %+v, %v", res, err)
	}
	if err := s.Append(ctx, "/aws/codebuild/p", "s1", events(5000, 1, func(int) int64 { return 9999 })); err != nil {
		t.Fatal(err)
	}
	res, err = s.GetEvents(ctx, "/aws/codebuild/p", "s1", GetRequest{Token: "f/5000"})
	if err != nil || len(res.Events) != 1 || res.NextForwardToken != "f/5001" {
		t.Fatalf("after append: %+v, %v", res, err)
	}

	// 1 MB per response.
	big := strings.Repeat("x", 200<<10)
	for i := 0; i < 12; i++ {
		if err := s.Append(ctx, "g", "big", []Event{{Timestamp: 1, Message: big}}); err != nil {
			t.Fatal(err)
		}
	}
	res, err = s.GetEvents(ctx, "g", "big", GetRequest{StartFromHead: true})
	if err != nil || len(res.Events) != 5 {
		t.Fatalf("1 MB page: %d events, %v", len(res.Events), err)
	}

	for _, tok := range []string{"f/5002", "x/1", "f/01", "f/-1", "f/", "b/1/2"} {
		if _, err := s.GetEvents(ctx, "/aws/codebuild/p", "s1", GetRequest{Token: tok}); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("token %q: err = %v, want ErrInvalidToken", tok, err)
		}
	}
	if _, err := s.GetEvents(ctx, "/aws/codebuild/p", "nope", GetRequest{}); !errors.Is(err, ErrStreamNotFound) {
		t.Errorf("missing stream: %v", err)
	}
	if _, err := s.GetEvents(ctx, "nope", "s1", GetRequest{}); !errors.Is(err, ErrGroupNotFound) {
		t.Errorf("missing group: %v", err)
	}
}

func TestEmptyStreamTokens(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), nil)
	if err := s.CreateGroup(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateStream(ctx, "g", "s"); err != nil {
		t.Fatal(err)
	}
	for _, head := range []bool{true, false} {
		res, err := s.GetEvents(ctx, "g", "s", GetRequest{StartFromHead: head})
		if err != nil || len(res.Events) != 0 || res.NextForwardToken != "f/0" || res.NextBackwardToken != "b/0" {
			t.Fatalf("empty stream, head=%v: %+v %v", head, res, err)
		}
	}
}

func TestTimestampsKeptSorted(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), nil)
	if err := s.Append(ctx, "g", "s", []Event{{100, "a\n"}, {200, "b\n"}}); err != nil {
		t.Fatal(err)
	}
	// Older than the newest: stored at the newest time.
	if err := s.Append(ctx, "g", "s", []Event{{150, "c\n"}, {300, "d\n"}}); err != nil {
		t.Fatal(err)
	}
	res, err := s.GetEvents(ctx, "g", "s", GetRequest{StartFromHead: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, e := range res.Events {
		got = append(got, e.Timestamp)
	}
	if fmt.Sprint(got) != "[100 200 200 300]" {
		t.Fatalf("timestamps = %v", got)
	}
}

func TestCreateDeleteDescribe(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{}
	clock.Set(5000)
	dir := t.TempDir()
	s := openTest(t, dir, clock)
	if err := s.CreateGroup(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, "g"); !errors.Is(err, ErrGroupExists) {
		t.Fatalf("second CreateGroup: %v", err)
	}
	if err := s.CreateStream(ctx, "nope", "s"); !errors.Is(err, ErrGroupNotFound) {
		t.Fatalf("CreateStream in missing group: %v", err)
	}
	if err := s.CreateStream(ctx, "g", "s"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateStream(ctx, "g", "s"); !errors.Is(err, ErrStreamExists) {
		t.Fatalf("second CreateStream: %v", err)
	}
	if err := s.AppendExisting(ctx, "g", "other", events(0, 1, func(int) int64 { return 1 })); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("AppendExisting to missing stream: %v", err)
	}
	clock.Set(7000)
	if err := s.Append(ctx, "g", "s", events(0, 3, func(i int) int64 { return 6000 + int64(i) })); err != nil {
		t.Fatal(err)
	}
	info, err := s.Stream("g", "s")
	if err != nil {
		t.Fatal(err)
	}
	want := StreamInfo{Name: "s", CreationTime: 5000, HasEvents: true, FirstEventTimestamp: 6000,
		LastEventTimestamp: 6002, LastIngestionTime: 7000, StoredBytes: int64(3*recOverh + 3*len("line 0\n"))}
	if info != want {
		t.Fatalf("stream info = %+v, want %+v", info, want)
	}
	// The same after a restart, read back from the file.
	s.Close()
	s = openTest(t, dir, clock)
	if info2, _ := s.Stream("g", "s"); info2 != want {
		t.Fatalf("after reopen: %+v, want %+v", info2, want)
	}
	if g, err := s.Group("g"); err != nil || g.StoredBytes != want.StoredBytes || g.CreationTime != 5000 {
		t.Fatalf("group info = %+v %v", g, err)
	}
	if err := s.DeleteGroup(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, "g"); !errors.Is(err, ErrGroupNotFound) {
		t.Fatalf("second DeleteGroup: %v", err)
	}
	if gs := s.Groups(); len(gs) != 0 {
		t.Fatalf("groups after delete: %+v", gs)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("files left after delete: %v", entries)
	}
	// A name of any alphabet and length maps to a safe file name.
	odd := strings.Repeat("é/../x", 80)[:MaxNameLen-1]
	if err := s.Append(ctx, odd, odd, events(0, 1, func(int) int64 { return 1 })); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stream(odd, odd); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "g", "s", []Event{{1, ""}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty message: %v", err)
	}
	if err := s.Append(ctx, "g", "s", []Event{{1, strings.Repeat("x", MaxMessageBytes+1)}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("oversized message: %v", err)
	}
}

func TestReopenContinues(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	ts := func(i int) int64 { return int64(i) }
	if err := s.Append(ctx, "g", "s", events(0, 20000, ts)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir, nil)
	// The first use after a restart is an append: it must continue the seq.
	if err := s.Append(ctx, "g", "s", events(20000, 10, ts)); err != nil {
		t.Fatal(err)
	}
	wantLines(t, readAll(t, s, "g", "s", GetRequest{StartFromHead: true}), 0, 20010)
	if err := s.CreateStream(ctx, "g", "s2"); err != nil {
		t.Fatal(err)
	}
}

func TestTornRecordIsTruncated(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	if err := s.Append(ctx, "g", "s", events(0, 100, func(i int) int64 { return int64(i) })); err != nil {
		t.Fatal(err)
	}
	s.Close()
	path := filepath.Join(dir, "g0", "s0.log")
	full := appendRecord(nil, 500, 500, "line torn\n")
	for _, cut := range []int{1, 7, 8, 20, len(full) - 1} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			before, _ := f.Seek(0, 2)
			f.Write(full[:cut])
			f.Close()
			s := openTest(t, dir, nil)
			if fi, _ := os.Stat(path); fi.Size() != before {
				t.Fatalf("size after recovery = %d, want %d", fi.Size(), before)
			}
			wantLines(t, readAll(t, s, "g", "s", GetRequest{StartFromHead: true}), 0, 100)
			s.Close()
		})
	}
	// Zeros, as a file system may leave them after a power cut.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(make([]byte, 100))
	f.Close()
	s = openTest(t, dir, nil)
	if err := s.Append(ctx, "g", "s", events(100, 1, func(int) int64 { return 1000 })); err != nil {
		t.Fatal(err)
	}
	wantLines(t, readAll(t, s, "g", "s", GetRequest{}), 0, 101)
}
