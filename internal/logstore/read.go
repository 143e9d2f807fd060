package logstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Limits of one read, as CloudWatch has them.
const (
	MaxEventsPerRead = 10000
	// MaxBytesPerRead caps a response's messages plus EventOverhead each.
	MaxBytesPerRead = 1 << 20
)

// GetRequest is a GetLogEvents read of one stream.
type GetRequest struct {
	// Token is "" or a token of an earlier result; its direction wins over
	// StartFromHead.
	Token string
	// StartFromHead reads oldest first; otherwise the newest events are
	// returned (still in ascending order) and reading goes backward.
	StartFromHead bool
	// StartTime (inclusive) and EndTime (exclusive) bound event timestamps.
	StartTime, EndTime *int64
	// Limit caps the number of events (MaxEventsPerRead if 0 or larger).
	Limit int
}

// OutputEvent is an event as GetLogEvents returns it.
type OutputEvent struct {
	Timestamp     int64
	IngestionTime int64
	Message       string
}

// GetResult is one page of a GetLogEvents read. Both tokens are always set;
// a token equal to the one sent means there is nothing further that way.
type GetResult struct {
	Events            []OutputEvent
	NextForwardToken  string
	NextBackwardToken string
}

// FormatToken returns the GetLogEvents token for reading forward from (or
// backward from before) event seq.
func FormatToken(forward bool, seq int64) string {
	if forward {
		return "f/" + strconv.FormatInt(seq, 10)
	}
	return "b/" + strconv.FormatInt(seq, 10)
}

// ParseToken parses a GetLogEvents token. Only the canonical form that
// FormatToken writes is accepted, so a token echoed back compares equal.
func ParseToken(tok string) (forward bool, seq int64, err error) {
	dir, digits, ok := strings.Cut(tok, "/")
	if !ok || (dir != "f" && dir != "b") {
		return false, 0, fmt.Errorf("token %q: %w", tok, ErrInvalidToken)
	}
	seq, err = parseCanonical(digits)
	if err != nil {
		return false, 0, fmt.Errorf("token %q: %w", tok, ErrInvalidToken)
	}
	return dir == "f", seq, nil
}

// parseCanonical parses a non-negative decimal without sign or leading zeros.
func parseCanonical(s string) (int64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("not canonical")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a number")
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// pos is a record boundary: the seq of the record there and its offset.
type pos struct{ seq, off int64 }

// streamReader reads one snapshot of a stream.
type streamReader struct {
	snap snapshot
	r    fileReader
}

func openReader(snap snapshot) (*streamReader, error) {
	f, err := os.Open(snap.path)
	if err != nil {
		return nil, fmt.Errorf("open log stream %s: %w", snap.name, err)
	}
	return &streamReader{snap: snap, r: fileReader{f: f, start: snap.dataStart, end: snap.size}}, nil
}

func (sr *streamReader) Close() error { return sr.r.f.Close() }

func (sr *streamReader) end() pos { return pos{sr.snap.count, sr.snap.size} }

// next returns the record at p and the position after it; p.seq < count.
func (sr *streamReader) next(p pos) (record, pos, error) {
	rec, off, err := sr.r.recordAt(p.off)
	if err != nil {
		return record{}, p, fmt.Errorf("read log stream %s: %w", sr.snap.name, err)
	}
	rec.seq = p.seq
	return rec, pos{p.seq + 1, off}, nil
}

// prev returns the record before p and its position; p.seq > 0.
func (sr *streamReader) prev(p pos) (record, pos, error) {
	rec, off, err := sr.r.recordBefore(p.off)
	if err != nil {
		return record{}, p, fmt.Errorf("read log stream %s: %w", sr.snap.name, err)
	}
	rec.seq = p.seq - 1
	return rec, pos{p.seq - 1, off}, nil
}

// seek returns the position of event seq (the end if seq >= count).
func (sr *streamReader) seek(seq int64) (pos, error) {
	if seq >= sr.snap.count {
		return sr.end(), nil
	}
	idx := sr.snap.index
	i := sort.Search(len(idx), func(i int) bool { return idx[i].seq > seq }) - 1
	p := pos{idx[i].seq, idx[i].off}
	for p.seq < seq {
		var err error
		if _, p, err = sr.next(p); err != nil {
			return p, err
		}
	}
	return p, nil
}

// lowerBound returns the position of the first event with a timestamp at or
// after ts (the end if none).
func (sr *streamReader) lowerBound(ts int64) (pos, error) {
	idx := sr.snap.index
	i := sort.Search(len(idx), func(i int) bool { return idx[i].ts >= ts })
	if i == 0 {
		if len(idx) == 0 {
			return sr.end(), nil
		}
		return pos{0, idx[0].off}, nil
	}
	// The answer lies between index entries i-1 and i: at most one chunk.
	p := pos{idx[i-1].seq, idx[i-1].off}
	for p.seq < sr.snap.count {
		rec, np, err := sr.next(p)
		if err != nil {
			return p, err
		}
		if rec.ts >= ts {
			return p, nil
		}
		p = np
	}
	return p, nil
}

// GetEvents reads one page of a stream (GetLogEvents).
func (s *Store) GetEvents(ctx context.Context, groupName, streamName string, req GetRequest) (GetResult, error) {
	forward, origin, hasToken := req.StartFromHead, int64(0), req.Token != ""
	if hasToken {
		var err error
		if forward, origin, err = ParseToken(req.Token); err != nil {
			return GetResult{}, err
		}
	}
	st, err := s.stream(groupName, streamName, false)
	if err != nil {
		return GetResult{}, err
	}
	snap, err := st.snapshot()
	if err != nil {
		return GetResult{}, err
	}
	if origin > snap.count {
		return GetResult{}, fmt.Errorf("token %q is past the end of %s: %w", req.Token, streamName, ErrInvalidToken)
	}
	if !hasToken && !forward {
		origin = snap.count
	}
	sr, err := openReader(snap)
	if err != nil {
		return GetResult{}, err
	}
	defer sr.Close()
	limit := req.Limit
	if limit <= 0 || limit > MaxEventsPerRead {
		limit = MaxEventsPerRead
	}
	p, err := sr.seek(origin)
	if err != nil {
		return GetResult{}, err
	}
	var res GetResult
	var text msgArena
	size := 0
	// fits reports whether an event of n message bytes still fits the page;
	// the first always does, since events are far below the page size.
	fits := func(n int) bool {
		if len(res.Events) >= limit || (len(res.Events) > 0 && size+n+EventOverhead > MaxBytesPerRead) {
			return false
		}
		size += n + EventOverhead
		return true
	}
	add := func(rec record) {
		if res.Events == nil {
			// Room for what is left to read that way, at most a page: a
			// follower polling the end of a big stream gets a few events,
			// and must not cost a page-sized buffer each time.
			left, leftBytes := snap.count-p.seq, snap.size-p.off
			if !forward {
				left, leftBytes = p.seq, p.off-snap.dataStart
			}
			res.Events = make([]OutputEvent, 0, min(int64(limit), left))
			text.grow(int(min(MaxBytesPerRead, leftBytes)), cap(res.Events))
		}
		res.Events = append(res.Events, OutputEvent{Timestamp: rec.ts, IngestionTime: rec.ingest})
		text.add(rec.msg)
	}
	if forward {
		if req.StartTime != nil {
			lb, err := sr.lowerBound(*req.StartTime)
			if err != nil {
				return GetResult{}, err
			}
			if lb.seq > p.seq {
				p = lb
			}
		}
		if !hasToken {
			origin = p.seq
		}
		first := p.seq
		for p.seq < snap.count {
			if err := checkCtx(ctx, len(res.Events)); err != nil {
				return GetResult{}, err
			}
			rec, np, err := sr.next(p)
			if err != nil {
				return GetResult{}, err
			}
			if (req.EndTime != nil && rec.ts >= *req.EndTime) || !fits(len(rec.msg)) {
				break
			}
			add(rec)
			p = np
		}
		text.strings(func(i int, m string) { res.Events[i].Message = m })
		if len(res.Events) == 0 {
			first, p.seq = origin, origin
		}
		res.NextForwardToken, res.NextBackwardToken = FormatToken(true, p.seq), FormatToken(false, first)
		return res, nil
	}

	if req.EndTime != nil {
		ub, err := sr.lowerBound(*req.EndTime)
		if err != nil {
			return GetResult{}, err
		}
		if ub.seq < p.seq {
			p = ub
		}
	}
	if !hasToken {
		origin = p.seq
	}
	after := p.seq
	for p.seq > 0 {
		if err := checkCtx(ctx, len(res.Events)); err != nil {
			return GetResult{}, err
		}
		rec, np, err := sr.prev(p)
		if err != nil {
			return GetResult{}, err
		}
		if (req.StartTime != nil && rec.ts < *req.StartTime) || !fits(len(rec.msg)) {
			break
		}
		add(rec)
		p = np
	}
	text.strings(func(i int, m string) { res.Events[i].Message = m })
	slices.Reverse(res.Events)
	if len(res.Events) == 0 {
		after, p.seq = origin, origin
	}
	res.NextForwardToken, res.NextBackwardToken = FormatToken(true, after), FormatToken(false, p.seq)
	return res, nil
}

// msgArena collects the messages of a page in one buffer that becomes one
// string: a page of 10,000 events costs one allocation, not 10,000, and the
// buffer becomes that string without a copy (strings.Builder).
type msgArena struct {
	buf  strings.Builder
	ends []int
}

// grow reserves room for n bytes of messages in events events.
func (a *msgArena) grow(n, events int) {
	a.buf.Grow(n)
	a.ends = make([]int, 0, events)
}

func (a *msgArena) add(msg []byte) {
	a.buf.Write(msg)
	a.ends = append(a.ends, a.buf.Len())
}

// strings calls set with each message, in the order added.
func (a *msgArena) strings(set func(i int, s string)) {
	all := a.buf.String()
	start := 0
	for i, end := range a.ends {
		set(i, all[start:end])
		start = end
	}
}

// checkCtx checks ctx every 256 iterations: often enough to stop a long
// scan, rarely enough to cost nothing.
func checkCtx(ctx context.Context, i int) error {
	if i%256 == 0 {
		return ctx.Err()
	}
	return nil
}
