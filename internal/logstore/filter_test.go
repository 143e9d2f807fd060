package logstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// fillGroup writes three streams whose timestamps interleave and collide.
func fillGroup(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	for round := 0; round < 3; round++ {
		for k, name := range []string{"build/a", "build/b", "other"} {
			var evs []Event
			for i := 0; i < 40; i++ {
				evs = append(evs, Event{
					Timestamp: int64(1000*round + 10*i + k%2), // a and other collide
					Message:   fmt.Sprintf("%s r%d i%d\n", name, round, i),
				})
			}
			if err := s.Append(ctx, "g", name, evs); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// filterAll pages Filter until NextToken is empty.
func filterAll(t *testing.T, s *Store, req FilterRequest) []FilteredEvent {
	t.Helper()
	var out []FilteredEvent
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatal("Filter never finished")
		}
		res, err := s.Filter(context.Background(), "g", req)
		if err != nil {
			t.Fatalf("Filter(%+v): %v", req, err)
		}
		out = append(out, res.Events...)
		if res.NextToken == "" {
			return out
		}
		req.Token = res.NextToken
	}
}

func TestFilterMergesAndPages(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	fillGroup(t, s)
	all := filterAll(t, s, FilterRequest{})
	if len(all) != 360 {
		t.Fatalf("got %d events, want 360", len(all))
	}
	seen := make(map[string]bool)
	for i, e := range all {
		if seen[e.EventID] {
			t.Fatalf("duplicate event id %s", e.EventID)
		}
		seen[e.EventID] = true
		if len(e.EventID) != 56 || strings.Trim(e.EventID, "0123456789") != "" {
			t.Fatalf("event id %q is not 56 digits", e.EventID)
		}
		if !strings.HasPrefix(e.Message, e.StreamName+" ") {
			t.Fatalf("event %d from %s has message %q", i, e.StreamName, e.Message)
		}
		if i > 0 && (e.Timestamp < all[i-1].Timestamp || e.EventID <= all[i-1].EventID) {
			t.Fatalf("events %d and %d out of order", i-1, i)
		}
	}
	// Any page size gives the same events with the same ids.
	for _, limit := range []int{1, 7, 100} {
		if got := filterAll(t, s, FilterRequest{Limit: limit}); !slices.Equal(got, all) {
			t.Fatalf("limit %d: paged result differs", limit)
		}
	}
	// So does a scan budget that ends pages in the middle of non-matches.
	s.scanBudget = 100
	pat, _ := ParsePattern(`"r2 i3"`)
	got := filterAll(t, s, FilterRequest{Pattern: pat})
	s.scanBudget = maxScanBytes
	if want := filterAll(t, s, FilterRequest{Pattern: pat}); !slices.Equal(got, want) || len(want) != 33 {
		t.Fatalf("budgeted filter: %d events, unbudgeted %d, want 33", len(got), len(want))
	}

	// Backward is the reverse.
	back := filterAll(t, s, FilterRequest{Backward: true, Limit: 13})
	slices.Reverse(back)
	if !slices.Equal(back, all) {
		t.Fatal("backward result is not the reverse of forward")
	}

	// Stream selection and inclusive time bounds.
	start, end := int64(1000), int64(1010)
	got = filterAll(t, s, FilterRequest{StreamPrefix: "build/", StartTime: &start, EndTime: &end})
	var names []string
	for _, e := range got {
		names = append(names, fmt.Sprintf("%s@%d", e.StreamName, e.Timestamp))
	}
	if fmt.Sprint(names) != "[build/a@1000 build/b@1001 build/a@1010]" {
		t.Fatalf("prefix and time range: %v", names)
	}
	got = filterAll(t, s, FilterRequest{StreamNames: []string{"other"}, Limit: 5})
	if len(got) != 120 || got[0].StreamName != "other" {
		t.Fatalf("by name: %d events", len(got))
	}
	if _, err := s.Filter(context.Background(), "g", FilterRequest{StreamNames: []string{"missing"}}); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("missing stream: %v", err)
	}
	for _, tok := range []string{"f/123", "x/" + strings.Repeat("0", 56), "f/" + strings.Repeat("9", 56)} {
		if _, err := s.Filter(context.Background(), "g", FilterRequest{Token: tok}); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("token %q: %v", tok, err)
		}
	}
}

// TestFilterFollow does what `aws logs tail --follow` does: page to the end,
// then poll again from the newest timestamp seen and drop ids already seen.
func TestFilterFollow(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), nil)
	fillGroup(t, s)
	seen := make(map[string]bool)
	var got []FilteredEvent
	var newest int64
	poll := func() {
		start := newest
		for _, e := range filterAll(t, s, FilterRequest{StartTime: &start}) {
			if !seen[e.EventID] {
				seen[e.EventID] = true
				got = append(got, e)
				newest = max(newest, e.Timestamp)
			}
		}
	}
	poll()
	// New events at the newest timestamp and later, in two streams.
	if err := s.Append(ctx, "g", "build/a", []Event{{newest, "late a\n"}, {newest + 5, "later a\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "g", "new", []Event{{newest, "new stream\n"}}); err != nil {
		t.Fatal(err)
	}
	poll()
	poll()
	if len(got) != 363 {
		t.Fatalf("followed %d events, want 363", len(got))
	}
	// The same events as a fresh search; the order differs only where a
	// late event has a timestamp already seen.
	slices.SortFunc(got, func(a, b FilteredEvent) int { return strings.Compare(a.EventID, b.EventID) })
	if all := filterAll(t, s, FilterRequest{}); !slices.Equal(all, got) {
		t.Fatal("followed events differ from a fresh search")
	}
}

func TestPattern(t *testing.T) {
	cases := []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{"", []string{"anything", ""}, nil},
		{"ERROR", []string{"x ERROR y"}, []string{"error"}},
		{"ERROR Exception", []string{"ERROR: Exception"}, []string{"ERROR only"}},
		{`"exit status 1"`, []string{"cmd: exit status 1\n"}, []string{"exit  status 1"}},
		{`"say \"hi\""`, []string{`they say "hi"`}, []string{"say hi"}},
		{"?ERROR ?WARN", []string{"WARN x", "ERROR y"}, []string{"INFO"}},
		{"ERROR -Retrying", []string{"ERROR failed"}, []string{"ERROR Retrying"}},
		{"- x", []string{"a - x"}, []string{"x"}},
		{`%exit status [1-9]%`, []string{"exit status 2"}, []string{"exit status 0"}},
	}
	for _, c := range cases {
		p, err := ParsePattern(c.pattern)
		if err != nil {
			t.Fatalf("ParsePattern(%q): %v", c.pattern, err)
		}
		for _, m := range c.match {
			if !p.Match([]byte(m)) {
				t.Errorf("%q does not match %q", c.pattern, m)
			}
		}
		for _, m := range c.miss {
			if p.Match([]byte(m)) {
				t.Errorf("%q matches %q", c.pattern, m)
			}
		}
	}
	for _, bad := range []string{`"open`, `{ $.level = "x" }`, `[ip, user]`, `%(%`, strings.Repeat("x", MaxPatternLen+1)} {
		if _, err := ParsePattern(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePattern(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
