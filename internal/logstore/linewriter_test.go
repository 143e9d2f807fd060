package logstore

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func newLineWriter(t testing.TB, s *Store, stream string, m *Masker) *LineWriter {
	t.Helper()
	lw, err := NewLineWriter(context.Background(), s, "g", stream, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	return lw
}

// messages returns every message of g/stream, oldest first.
func messages(t *testing.T, s *Store, stream string) []string {
	t.Helper()
	return readAll(t, s, "g", stream, GetRequest{StartFromHead: true})
}

func TestLineWriterLines(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	lw := newLineWriter(t, s, "s", nil)
	for _, p := range []string{"a", "b\nc\n", "\n", "d\r\ne", "f"} {
		if _, err := lw.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	got := messages(t, s, "s")
	want := []string{"ab\n", "c\n", "\n", "d\r\n", "ef"}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("events = %q, want %q", got, want)
	}
	if _, err := lw.Write([]byte("x")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestLineWriterFlushesCompleteLinesSoon(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	lw := newLineWriter(t, s, "s", nil)
	defer lw.Close()
	lw.Write([]byte("first\nsecond, unfinished"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := s.GetEvents(context.Background(), "g", "s", GetRequest{StartFromHead: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Events) == 1 && res.Events[0].Message == "first\n" {
			break
		}
		if len(res.Events) > 1 || time.Now().After(deadline) {
			t.Fatalf("events = %+v", res.Events)
		}
		time.Sleep(time.Millisecond)
	}
	// The unfinished line appears on Flush, as an event of its own.
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := messages(t, s, "s"); len(got) != 2 || got[1] != "second, unfinished" {
		t.Fatalf("after Flush: %q", got)
	}
}

func TestMasking(t *testing.T) {
	secrets := []string{
		"hunter22",         // plain
		"abcdef", "cdefgh", // overlapping
		"token", "token-extended", // one a prefix of the other
		"-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf\n-----END KEY-----\n", // multi-line
		"abc",  // too short to mask
		"    ", // white space only
	}
	m := NewMasker(secrets...)
	cases := []struct{ in, want string }{
		{"pw=hunter22!\n", "pw=***!\n"},
		{"hunter22hunter22\n", "******\n"},
		{"xabcdefghx\n", "x***x\n"},
		{"token-extended token\n", "*** ***\n"},
		{"key: MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf\n", "key: ***\n"},
		{"-----END KEY-----\n", "***\n"},
		{"abc and spaces    here\n", "abc and spaces    here\n"},
		{"hunter2\n", "hunter2\n"},
	}
	for _, c := range cases {
		if got := m.MaskString(c.in); got != c.want {
			t.Errorf("MaskString(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	var nilMasker *Masker
	if got := nilMasker.MaskString("hunter22"); got != "hunter22" {
		t.Errorf("nil masker changed text: %q", got)
	}

	// Through the writer, with the input cut at every byte: a secret split
	// across Write calls is masked all the same.
	s := openTest(t, t.TempDir(), nil)
	var in strings.Builder
	for _, c := range cases {
		in.WriteString(c.in)
	}
	for cut := 0; cut <= 40; cut++ {
		stream := fmt.Sprintf("s%d", cut)
		lw := newLineWriter(t, s, stream, m)
		data := []byte(in.String())
		for len(data) > 0 {
			n := min(len(data), cut+1)
			lw.Write(data[:n])
			data = data[n:]
		}
		if err := lw.Close(); err != nil {
			t.Fatal(err)
		}
		got := messages(t, s, stream)
		if len(got) != len(cases) {
			t.Fatalf("cut %d: %d events, want %d", cut, len(got), len(cases))
		}
		for i, c := range cases {
			if got[i] != c.want {
				t.Fatalf("cut %d: event %d = %q, want %q", cut, i, got[i], c.want)
			}
		}
	}
}

func TestLongLinesAreSplit(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	const secret = "s3cr3t-value-that-is-long"
	m := NewMasker(secret)
	// Multi-byte runes everywhere, so that a cut inside one would show,
	// and a secret right where the first forced cut falls.
	unit := "héllo wörld ✓ "
	line := strings.Repeat(unit, (MaxLineBytes-5)/len(unit)) + secret + strings.Repeat(unit, 3*MaxLineBytes/len(unit))
	for _, chunk := range []int{1 << 20, 4096, 777} {
		stream := fmt.Sprint("s", chunk)
		lw := newLineWriter(t, s, stream, m)
		data := []byte(line + "\nshort\n")
		for len(data) > 0 {
			n := min(len(data), chunk)
			lw.Write(data[:n])
			data = data[n:]
		}
		if err := lw.Close(); err != nil {
			t.Fatal(err)
		}
		got := messages(t, s, stream)
		if len(got) < 5 || got[len(got)-1] != "short\n" {
			t.Fatalf("chunk %d: %d events, last %q", chunk, len(got), got[len(got)-1])
		}
		joined := strings.Join(got[:len(got)-1], "")
		if want := strings.ReplaceAll(line, secret, MaskText) + "\n"; joined != want {
			t.Fatalf("chunk %d: split line does not join back to the masked line (len %d vs %d)", chunk, len(joined), len(want))
		}
		for i, e := range got {
			if len(e) > MaxLineBytes || !utf8.ValidString(e) {
				t.Fatalf("chunk %d: event %d: %d bytes, valid UTF-8 %v", chunk, i, len(e), utf8.ValidString(e))
			}
			if strings.HasSuffix(e, "\n") != (i >= len(got)-2) {
				t.Fatalf("chunk %d: event %d newline placement wrong", chunk, i)
			}
		}
	}
}

func TestManyLinesCompleteAndOrdered(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	lw := newLineWriter(t, s, "s", NewMasker("never-printed"))
	const n = 200000
	r := rand.New(rand.NewPCG(1, 2))
	var pending []byte
	for i := range n {
		pending = fmt.Appendf(pending, "line %d\n", i)
		if len(pending) > 1+r.IntN(8192) {
			lw.Write(pending)
			pending = pending[:0]
		}
	}
	lw.Write(pending)
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	wantLines(t, messages(t, s, "s"), 0, n)
}

// TestConcurrentWriterAndLiveReader follows a stream while it is written,
// as `hangar run` does: every line arrives exactly once, in order.
func TestConcurrentWriterAndLiveReader(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	lw := newLineWriter(t, s, "s", nil)
	const n = 50000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(3, 4))
		var pending []byte
		for i := range n {
			pending = fmt.Appendf(pending, "line %d\n", i)
			if len(pending) > r.IntN(2048) {
				// Cut anywhere, lines included.
				cut := r.IntN(len(pending) + 1)
				lw.Write(pending[:cut])
				pending = append(pending[:0], pending[cut:]...)
			}
			if i%5000 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		lw.Write(pending)
		lw.Close()
	}()
	var got []string
	token := ""
	deadline := time.Now().Add(60 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		res, err := s.GetEvents(context.Background(), "g", "s", GetRequest{StartFromHead: true, Token: token, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Events {
			got = append(got, e.Message)
		}
		if res.NextForwardToken == token {
			time.Sleep(time.Millisecond)
		}
		token = res.NextForwardToken
	}
	wg.Wait()
	wantLines(t, got, 0, n)
	// Nothing more after the end.
	res, err := s.GetEvents(context.Background(), "g", "s", GetRequest{Token: token})
	if err != nil || len(res.Events) != 0 || res.NextForwardToken != token {
		t.Fatalf("after the end: %+v %v", res, err)
	}
}

func TestMaskerSpansMerge(t *testing.T) {
	m := NewMasker("aaaa")
	if got := m.Mask([]byte("aaaaaaa b aaaa")); !bytes.Equal(got, []byte("*** b ***")) {
		t.Fatalf("Mask = %q", got)
	}
	in := []byte("nothing to see")
	if got := m.Mask(in); &got[0] != &in[0] {
		t.Fatal("Mask copied a line without secrets")
	}
}
