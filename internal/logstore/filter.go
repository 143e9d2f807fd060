package logstore

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxScanBytes bounds the message bytes one Filter call examines, so that a
// pattern that rarely matches answers with a partial page and a token (as
// CloudWatch does) instead of reading a whole group in one request.
const maxScanBytes = 64 << 20

// FilterRequest is a FilterLogEvents search of a group.
type FilterRequest struct {
	// StreamNames (all must exist) or StreamPrefix select streams; neither
	// selects all.
	StreamNames  []string
	StreamPrefix string
	// StartTime and EndTime bound timestamps, both inclusive.
	StartTime, EndTime *int64
	// Pattern selects messages; nil matches all.
	Pattern *Pattern
	// Token is "" or the NextToken of an earlier result; its direction
	// wins over Backward.
	Token string
	// Limit caps the events returned (MaxEventsPerRead if 0 or larger).
	Limit int
	// Backward returns the newest events first.
	Backward bool
}

// FilteredEvent is an event as FilterLogEvents returns it.
type FilteredEvent struct {
	StreamName    string
	Timestamp     int64
	IngestionTime int64
	Message       string
	EventID       string
}

// FilterResult is one page of a Filter search; NextToken is "" when the
// search is done.
type FilterResult struct {
	Events    []FilteredEvent
	NextToken string
}

// eventKey orders the events of a group: by time, then stream, then seq.
type eventKey struct{ ts, no, seq int64 }

func (a eventKey) cmp(b eventKey) int {
	switch {
	case a.ts != b.ts:
		return cmpInt(a.ts, b.ts)
	case a.no != b.no:
		return cmpInt(a.no, b.no)
	default:
		return cmpInt(a.seq, b.seq)
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Widths of the parts of an event id; 56 digits like CloudWatch's ids.
const (
	idTsDigits  = 20
	idNoDigits  = 16
	idSeqDigits = 20
	idLen       = idTsDigits + idNoDigits + idSeqDigits
)

// EventID returns the id of a key: stable (derived from what is stored),
// unique within a group, and ordered like the keys.
func (a eventKey) EventID() string {
	b := make([]byte, 0, idLen)
	b = appendPadded(b, a.ts, idTsDigits)
	b = appendPadded(b, a.no, idNoDigits)
	b = appendPadded(b, a.seq, idSeqDigits)
	return string(b)
}

func appendPadded(b []byte, v int64, width int) []byte {
	var tmp [20]byte
	d := strconv.AppendInt(tmp[:0], v, 10)
	for range width - len(d) {
		b = append(b, '0')
	}
	return append(b, d...)
}

func parseEventID(s string) (eventKey, error) {
	if len(s) != idLen {
		return eventKey{}, errors.New("bad event id length")
	}
	var parts [3]int64
	off := 0
	for i, w := range [3]int{idTsDigits, idNoDigits, idSeqDigits} {
		part := s[off : off+w]
		for j := 0; j < len(part); j++ {
			if part[j] < '0' || part[j] > '9' {
				return eventKey{}, errors.New("bad event id digit")
			}
		}
		v, err := strconv.ParseInt(part, 10, 64)
		if err != nil {
			return eventKey{}, err
		}
		parts[i] = v
		off += w
	}
	return eventKey{parts[0], parts[1], parts[2]}, nil
}

// formatFilterToken and parseFilterToken handle FilterLogEvents tokens:
// a direction and the key of the last event examined.
func formatFilterToken(forward bool, k eventKey) string {
	if forward {
		return "f/" + k.EventID()
	}
	return "b/" + k.EventID()
}

func parseFilterToken(tok string) (bool, eventKey, error) {
	dir, id, ok := strings.Cut(tok, "/")
	if !ok || (dir != "f" && dir != "b") {
		return false, eventKey{}, fmt.Errorf("token %q: %w", tok, ErrInvalidToken)
	}
	k, err := parseEventID(id)
	if err != nil {
		return false, eventKey{}, fmt.Errorf("token %q: %w", tok, ErrInvalidToken)
	}
	return dir == "f", k, nil
}

// source is one stream in a Filter merge. Until opened it stands in the
// heap with a key no greater (no smaller, backward) than any of its events,
// so streams are opened only when the merge reaches them: a group with
// thousands of builds one after another has one or two files open at once.
type source struct {
	st          *stream
	info        StreamInfo
	no          int64
	sr          *streamReader
	p           pos
	head        record
	key         eventKey
	placeholder bool
}

type mergeHeap struct {
	items   []*source
	forward bool
}

func (h *mergeHeap) Len() int { return len(h.items) }
func (h *mergeHeap) Less(i, j int) bool {
	c := h.items[i].key.cmp(h.items[j].key)
	if h.forward {
		return c < 0
	}
	return c > 0
}
func (h *mergeHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *mergeHeap) Push(x any)    { h.items = append(h.items, x.(*source)) }
func (h *mergeHeap) Pop() any {
	n := len(h.items) - 1
	x := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	return x
}

// filterBounds is what a Filter call reads: timestamps in [lo, hi] and, on
// a later page, events past key after.
type filterBounds struct {
	lo, hi  int64
	after   *eventKey
	forward bool
}

// Filter searches the streams of a group (FilterLogEvents).
func (s *Store) Filter(ctx context.Context, groupName string, req FilterRequest) (FilterResult, error) {
	b := filterBounds{lo: 0, hi: math.MaxInt64, forward: !req.Backward}
	if req.Token != "" {
		fwd, k, err := parseFilterToken(req.Token)
		if err != nil {
			return FilterResult{}, err
		}
		b.forward, b.after = fwd, &k
	}
	if req.StartTime != nil {
		b.lo = max(b.lo, *req.StartTime)
	}
	if req.EndTime != nil {
		b.hi = *req.EndTime
	}
	g, _, err := s.group(groupName, false)
	if err != nil {
		return FilterResult{}, err
	}
	streams, err := selectStreams(g, req.StreamNames, req.StreamPrefix)
	if err != nil {
		return FilterResult{}, err
	}
	h := &mergeHeap{forward: b.forward}
	defer func() {
		for _, src := range h.items {
			if src.sr != nil {
				src.sr.Close()
			}
		}
	}()
	for _, st := range streams {
		src := &source{st: st, info: st.info(), no: st.no, placeholder: true}
		if key, ok := b.placeholderKey(src); ok {
			src.key = key
			h.items = append(h.items, src)
		}
	}
	heap.Init(h)

	limit := req.Limit
	if limit <= 0 || limit > MaxEventsPerRead {
		limit = MaxEventsPerRead
	}
	var (
		res      FilterResult
		text     msgArena
		size     int
		scanned  int
		examined int
		last     eventKey
	)
	for h.Len() > 0 {
		src := h.items[0]
		if src.placeholder {
			if err := b.open(src); err != nil {
				return FilterResult{}, err
			}
			if src.sr == nil {
				heap.Pop(h)
			} else {
				heap.Fix(h, 0)
			}
			continue
		}
		if err := checkCtx(ctx, examined); err != nil {
			return FilterResult{}, err
		}
		if len(res.Events) >= limit || scanned >= s.scanBudget {
			break
		}
		rec := src.head
		if req.Pattern.Match(rec.msg) {
			n := len(rec.msg) + EventOverhead
			if len(res.Events) > 0 && size+n > MaxBytesPerRead {
				break
			}
			size += n
			res.Events = append(res.Events, FilteredEvent{
				StreamName: src.info.Name, Timestamp: rec.ts, IngestionTime: rec.ingest,
				EventID: src.key.EventID(),
			})
			text.add(rec.msg)
		}
		examined++
		scanned += len(rec.msg)
		last = src.key
		ok, err := b.advance(src)
		if err != nil {
			return FilterResult{}, err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
			src.sr.Close()
		}
	}
	text.strings(func(i int, m string) { res.Events[i].Message = m })
	// The loop stops early only after examining an event, so last is set.
	if h.Len() > 0 {
		res.NextToken = formatFilterToken(b.forward, last)
	}
	return res, nil
}

// selectStreams returns the streams named (all must exist) or those with
// the prefix.
func selectStreams(g *group, names []string, prefix string) ([]*stream, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if len(names) > 0 {
		out := make([]*stream, 0, len(names))
		seen := make(map[string]bool, len(names))
		for _, n := range names {
			st, ok := g.streams[n]
			if !ok {
				return nil, fmt.Errorf("log stream %s/%s: %w", g.name, n, ErrStreamNotFound)
			}
			if !seen[n] {
				seen[n] = true
				out = append(out, st)
			}
		}
		return out, nil
	}
	out := make([]*stream, 0, len(g.streams))
	for name, st := range g.streams {
		if strings.HasPrefix(name, prefix) {
			out = append(out, st)
		}
	}
	return out, nil
}

// placeholderKey returns the key a stream waits under before it is opened,
// or false when none of its events can be in the result.
func (b *filterBounds) placeholderKey(src *source) (eventKey, bool) {
	in := src.info
	if !in.HasEvents || in.LastEventTimestamp < b.lo || in.FirstEventTimestamp > b.hi || b.lo > b.hi {
		return eventKey{}, false
	}
	if b.forward {
		ts := max(in.FirstEventTimestamp, b.lo)
		if b.after != nil {
			if in.LastEventTimestamp < b.after.ts {
				return eventKey{}, false
			}
			ts = max(ts, b.after.ts)
		}
		return eventKey{ts, src.no, -1}, true
	}
	ts := min(in.LastEventTimestamp, b.hi)
	if b.after != nil {
		if in.FirstEventTimestamp > b.after.ts {
			return eventKey{}, false
		}
		ts = min(ts, b.after.ts)
	}
	return eventKey{ts, src.no, math.MaxInt64}, true
}

// open opens a placeholder's stream, positions it past the previous page
// and reads its first event; src.sr stays nil when there is none.
func (b *filterBounds) open(src *source) error {
	src.placeholder = false
	snap, err := src.st.snapshot()
	if err != nil {
		return err
	}
	sr, err := openReader(snap)
	if err != nil {
		return err
	}
	p, err := b.startPos(sr, src.no)
	if err == nil {
		src.sr, src.p = sr, p
		var ok bool
		if ok, err = b.advance(src); err == nil && !ok {
			src.sr = nil
		}
	}
	if src.sr == nil {
		sr.Close()
	}
	return err
}

// startPos is where a stream's part of the result begins (forward: the
// first event in it; backward: the boundary after the last event in it).
func (b *filterBounds) startPos(sr *streamReader, no int64) (pos, error) {
	a := b.after
	if b.forward {
		p, err := sr.lowerBound(b.lo)
		if err != nil || a == nil {
			return p, err
		}
		var q pos
		switch {
		case no > a.no:
			q, err = sr.lowerBound(a.ts)
		case no < a.no:
			q, err = strictlyAfter(sr, a.ts)
		default:
			q, err = sr.seek(a.seq + 1)
		}
		if q.seq > p.seq {
			p = q
		}
		return p, err
	}
	p, err := strictlyAfter(sr, b.hi)
	if err != nil || a == nil {
		return p, err
	}
	var q pos
	switch {
	case no > a.no:
		q, err = sr.lowerBound(a.ts)
	case no < a.no:
		q, err = strictlyAfter(sr, a.ts)
	default:
		q, err = sr.seek(a.seq)
	}
	if q.seq < p.seq {
		p = q
	}
	return p, err
}

// strictlyAfter returns the position of the first event newer than ts.
func strictlyAfter(sr *streamReader, ts int64) (pos, error) {
	if ts == math.MaxInt64 {
		return sr.end(), nil
	}
	return sr.lowerBound(ts + 1)
}

// advance reads a source's next event in the merge direction into its head,
// and reports false when the source has no more events in bounds.
func (b *filterBounds) advance(src *source) (bool, error) {
	var (
		rec record
		err error
	)
	if b.forward {
		if src.p.seq >= src.sr.snap.count {
			return false, nil
		}
		rec, src.p, err = src.sr.next(src.p)
		if err != nil || rec.ts > b.hi {
			return false, err
		}
	} else {
		if src.p.seq <= 0 {
			return false, nil
		}
		rec, src.p, err = src.sr.prev(src.p)
		if err != nil || rec.ts < b.lo {
			return false, err
		}
	}
	src.head, src.key = rec, eventKey{rec.ts, src.no, rec.seq}
	return true, nil
}
