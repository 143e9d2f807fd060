// Package sourcecache keeps assembled source trees, one per manifest, so a
// build of a tree the runner has seen before costs no copying at all: builds
// see a cached tree read-only through an overlay whose upper layer is their
// own. Trees share file inodes through hard links to one copy per (content,
// mode), so a tree that differs from the last by one file costs one copy and
// a link(2) per file.
package sourcecache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hangarci/hangar/internal/pack"
)

// Cache is a directory of assembled trees.
type Cache struct {
	dir   string // <dir>/trees/<manifest sha>, <dir>/files/<sha>.<mode>
	keep  int
	log   *slog.Logger
	clock func() time.Time

	mu    sync.Mutex
	trees map[string]*tree

	// sweepMu keeps the sweep of unlinked files away from assemblies: a
	// shared file is unlinked (link count 1) between its copy and its link.
	sweepMu sync.RWMutex
}

type tree struct {
	ready   chan struct{} // closed once assembled (or failed)
	err     error
	users   int
	lastUse time.Time
}

// Options configure a Cache.
type Options struct {
	// Keep is how many unused trees stay cached (default 8).
	Keep int
	Log  *slog.Logger
}

// Open opens (creating) a cache in dir. Trees left by an earlier process
// are not trusted (they may be half made) and are removed.
func Open(dir string, opts Options) (*Cache, error) {
	if opts.Keep == 0 {
		opts.Keep = 8
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if err := os.RemoveAll(filepath.Join(dir, "trees")); err != nil {
		return nil, fmt.Errorf("clear source cache: %w", err)
	}
	for _, d := range []string{"trees", "files"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("make source cache: %w", err)
		}
	}
	c := &Cache{dir: dir, keep: opts.Keep, log: opts.Log, clock: time.Now, trees: map[string]*tree{}}
	c.sweepFiles()
	return c, nil
}

// Get returns the root of the tree manifest m (whose hash, computed by the
// caller from the manifest's bytes — never taken from a name — is sum) describes,
// assembling it on first use. blobPath gives the file holding a blob. Call
// release when the build no longer needs the tree.
//
// manifest is called only when the tree must be assembled, so a tree the
// cache holds costs no parsing.
func (c *Cache) Get(ctx context.Context, sum string, manifest func() (*pack.Manifest, error), blobPath func(hash string) (string, error)) (root string, release func(), err error) {
	if !validSum(sum) {
		return "", nil, fmt.Errorf("source cache: bad manifest hash %q", sum)
	}
	c.mu.Lock()
	t, ok := c.trees[sum]
	if !ok {
		t = &tree{ready: make(chan struct{})}
		c.trees[sum] = t
	}
	t.users++
	c.mu.Unlock()
	root = filepath.Join(c.dir, "trees", sum)
	release = sync.OnceFunc(func() { c.release(sum, t) })

	if !ok {
		m, err := manifest()
		if err == nil {
			err = c.assemble(ctx, root, m, blobPath)
		}
		t.err = err
		close(t.ready)
	}
	select {
	case <-t.ready:
	case <-ctx.Done():
		release()
		return "", nil, ctx.Err()
	}
	if t.err != nil {
		release()
		return "", nil, t.err
	}
	return root, release, nil
}

// assemble makes the tree in a temporary directory and renames it into
// place, so a tree directory is always whole.
func (c *Cache) assemble(ctx context.Context, root string, m *pack.Manifest, blobPath func(string) (string, error)) error {
	c.sweepMu.RLock()
	defer c.sweepMu.RUnlock()
	tmp := root + ".tmp"
	os.RemoveAll(tmp)
	fileFor := func(hash string, mode uint32) (string, error) {
		return c.file(hash, mode, blobPath)
	}
	if err := pack.AssembleLinked(ctx, m, tmp, fileFor); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, root); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("source cache: %w", err)
	}
	return nil
}

// file returns the shared copy of a blob with a mode, making it once.
func (c *Cache) file(hash string, mode uint32, blobPath func(string) (string, error)) (string, error) {
	p := filepath.Join(c.dir, "files", hash+"."+strconv.FormatUint(uint64(mode&0o7777), 8))
	if _, err := os.Lstat(p); err == nil {
		return p, nil
	}
	src, err := blobPath(hash)
	if err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", p, time.Now().UnixNano())
	if err := pack.CopyFile(src, tmp, mode&0o7777); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("copy blob %s: %w", hash, err)
	}
	// Another build may have made the same file meanwhile; either is fine.
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("source cache: %w", err)
	}
	return p, nil
}

func (c *Cache) release(sum string, t *tree) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t.users--
	t.lastUse = c.clock()
	if t.err != nil && t.users == 0 {
		delete(c.trees, sum) // a failed tree is tried again next time
		return
	}
	c.evictLocked()
}

// evictLocked removes the least recently used unused trees beyond keep,
// then the shared files no tree links any more.
func (c *Cache) evictLocked() {
	var idle []string
	for sum, t := range c.trees {
		if t.users == 0 {
			select {
			case <-t.ready:
				idle = append(idle, sum)
			default:
			}
		}
	}
	if len(idle) <= c.keep {
		return
	}
	sort.Slice(idle, func(i, j int) bool { return c.trees[idle[i]].lastUse.Before(c.trees[idle[j]].lastUse) })
	for _, sum := range idle[:len(idle)-c.keep] {
		delete(c.trees, sum)
		if err := removeTree(filepath.Join(c.dir, "trees", sum)); err != nil {
			c.log.Warn("source cache: remove tree", "tree", sum, "err", err)
		}
	}
	go c.sweepFiles()
}

// removeTree removes a tree whose directories may be read-only.
func removeTree(root string) error {
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(root)
}

// sweepFiles removes shared files that no tree links (link count 1) and
// temporary files left by a crash.
func (c *Cache) sweepFiles() {
	c.sweepMu.Lock()
	defer c.sweepMu.Unlock()
	dir := filepath.Join(c.dir, "files")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if filepath.Ext(e.Name()) == ".tmp" && time.Since(fi.ModTime()) > time.Hour || ok && st.Nlink == 1 {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				c.log.Warn("source cache: remove file", "file", p, "err", err)
			}
		}
	}
}

func validSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
