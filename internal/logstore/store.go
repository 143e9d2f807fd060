package logstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits of CloudWatch Logs that the store enforces.
const (
	// EventOverhead is what CloudWatch adds to a message's length when it
	// counts event and batch sizes.
	EventOverhead = 26
	// MaxMessageBytes is the longest message of one event: CloudWatch's
	// 1 MiB event limit (PutLogEvents) less the per-event overhead.
	MaxMessageBytes = 1<<20 - EventOverhead
	// MaxLineBytes is the longest event a LineWriter makes: the 256 KiB
	// event limit CodeBuild's agent works with, less the overhead. Smaller
	// events keep pages of live output small.
	MaxLineBytes = 256<<10 - EventOverhead
	// MaxNameLen is the longest group or stream name.
	MaxNameLen = 512
)

// Errors returned by the store; test with errors.Is.
var (
	ErrGroupNotFound  = errors.New("log group does not exist")
	ErrStreamNotFound = errors.New("log stream does not exist")
	ErrGroupExists    = errors.New("log group already exists")
	ErrStreamExists   = errors.New("log stream already exists")
	ErrInvalidToken   = errors.New("invalid token")
	ErrInvalid        = errors.New("invalid argument")
	ErrClosed         = errors.New("log store closed")
)

// Event is one event to append: a timestamp in epoch milliseconds and a
// message of 1 to MaxMessageBytes bytes.
type Event struct {
	Timestamp int64
	Message   string
}

// Options tune a Store. The zero value is usable.
type Options struct {
	// Logger receives recovery notes and background write errors.
	Logger *slog.Logger
	// Now is the clock for creation and ingestion times (time.Now if nil).
	Now func() time.Time
	// MaxOpenWriters caps append file handles kept open across calls
	// (default 256); streams beyond it open and close the file per append.
	MaxOpenWriters int
}

// Store is a directory of log groups and streams. It is safe for concurrent
// use; one process owns a directory at a time.
type Store struct {
	dir         string
	log         *slog.Logger
	now         func() time.Time
	maxWriters  int64
	openWriters atomic.Int64
	closed      atomic.Bool
	bufPool     sync.Pool // *[]byte encode buffers for appends
	scanBudget  int       // maxScanBytes; tests lower it

	mu          sync.RWMutex
	groups      map[string]*group
	nextGroupID int64
}

type group struct {
	id      int64
	name    string
	dir     string
	created int64

	mu      sync.RWMutex
	streams map[string]*stream
	nextNo  int64
	deleted bool
}

type groupMeta struct {
	Name         string `json:"name"`
	CreationTime int64  `json:"creationTime"`
}

// GroupInfo describes a log group.
type GroupInfo struct {
	Name         string
	CreationTime int64
	StoredBytes  int64
}

// StreamInfo describes a log stream. The event times are zero when
// HasEvents is false.
type StreamInfo struct {
	Name                string
	CreationTime        int64
	HasEvents           bool
	FirstEventTimestamp int64
	LastEventTimestamp  int64
	LastIngestionTime   int64
	StoredBytes         int64
}

// Open opens (creating if needed) the store in dir, removes what a crash
// left half-done and truncates torn records at the end of streams.
func Open(dir string, opts Options) (*Store, error) {
	s := &Store{
		dir:        dir,
		log:        opts.Logger,
		now:        opts.Now,
		maxWriters: int64(opts.MaxOpenWriters),
		groups:     make(map[string]*group),
	}
	s.bufPool.New = func() any { b := make([]byte, 0, readChunk); return &b }
	s.scanBudget = maxScanBytes
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxWriters <= 0 {
		s.maxWriters = 256
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open log store: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open log store: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "tmp-") || strings.HasPrefix(name, "del-"):
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("open log store: remove leftover %s: %w", name, err)
			}
		case e.IsDir() && strings.HasPrefix(name, "g"):
			id, err := strconv.ParseInt(name[1:], 10, 64)
			if err != nil {
				continue
			}
			s.nextGroupID = max(s.nextGroupID, id+1)
			g, err := s.loadGroup(id, filepath.Join(dir, name))
			if err != nil {
				// One unreadable group must not take the others down.
				s.log.Error("log store: skipping unreadable log group", "dir", name, "err", err)
				continue
			}
			if old, dup := s.groups[g.name]; dup {
				s.log.Error("log store: duplicate log group, keeping the older", "group", g.name, "dirs", []string{old.dir, g.dir})
				continue
			}
			s.groups[g.name] = g
		}
	}
	return s, nil
}

func (s *Store) loadGroup(id int64, dir string) (*group, error) {
	b, err := os.ReadFile(filepath.Join(dir, "group.json"))
	if err != nil {
		return nil, fmt.Errorf("load log group: %w", err)
	}
	var m groupMeta
	if err := json.Unmarshal(b, &m); err != nil || m.Name == "" {
		return nil, fmt.Errorf("load log group %s: bad group.json: %v", dir, err)
	}
	g := &group{id: id, name: m.Name, dir: dir, created: m.CreationTime, streams: make(map[string]*stream)}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load log group %s: %w", m.Name, err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("load log group %s: remove leftover %s: %w", m.Name, name, err)
			}
			continue
		}
		if !strings.HasPrefix(name, "s") || !strings.HasSuffix(name, ".log") {
			continue
		}
		no, err := strconv.ParseInt(strings.TrimSuffix(name[1:], ".log"), 10, 64)
		if err != nil {
			continue
		}
		g.nextNo = max(g.nextNo, no+1)
		st, err := s.openStreamFile(filepath.Join(dir, name))
		if err != nil {
			s.log.Error("log store: skipping unreadable log stream", "group", m.Name, "file", name, "err", err)
			continue
		}
		st.g = g
		g.streams[st.name] = st
	}
	return g, nil
}

// Close releases open files. Appends after Close fail.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.mu.Lock()
	groups := make([]*group, 0, len(s.groups))
	for _, g := range s.groups {
		groups = append(groups, g)
	}
	s.mu.Unlock()
	var errs []error
	for _, g := range groups {
		for _, st := range g.streamList() {
			st.wmu.Lock()
			errs = append(errs, st.releaseWriterLocked(s))
			st.wmu.Unlock()
		}
	}
	return errors.Join(errs...)
}

func (g *group) streamList() []*stream {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]*stream, 0, len(g.streams))
	for _, st := range g.streams {
		out = append(out, st)
	}
	return out
}

func checkName(kind, name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%s name must be 1 to %d bytes: %w", kind, MaxNameLen, ErrInvalid)
	}
	return nil
}

// CreateGroup creates an empty log group; ErrGroupExists if it exists.
func (s *Store) CreateGroup(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, created, err := s.group(name, true)
	if err != nil {
		return err
	}
	if !created {
		return fmt.Errorf("create log group %s: %w", name, ErrGroupExists)
	}
	return nil
}

// group returns the named group, creating it when create is set.
func (s *Store) group(name string, create bool) (*group, bool, error) {
	s.mu.RLock()
	g, ok := s.groups[name]
	s.mu.RUnlock()
	switch {
	case ok:
		return g, false, nil
	case !create:
		return nil, false, fmt.Errorf("log group %s: %w", name, ErrGroupNotFound)
	case s.closed.Load():
		return nil, false, ErrClosed
	}
	if err := checkName("log group", name); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[name]; ok {
		return g, false, nil
	}
	id := s.nextGroupID
	s.nextGroupID++
	created := s.now().UnixMilli()
	js, err := json.Marshal(groupMeta{Name: name, CreationTime: created})
	if err != nil {
		return nil, false, fmt.Errorf("create log group %s: %w", name, err)
	}
	// Build the group in a temporary directory and rename it into place so
	// that a crash never leaves a group without its metadata.
	tmp := filepath.Join(s.dir, fmt.Sprintf("tmp-g%d", id))
	final := filepath.Join(s.dir, fmt.Sprintf("g%d", id))
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, false, fmt.Errorf("create log group %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "group.json"), js, 0o600); err != nil {
		os.RemoveAll(tmp)
		return nil, false, fmt.Errorf("create log group %s: %w", name, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		return nil, false, fmt.Errorf("create log group %s: %w", name, err)
	}
	g = &group{id: id, name: name, dir: final, created: created, streams: make(map[string]*stream)}
	s.groups[name] = g
	return g, true, nil
}

// CreateStream creates an empty stream in an existing group;
// ErrGroupNotFound or ErrStreamExists otherwise.
func (s *Store) CreateStream(ctx context.Context, groupName, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g, _, err := s.group(groupName, false)
	if err != nil {
		return err
	}
	_, created, err := s.streamIn(g, name, true)
	if err != nil {
		return err
	}
	if !created {
		return fmt.Errorf("create log stream %s/%s: %w", groupName, name, ErrStreamExists)
	}
	return nil
}

// stream returns the named stream, creating the group and stream if create.
func (s *Store) stream(groupName, name string, create bool) (*stream, error) {
	g, _, err := s.group(groupName, create)
	if err != nil {
		return nil, err
	}
	st, _, err := s.streamIn(g, name, create)
	return st, err
}

func (s *Store) streamIn(g *group, name string, create bool) (*stream, bool, error) {
	g.mu.RLock()
	st, ok := g.streams[name]
	deleted := g.deleted
	g.mu.RUnlock()
	switch {
	case deleted:
		return nil, false, fmt.Errorf("log group %s: %w", g.name, ErrGroupNotFound)
	case ok:
		return st, false, nil
	case !create:
		return nil, false, fmt.Errorf("log stream %s/%s: %w", g.name, name, ErrStreamNotFound)
	}
	if err := checkName("log stream", name); err != nil {
		return nil, false, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deleted {
		return nil, false, fmt.Errorf("log group %s: %w", g.name, ErrGroupNotFound)
	}
	if st, ok := g.streams[name]; ok {
		return st, false, nil
	}
	no := g.nextNo
	meta := streamMeta{Name: name, No: no, CreationTime: s.now().UnixMilli()}
	hdr, err := encodeHeader(meta)
	if err != nil {
		return nil, false, err
	}
	// Same reason as for groups: a stream file appears whole or not at all.
	final := filepath.Join(g.dir, fmt.Sprintf("s%d.log", no))
	tmp := final + ".tmp"
	if err := os.WriteFile(tmp, hdr, 0o600); err != nil {
		os.Remove(tmp)
		return nil, false, fmt.Errorf("create log stream %s/%s: %w", g.name, name, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return nil, false, fmt.Errorf("create log stream %s/%s: %w", g.name, name, err)
	}
	g.nextNo++
	st = &stream{
		g: g, name: name, no: no, created: meta.CreationTime, path: final,
		dataStart: int64(len(hdr)), size: int64(len(hdr)), loaded: true,
	}
	g.streams[name] = st
	return st, true, nil
}

// DeleteGroup deletes a group with all its streams. Readers in flight finish
// on the unlinked files; writers get ErrStreamNotFound.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	g, ok := s.groups[name]
	delete(s.groups, name)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("delete log group %s: %w", name, ErrGroupNotFound)
	}
	g.mu.Lock()
	g.deleted = true
	g.mu.Unlock()
	var errs []error
	for _, st := range g.streamList() {
		st.wmu.Lock()
		st.deleted = true
		errs = append(errs, st.releaseWriterLocked(s))
		st.wmu.Unlock()
	}
	// Rename first so that a crash in RemoveAll leaves a del- directory that
	// Open removes, never half a group.
	trash := filepath.Join(s.dir, fmt.Sprintf("del-g%d", g.id))
	if err := os.Rename(g.dir, trash); err != nil {
		return fmt.Errorf("delete log group %s: %w", name, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete log group %s: %w", name, err)
	}
	return nil
}

// Groups lists all groups sorted by name.
func (s *Store) Groups() []GroupInfo {
	s.mu.RLock()
	groups := make([]*group, 0, len(s.groups))
	for _, g := range s.groups {
		groups = append(groups, g)
	}
	s.mu.RUnlock()
	out := make([]GroupInfo, 0, len(groups))
	for _, g := range groups {
		out = append(out, g.info())
	}
	slices.SortFunc(out, func(a, b GroupInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Group describes one group.
func (s *Store) Group(name string) (GroupInfo, error) {
	g, _, err := s.group(name, false)
	if err != nil {
		return GroupInfo{}, err
	}
	return g.info(), nil
}

func (g *group) info() GroupInfo {
	gi := GroupInfo{Name: g.name, CreationTime: g.created}
	for _, st := range g.streamList() {
		gi.StoredBytes += st.info().StoredBytes
	}
	return gi
}

// Streams lists the streams of a group sorted by name.
func (s *Store) Streams(groupName string) ([]StreamInfo, error) {
	g, _, err := s.group(groupName, false)
	if err != nil {
		return nil, err
	}
	list := g.streamList()
	out := make([]StreamInfo, 0, len(list))
	for _, st := range list {
		out = append(out, st.info())
	}
	slices.SortFunc(out, func(a, b StreamInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Stream describes one stream.
func (s *Store) Stream(groupName, name string) (StreamInfo, error) {
	st, err := s.stream(groupName, name, false)
	if err != nil {
		return StreamInfo{}, err
	}
	return st.info(), nil
}

// Append appends events to a stream, creating the group and stream if
// needed. The events are readable, and survive a kill -9, when it returns.
func (s *Store) Append(ctx context.Context, groupName, streamName string, events []Event) error {
	return s.appendEvents(ctx, groupName, streamName, events, true)
}

// AppendExisting is Append for a stream that must already exist
// (PutLogEvents): ErrGroupNotFound or ErrStreamNotFound otherwise.
func (s *Store) AppendExisting(ctx context.Context, groupName, streamName string, events []Event) error {
	return s.appendEvents(ctx, groupName, streamName, events, false)
}

func (s *Store) appendEvents(ctx context.Context, groupName, streamName string, events []Event, create bool) error {
	// A local write cannot be interrupted; the context only stops work
	// that has not started.
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, e := range events {
		if err := checkEvent(e.Timestamp, len(e.Message)); err != nil {
			return fmt.Errorf("append to %s/%s: event %d: %w", groupName, streamName, i, err)
		}
	}
	st, err := s.stream(groupName, streamName, create)
	if err != nil {
		return err
	}
	err = appendBatch(s, st, len(events), func(i int) (int64, string) {
		return events[i].Timestamp, events[i].Message
	})
	if err != nil {
		return fmt.Errorf("append to %s/%s: %w", groupName, streamName, err)
	}
	return nil
}

func checkEvent(ts int64, msgLen int) error {
	switch {
	case ts < 0:
		return fmt.Errorf("negative timestamp %d: %w", ts, ErrInvalid)
	case msgLen == 0:
		return fmt.Errorf("empty message: %w", ErrInvalid)
	case msgLen > MaxMessageBytes:
		return fmt.Errorf("message of %d bytes exceeds %d: %w", msgLen, MaxMessageBytes, ErrInvalid)
	}
	return nil
}
