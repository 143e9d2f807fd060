package logstore

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// indexEntry locates one record: its file offset, seq and timestamp.
type indexEntry struct{ off, seq, ts int64 }

// stream is one log stream file and what is known about it in memory.
//
// Lock order: group.mu, then wmu, then mu. Only holders of wmu change the
// fields under mu, so a writer may read them without mu.
type stream struct {
	g         *group
	name      string
	no        int64
	created   int64
	path      string
	dataStart int64

	wmu     sync.Mutex // serializes appends, loading and the write handle
	wf      *os.File   // kept-open append handle, or nil
	deleted bool
	broken  error // set when a failed write could not be undone

	mu         sync.Mutex
	size       int64
	hasEvents  bool
	firstTs    int64
	lastTs     int64
	lastIngest int64
	// The index and count are built on first use, not at Open, so that a
	// store with gigabytes of old logs opens fast.
	loaded bool
	count  int64
	index  []indexEntry
}

// openStreamFile reads a stream file's header and last record at Open,
// truncating a torn tail, so that an append after a crash never follows
// half a record.
func (s *Store) openStreamFile(path string) (*stream, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open log stream file: %w", err)
	}
	defer f.Close()
	meta, dataStart, err := readHeader(f)
	if err != nil {
		return nil, fmt.Errorf("open log stream file %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open log stream file %s: %w", path, err)
	}
	st := &stream{
		name: meta.Name, no: meta.No, created: meta.CreationTime,
		path: path, dataStart: dataStart, size: fi.Size(),
	}
	if st.size < dataStart {
		return nil, fmt.Errorf("open log stream file %s: shorter than its header", path)
	}
	r := &fileReader{f: f, start: dataStart, end: st.size}
	if st.size == dataStart {
		return st, nil
	}
	if _, _, err := r.recordBefore(st.size); err != nil {
		if !errors.Is(err, errCorrupt) {
			return nil, fmt.Errorf("open log stream file %s: %w", path, err)
		}
		idx, count, end, err := scanRecords(r, dataStart, true)
		if err != nil {
			return nil, fmt.Errorf("open log stream file %s: %w", path, err)
		}
		s.log.Warn("log store: truncating a torn record left by a crash",
			"stream", meta.Name, "file", path, "size", st.size, "truncatedTo", end)
		if err := f.Truncate(end); err != nil {
			return nil, fmt.Errorf("open log stream file %s: truncate torn record: %w", path, err)
		}
		st.size, r.end = end, end
		st.index, st.count, st.loaded = idx, count, true
		if end == dataStart {
			return st, nil
		}
	}
	first, _, err := r.recordAt(dataStart)
	if err != nil {
		return nil, fmt.Errorf("open log stream file %s: %w", path, err)
	}
	st.firstTs = first.ts
	last, _, err := r.recordBefore(st.size)
	if err != nil {
		return nil, fmt.Errorf("open log stream file %s: %w", path, err)
	}
	st.hasEvents, st.lastTs, st.lastIngest = true, last.ts, last.ingest
	return st, nil
}

// scanRecords reads every record from off to r.end and builds the sparse
// index. With tolerant set it stops at the first bad record instead of
// failing and returns where the good records end.
func scanRecords(r *fileReader, off int64, tolerant bool) ([]indexEntry, int64, int64, error) {
	var idx []indexEntry
	var seq int64
	for off < r.end {
		rec, next, err := r.recordAt(off)
		if err != nil {
			if tolerant && errors.Is(err, errCorrupt) {
				break
			}
			return nil, 0, 0, fmt.Errorf("scan records: %w", err)
		}
		if len(idx) == 0 || off-idx[len(idx)-1].off >= indexInterval {
			idx = append(idx, indexEntry{off: off, seq: seq, ts: rec.ts})
		}
		off = next
		seq++
	}
	return idx, seq, off, nil
}

// loadLocked builds the index and count on first use; wmu must be held.
func (st *stream) loadLocked() error {
	if st.loaded {
		return nil
	}
	f, err := os.Open(st.path)
	if err != nil {
		return fmt.Errorf("load log stream %s: %w", st.name, err)
	}
	defer f.Close()
	r := &fileReader{f: f, start: st.dataStart, end: st.size}
	idx, count, _, err := scanRecords(r, st.dataStart, false)
	if err != nil {
		return fmt.Errorf("load log stream %s: %w", st.name, err)
	}
	st.mu.Lock()
	st.index, st.count, st.loaded = idx, count, true
	st.mu.Unlock()
	return nil
}

// snapshot is a consistent view of a stream for one read: everything in it
// stays valid while appends go on, because the file and the index only grow.
type snapshot struct {
	name      string
	no        int64
	path      string
	dataStart int64
	size      int64
	count     int64
	index     []indexEntry
}

func (st *stream) snapshot() (snapshot, error) {
	st.mu.Lock()
	loaded := st.loaded
	st.mu.Unlock()
	if !loaded {
		st.wmu.Lock()
		err := st.loadLocked()
		st.wmu.Unlock()
		if err != nil {
			return snapshot{}, err
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return snapshot{
		name: st.name, no: st.no, path: st.path, dataStart: st.dataStart,
		size: st.size, count: st.count, index: st.index[:len(st.index):len(st.index)],
	}, nil
}

func (st *stream) info() StreamInfo {
	st.mu.Lock()
	defer st.mu.Unlock()
	return StreamInfo{
		Name: st.name, CreationTime: st.created, HasEvents: st.hasEvents,
		FirstEventTimestamp: st.firstTs, LastEventTimestamp: st.lastTs,
		LastIngestionTime: st.lastIngest, StoredBytes: st.size - st.dataStart,
	}
}

// appendBatch encodes n events (at returns each) and writes them with one
// write(2). It is generic so that the line writer appends []byte lines and
// Append appends strings without copying either into the other.
func appendBatch[M msgBytes](s *Store, st *stream, n int, at func(int) (int64, M)) error {
	if n == 0 {
		return nil
	}
	if s.closed.Load() {
		return ErrClosed
	}
	st.wmu.Lock()
	defer st.wmu.Unlock()
	switch {
	case st.deleted:
		return fmt.Errorf("log stream %s: %w", st.name, ErrStreamNotFound)
	case st.broken != nil:
		return fmt.Errorf("log stream %s is unwritable until restart: %w", st.name, st.broken)
	}
	if err := st.loadLocked(); err != nil {
		return err
	}
	size, count, lastTs, hasEvents := st.size, st.count, st.lastTs, st.hasEvents
	ingest := s.now().UnixMilli()

	bp := s.bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 4<<20 {
			s.bufPool.Put(bp)
		}
	}()
	buf := (*bp)[:0]
	// Appending to the shared index is safe: snapshots hold a shorter
	// length, so they never see entries past it, written or not.
	idx := st.index
	off := size
	var firstTs int64
	for i := range n {
		ts, msg := at(i)
		// Keep the stream sorted by time (see the package doc).
		if (hasEvents || i > 0) && ts < lastTs {
			ts = lastTs
		}
		if i == 0 {
			firstTs = ts
		}
		if len(idx) == 0 || off-idx[len(idx)-1].off >= indexInterval {
			idx = append(idx, indexEntry{off: off, seq: count + int64(i), ts: ts})
		}
		before := len(buf)
		buf = appendRecord(buf, ts, ingest, msg)
		off += int64(len(buf) - before)
		lastTs = ts
	}
	*bp = buf

	f, keep, err := st.writerLocked(s)
	if err != nil {
		return err
	}
	// One write(2) per batch. Once it returns the kernel holds the bytes,
	// which is what surviving a kill -9 takes; no fsync (see package doc).
	_, werr := f.Write(buf)
	if werr != nil {
		// Cut off a partial write so that the file still ends on a record
		// boundary; if even that fails, Open's recovery will do it.
		if terr := f.Truncate(size); terr != nil {
			st.broken = errors.Join(werr, terr)
		}
	}
	if !keep {
		if cerr := f.Close(); cerr != nil && werr == nil {
			werr = cerr
		}
	}
	if werr != nil {
		return fmt.Errorf("write %d events to %s: %w", n, st.path, werr)
	}

	st.mu.Lock()
	st.size, st.count, st.index = off, count+int64(n), idx
	st.lastTs, st.lastIngest = lastTs, ingest
	if !st.hasEvents {
		st.hasEvents, st.firstTs = true, firstTs
	}
	st.mu.Unlock()
	return nil
}

// writerLocked returns an append handle and whether it is kept open; wmu
// must be held.
func (st *stream) writerLocked(s *Store) (*os.File, bool, error) {
	if st.wf != nil {
		return st.wf, true, nil
	}
	f, err := os.OpenFile(st.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, false, fmt.Errorf("open log stream %s for append: %w", st.name, err)
	}
	if s.openWriters.Add(1) <= s.maxWriters {
		st.wf = f
		return f, true, nil
	}
	s.openWriters.Add(-1)
	return f, false, nil
}

// releaseWriterLocked closes the kept append handle; wmu must be held.
func (st *stream) releaseWriterLocked(s *Store) error {
	if st.wf == nil {
		return nil
	}
	err := st.wf.Close()
	st.wf = nil
	s.openWriters.Add(-1)
	if err != nil {
		return fmt.Errorf("close log stream %s: %w", st.name, err)
	}
	return nil
}
