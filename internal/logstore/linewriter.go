package logstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

const (
	// LineFlushDelay is the longest a complete line waits in a LineWriter
	// before it is appended: short enough that live readers see output as
	// it happens, long enough to batch the lines of a fast build.
	LineFlushDelay = 2 * time.Millisecond
	// lineBatchBytes appends at once when output is fast; it bounds the
	// writer's memory too.
	lineBatchBytes = 256 << 10
)

var errWriterClosed = errors.New("line writer closed")

// LineWriter turns a build's output into log events: one event per line,
// the message ending in "\n" as CodeBuild's do, secrets masked, lines
// longer than MaxLineBytes split. It batches appends but never holds a
// complete line longer than LineFlushDelay. Safe for concurrent use.
type LineWriter struct {
	s     *Store
	st    *stream
	m     *Masker
	clock func() time.Time

	mu      sync.Mutex
	partial []byte // the line being written, no "\n" yet
	buf     []byte // complete events waiting, unmasked
	segs    []seg
	timer   *time.Timer
	armed   bool
	closed  bool
	err     error // sticky: a failed append loses lines, say so on every call

	// Scratch reused by every flush.
	spans []span
	out   []byte
	msgs  [][]byte
	tss   []int64
}

// seg is a run of buf written at one time: whole lines (lines) or one piece
// of a line without its "\n" (a forced split or a flushed partial line).
type seg struct {
	end   int
	ts    int64
	lines bool
}

// NewLineWriter returns a writer appending to group/stream (created if
// needed). m may be nil; clock (time.Now if nil) stamps each line when its
// "\n" is written.
func NewLineWriter(ctx context.Context, s *Store, group, stream string, m *Masker, clock func() time.Time) (*LineWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st, err := s.stream(group, stream, true)
	if err != nil {
		return nil, fmt.Errorf("line writer for %s/%s: %w", group, stream, err)
	}
	if clock == nil {
		clock = time.Now
	}
	return &LineWriter{s: s, st: st, m: m, clock: clock}, nil
}

// Write buffers p; complete lines are appended within LineFlushDelay.
func (lw *LineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.closed {
		return 0, errWriterClosed
	}
	if lw.err != nil {
		return 0, lw.err
	}
	ts := lw.clock().UnixMilli()
	n := len(p)
	for len(p) > 0 {
		// Take at most a batch at a time, so a huge Write does not double
		// its size in memory.
		chunk := p[:min(len(p), lineBatchBytes)]
		p = p[len(chunk):]
		if j := bytes.LastIndexByte(chunk, '\n'); j >= 0 {
			lw.buf = append(lw.buf, lw.partial...)
			lw.partial = lw.partial[:0]
			lw.buf = append(lw.buf, chunk[:j+1]...)
			lw.segs = append(lw.segs, seg{end: len(lw.buf), ts: ts, lines: true})
			chunk = chunk[j+1:]
		}
		lw.partial = append(lw.partial, chunk...)
		lw.splitPartial(ts)
		if len(lw.buf) >= lineBatchBytes {
			if err := lw.flushLocked(); err != nil {
				return 0, err
			}
		}
	}
	if len(lw.segs) > 0 && !lw.armed {
		lw.armed = true
		if lw.timer == nil {
			lw.timer = time.AfterFunc(LineFlushDelay, lw.onTimer)
		} else {
			lw.timer.Reset(LineFlushDelay)
		}
	}
	return n, nil
}

func (lw *LineWriter) onTimer() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.armed = false
	if lw.closed || lw.err != nil {
		return
	}
	if err := lw.flushLocked(); err != nil {
		lw.s.log.Error("log store: appending build output failed", "stream", lw.st.name, "err", err)
	}
}

// splitPartial cuts an unfinished line that has grown past one event into
// events. A cut never falls inside a secret it can see, and it waits until
// every secret that starts before the cut is whole in the buffer.
func (lw *LineWriter) splitPartial(ts int64) {
	limit := MaxLineBytes + max(lw.m.MaxLen()-1, 0)
	for len(lw.partial) >= limit {
		cut := runeCut(lw.partial, MaxLineBytes)
		lw.spans = lw.m.spans(lw.spans[:0], lw.partial)
		for _, s := range lw.spans {
			if s.start < cut && cut < s.end {
				if s.start > 0 {
					cut = s.start
				} else {
					cut = s.end
				}
				break
			}
		}
		lw.buf = append(lw.buf, lw.partial[:cut]...)
		lw.segs = append(lw.segs, seg{end: len(lw.buf), ts: ts})
		lw.partial = append(lw.partial[:0], lw.partial[cut:]...)
	}
}

// runeCut returns n, moved back to the start of a UTF-8 sequence if it
// falls inside one, so that split events stay valid text.
func runeCut(b []byte, n int) int {
	cut := n
	for i := 0; i < 3 && cut > 0 && b[cut]&0xC0 == 0x80; i++ {
		cut--
	}
	return cut
}

// Flush appends every complete line and the unfinished one (as an event of
// its own). A secret written half before and half after a Flush is not
// recognised; callers flush at command boundaries, where that cannot happen.
func (lw *LineWriter) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.closed {
		return errWriterClosed
	}
	if lw.err != nil {
		return lw.err
	}
	return lw.flushAllLocked()
}

// Close flushes everything and releases the stream's file handle.
func (lw *LineWriter) Close() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.closed {
		return lw.err
	}
	lw.closed = true
	if lw.timer != nil {
		lw.timer.Stop()
	}
	var err error
	if lw.err == nil {
		err = lw.flushAllLocked()
	}
	lw.st.wmu.Lock()
	rerr := lw.st.releaseWriterLocked(lw.s)
	lw.st.wmu.Unlock()
	return errors.Join(err, rerr)
}

func (lw *LineWriter) flushAllLocked() error {
	if len(lw.partial) > 0 {
		lw.buf = append(lw.buf, lw.partial...)
		lw.segs = append(lw.segs, seg{end: len(lw.buf), ts: lw.clock().UnixMilli()})
		lw.partial = lw.partial[:0]
	}
	return lw.flushLocked()
}

// flushLocked masks the waiting events and appends them in one batch.
func (lw *LineWriter) flushLocked() error {
	if len(lw.segs) == 0 {
		return nil
	}
	buf := lw.buf
	// Masking after line assembly catches a secret written in pieces; no
	// secret spans a "\n", so masking the whole batch at once is the same
	// as masking each line, and much cheaper.
	lw.spans = lw.m.spans(lw.spans[:0], buf)
	out := lw.out[:0]
	if len(lw.spans) > 0 {
		// Room for the worst case, so that out never moves while msgs
		// point into it.
		if need := len(buf) + len(MaskText)*len(lw.spans); cap(out) < need {
			out = make([]byte, 0, need)
		}
	}
	lw.msgs, lw.tss = lw.msgs[:0], lw.tss[:0]
	emit := func(a, b int, ts int64) {
		msg := buf[a:b]
		if len(lw.spans) > 0 {
			start := len(out)
			out = appendMasked(out, buf, a, b, lw.spans)
			msg = out[start:]
		}
		for len(msg) > MaxLineBytes {
			cut := runeCut(msg, MaxLineBytes)
			lw.msgs, lw.tss = append(lw.msgs, msg[:cut]), append(lw.tss, ts)
			msg = msg[cut:]
		}
		lw.msgs, lw.tss = append(lw.msgs, msg), append(lw.tss, ts)
	}
	a := 0
	for _, sg := range lw.segs {
		if !sg.lines {
			emit(a, sg.end, sg.ts)
		}
		for a < sg.end && sg.lines {
			b := a + bytes.IndexByte(buf[a:sg.end], '\n') + 1
			emit(a, b, sg.ts)
			a = b
		}
		a = sg.end
	}
	lw.out = out
	err := appendBatch(lw.s, lw.st, len(lw.msgs), func(i int) (int64, []byte) { return lw.tss[i], lw.msgs[i] })
	lw.buf, lw.segs = lw.buf[:0], lw.segs[:0]
	if err != nil {
		lw.err = fmt.Errorf("append build output to %s: %w", lw.st.name, err)
		return lw.err
	}
	return nil
}

// SetMasker replaces the writer's masker. The runner learns a build's
// secret values only after its log stream is open; lines still buffered are
// masked with the new masker too.
func (lw *LineWriter) SetMasker(m *Masker) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.m = m
}
