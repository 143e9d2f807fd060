package logstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// FuzzToken: GetLogEvents and FilterLogEvents tokens parse without panics,
// and what parses is exactly what the formatters write, so an echoed token
// compares equal.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"f/0", "b/123", "f/01", "f/-1", "x/1", "f/", "f/9223372036854775807",
		"f/9223372036854775808", "f/" + strings.Repeat("0", 56), "b/" + strings.Repeat("9", 56), ""} {
		f.Add(s)
	}
	// Any token given to a real store reads or fails cleanly.
	store, err := Open(f.TempDir(), Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	for i := range 3 {
		if err := store.Append(ctx, "g", fmt.Sprint("s", i), events(0, 5000, func(j int) int64 { return int64(j / 7) })); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		if res, err := store.GetEvents(ctx, "g", "s0", GetRequest{Token: s, Limit: 50}); err == nil {
			if res.NextForwardToken == "" || res.NextBackwardToken == "" {
				t.Fatalf("GetEvents(%q): empty token", s)
			}
		} else if !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("GetEvents(%q): %v", s, err)
		}
		if _, err := store.Filter(ctx, "g", FilterRequest{Token: s, Limit: 50}); err != nil && !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("Filter(%q): %v", s, err)
		}
		if fwd, seq, err := ParseToken(s); err == nil {
			if seq < 0 {
				t.Fatalf("ParseToken(%q) = negative %d", s, seq)
			}
			if back := FormatToken(fwd, seq); back != s {
				t.Fatalf("ParseToken(%q) formats back as %q", s, back)
			}
		}
		if fwd, k, err := parseFilterToken(s); err == nil {
			if back := formatFilterToken(fwd, k); back != s {
				t.Fatalf("parseFilterToken(%q) formats back as %q", s, back)
			}
			if k.ts < 0 || k.no < 0 || k.seq < 0 {
				t.Fatalf("parseFilterToken(%q) = negative key %+v", s, k)
			}
		}
	})
}

// FuzzParsePattern: any pattern parses or fails cleanly, matching never
// panics, the canonical form parses back to the same pattern, and a single
// plain term means "contains".
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"", "ERROR", `"a b" -c ?d ?e`, `"unterminated`, `%a+%`, `{ $.a = 1 }`, `- ?`, `"\"\\"`, "\t?x\t-y "} {
		f.Add(s, []byte("ERROR a b d"))
	}
	f.Fuzz(func(t *testing.T, pattern string, msg []byte) {
		p, err := ParsePattern(pattern)
		if err != nil {
			return
		}
		m := p.Match(msg)
		q, err := parsePattern(p.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", p.String(), pattern, err)
		}
		if q.Match(msg) != m {
			t.Fatalf("canonical form %q of %q matches differently", p.String(), pattern)
		}
		if p.re == nil && !reflect.DeepEqual(p, q) {
			t.Fatalf("canonical form %q of %q parses to %+v, not %+v", p.String(), pattern, q, p)
		}
		plain := strings.Trim(pattern, patternSpace)
		if plain != "" && !strings.ContainsAny(plain, patternSpace+"\"%{[") && plain[0] != '?' && plain[0] != '-' {
			if m != bytes.Contains(msg, []byte(plain)) {
				t.Fatalf("term %q: Match(%q) = %v", plain, msg, m)
			}
		}
	})
}
