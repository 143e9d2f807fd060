package logstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// buildOutput returns n bytes of build-like output: lines of 10 to 200
// bytes, some of them long compiler lines.
func buildOutput(n int) []byte {
	r := rand.New(rand.NewPCG(7, 8))
	out := make([]byte, 0, n+300)
	words := strings.Fields("npm WARN deprecated gcc -O2 -c src/main.go ok PASS --- FAIL: TestX (0.00s) Step 3/12 : RUN make build [Container] 2024/08/03 05:12:48.191449 Running command")
	for len(out) < n {
		l := 10 + r.IntN(190)
		start := len(out)
		for len(out)-start < l {
			out = append(out, words[r.IntN(len(words))]...)
			out = append(out, ' ')
		}
		out = append(out, '\n')
	}
	return out[:n]
}

func benchMasker() *Masker {
	return NewMasker("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "db-password-123", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "hunter22")
}

// BenchmarkLineWriter measures build output through the line writer into
// the store (split, mask, batch, append), in 32 KiB writes like a pipe's.
func BenchmarkLineWriter(b *testing.B) {
	s := openTest(b, b.TempDir(), nil)
	lw, err := NewLineWriter(context.Background(), s, "g", "s", benchMasker(), nil)
	if err != nil {
		b.Fatal(err)
	}
	data := buildOutput(8 << 20)
	const chunk = 32 << 10
	b.SetBytes(chunk)
	off := 0
	for b.Loop() {
		if off+chunk > len(data) {
			off = 0
		}
		if _, err := lw.Write(data[off : off+chunk]); err != nil {
			b.Fatal(err)
		}
		off += chunk
	}
	if err := lw.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBuildOutput100MB is the bar end to end inside the store: 100 MB
// of output through a line writer while a live reader follows it with
// GetEvents, until the reader has every byte.
func BenchmarkBuildOutput100MB(b *testing.B) {
	data := buildOutput(100 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b.StopTimer()
		s := openTest(b, b.TempDir(), nil)
		lw, err := NewLineWriter(context.Background(), s, "g", "s", benchMasker(), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		done := make(chan int)
		go func() {
			got, token := 0, ""
			for got < len(data) {
				res, err := s.GetEvents(context.Background(), "g", "s", GetRequest{StartFromHead: true, Token: token})
				if err != nil {
					panic(err)
				}
				for _, e := range res.Events {
					got += len(e.Message)
				}
				if res.NextForwardToken == token {
					time.Sleep(time.Millisecond)
				}
				token = res.NextForwardToken
			}
			done <- got
		}()
		for off := 0; off < len(data); off += 64 << 10 {
			lw.Write(data[off:min(off+64<<10, len(data))])
		}
		if err := lw.Close(); err != nil {
			b.Fatal(err)
		}
		if got := <-done; got != len(data) {
			b.Fatalf("reader got %d bytes, want %d", got, len(data))
		}
	}
}

// BenchmarkAppend measures Append of 100-event batches of 100-byte lines.
func BenchmarkAppend(b *testing.B) {
	s := openTest(b, b.TempDir(), nil)
	evs := make([]Event, 100)
	size := 0
	for i := range evs {
		evs[i] = Event{Timestamp: int64(i), Message: fmt.Sprintf("%099d\n", i)}
		size += len(evs[i].Message)
	}
	b.SetBytes(int64(size))
	ctx := context.Background()
	for b.Loop() {
		if err := s.Append(ctx, "g", "s", evs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetEvents measures reading full 10,000-event pages forward.
func BenchmarkGetEvents(b *testing.B) {
	s := openTest(b, b.TempDir(), nil)
	ctx := context.Background()
	evs := make([]Event, 10000)
	for i := range evs {
		evs[i] = Event{Timestamp: int64(i), Message: fmt.Sprintf("%079d\n", i)}
	}
	for range 10 {
		if err := s.Append(ctx, "g", "s", evs); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(10000 * 80)
	token := ""
	for b.Loop() {
		res, err := s.GetEvents(ctx, "g", "s", GetRequest{StartFromHead: true, Token: token})
		if err != nil {
			b.Fatal(err)
		}
		token = res.NextForwardToken
		if len(res.Events) == 0 {
			token = ""
		}
	}
}

// BenchmarkGetEventsTail measures what a live follower's poll costs at the
// end of a big stream: the last 10 of 100,000 events.
func BenchmarkGetEventsTail(b *testing.B) {
	s := openTest(b, b.TempDir(), nil)
	ctx := context.Background()
	evs := make([]Event, 10000)
	for i := range evs {
		evs[i] = Event{Timestamp: int64(i), Message: fmt.Sprintf("%079d\n", i)}
	}
	for range 10 {
		if err := s.Append(ctx, "g", "s", evs); err != nil {
			b.Fatal(err)
		}
	}
	token := FormatToken(true, 100000-10)
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.GetEvents(ctx, "g", "s", GetRequest{Token: token})
		if err != nil || len(res.Events) != 10 {
			b.Fatal(len(res.Events), err)
		}
	}
}
