package pack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hangarci/hangar/internal/bytesize"
)

// DefaultAlwaysRemove returns what Options.AlwaysRemove means when nil
// (Jets' code.copy.always_remove default).
func DefaultAlwaysRemove() []string { return []string{"tmp"} }

// DefaultWarnSize is the total file size over which Scan warns (Jets warns
// over 1 GB too).
const DefaultWarnSize = 1 << 30

// Names of the ignore files read in every directory.
const (
	GitignoreName    = ".gitignore"
	HangarignoreName = ".hangarignore"
)

// Options controls Scan.
type Options struct {
	// AlwaysKeep lists paths (relative to the root, "/"-separated) packed even
	// when an ignore file excludes them; a directory keeps all it holds.
	AlwaysKeep []string
	// AlwaysRemove lists paths never packed; it beats AlwaysKeep. Nil means
	// DefaultAlwaysRemove, an empty non-nil slice removes nothing.
	AlwaysRemove []string
	// CacheDir holds the hash cache (e.g. a "pack" dir under the user's cache
	// dir). Empty disables it, and every file is hashed.
	CacheDir string
	// WarnSize is the total file size above which Report gets a warning;
	// 0 means DefaultWarnSize.
	WarnSize int64

	racy time.Duration // tests only: replaces racyWindow when set
}

// Scan walks the working tree at root and returns the manifest of what is
// packed: everything except .git, what .gitignore files (nested, with
// negations; .git/info/exclude too when root is in a repository, and the
// .gitignore files between the repository top and root) and the
// .hangarignore files of the tree exclude, plus Options.AlwaysKeep, minus
// Options.AlwaysRemove. The user's global excludes file is not read: what
// is packed must not depend on whose machine packs it.
// Symlinks are recorded, never followed; sockets, FIFOs and devices are
// skipped with a note. Files are hashed in parallel; with a CacheDir, files
// whose size, mtime, ctime and inode are unchanged since the last scan are
// not read again.
func Scan(ctx context.Context, root string, opts Options) (*Manifest, error) {
	start := time.Now()
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("scan %s: not a directory", root)
	}
	keep, err := cleanPaths(opts.AlwaysKeep)
	if err != nil {
		return nil, fmt.Errorf("scan %s: always_keep: %w", root, err)
	}
	removeList := opts.AlwaysRemove
	if removeList == nil {
		removeList = DefaultAlwaysRemove()
	}
	remove, err := cleanPaths(removeList)
	if err != nil {
		return nil, fmt.Errorf("scan %s: always_remove: %w", root, err)
	}
	s := &scanner{
		root:     abs,
		keep:     keep,
		keepSeen: map[string]bool{},
		remove:   map[string]bool{},
		m:        &Manifest{Version: ManifestVersion},
	}
	for _, p := range remove {
		s.remove[p] = true
	}
	rules, err := s.outerRules()
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	if err := s.walk(ctx, abs, "", rules, false, false); err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	for _, k := range keep {
		if !s.keepSeen[k] {
			s.note("always_keep path %q not found (or under an always_remove path)", k)
		}
	}
	racy := racyWindow
	if opts.racy > 0 {
		racy = opts.racy
	}
	if err := s.hashFiles(ctx, opts.CacheDir, start.Add(-racy)); err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	m := s.m
	sort.Slice(m.Entries, func(i, j int) bool { return m.Entries[i].Path < m.Entries[j].Path })
	s.warnLinks()
	warn := opts.WarnSize
	if warn <= 0 {
		warn = DefaultWarnSize
	}
	if m.Report.Bytes > warn {
		m.Report.Warnings = append(m.Report.Warnings, fmt.Sprintf(
			"the tree is %s, over %s: check .gitignore, .hangarignore and always_remove",
			bytesize.Format(m.Report.Bytes), bytesize.Format(warn)))
	}
	return m, nil
}

type scanner struct {
	root     string // absolute, symlinks resolved
	prefix   string // root's path relative to the match root ("" or "sub/dir/")
	keep     []string
	keepSeen map[string]bool
	remove   map[string]bool
	m        *Manifest
	files    []pendingFile
}

// pendingFile is a file entry still to hash, with the cache key of the stat
// the walk made.
type pendingFile struct {
	idx   int // in m.Entries
	key   fileKey
	keyOK bool
}

func (s *scanner) note(format string, args ...any) {
	s.m.Report.Notes = append(s.m.Report.Notes, fmt.Sprintf(format, args...))
}

// outerRules finds the git repository root at or above s.root (if any) and
// loads the ignore files that apply from outside the tree: the repository's
// info/exclude and the .gitignore files of the directories from the
// repository top down to root's parent. Match paths are then relative to the
// repository top, so their patterns anchor where git anchors them.
func (s *scanner) outerRules() (ignoreRules, error) {
	var rules ignoreRules
	top := findRepoTop(s.root)
	if top == "" {
		return rules, nil
	}
	if exclude := infoExcludePath(top); exclude != "" {
		if data, err := os.ReadFile(exclude); err == nil {
			rules = rules.withGit(parseIgnore(data, ""))
		}
	}
	rel, err := filepath.Rel(top, s.root)
	if err != nil || rel == "." {
		return rules, nil
	}
	rel = filepath.ToSlash(rel)
	s.prefix = rel + "/"
	dir, base := top, ""
	for c := range strings.SplitSeq(rel, "/") {
		if data, ok, err := readIgnoreFile(dir, GitignoreName); err != nil {
			return rules, err
		} else if ok {
			rules = rules.withGit(parseIgnore(data, base))
		}
		dir, base = filepath.Join(dir, c), base+c+"/"
	}
	return rules, nil
}

// findRepoTop returns the nearest directory at or above dir holding a .git
// entry (a directory, or a file for worktrees and submodules), or "".
func findRepoTop(dir string) string {
	for {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// infoExcludePath returns the info/exclude file of the repository at top,
// following a "gitdir:" file and a worktree's commondir.
func infoExcludePath(top string) string {
	gitDir := filepath.Join(top, ".git")
	fi, err := os.Stat(gitDir)
	if err != nil {
		return ""
	}
	if !fi.IsDir() {
		data, err := os.ReadFile(gitDir)
		if err != nil {
			return ""
		}
		line, _, _ := strings.Cut(string(data), "\n")
		d, ok := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
		if !ok {
			return ""
		}
		gitDir = strings.TrimSpace(d)
		if !filepath.IsAbs(gitDir) {
			gitDir = filepath.Join(top, gitDir)
		}
	}
	if data, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common := strings.TrimSpace(string(data))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitDir, common)
		}
		gitDir = common
	}
	return filepath.Join(gitDir, "info", "exclude")
}

// readIgnoreFile reads dir/name if it is a regular file (git ignores a
// symlinked .gitignore too).
func readIgnoreFile(dir, name string) ([]byte, bool, error) {
	p := filepath.Join(dir, name)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, false, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", p, err)
	}
	return data, true, nil
}

// keepBelow reports whether an always_keep path lies below rel.
func (s *scanner) keepBelow(rel string) bool {
	for _, k := range s.keep {
		if strings.HasPrefix(k, rel+"/") {
			return true
		}
	}
	return false
}

// walk adds the entries of directory dir (rel is its root-relative path,
// "" for the root). inKeep: dir is inside an always_keep path, so nothing
// below is ignored. keepOnly: dir itself is ignored and walked only to reach
// the always_keep paths below it.
func (s *scanner) walk(ctx context.Context, dir, rel string, rules ignoreRules, inKeep, keepOnly bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("read dir %s: %w", dir, err)
	}
	list, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("read dir %s: %w", dir, err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name() < list[j].Name() })

	if !inKeep && !keepOnly {
		base := s.prefix + rel
		if rel != "" {
			base += "/"
		}
		for _, de := range list {
			name := de.Name()
			if (name != GitignoreName && name != HangarignoreName) || !de.Type().IsRegular() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return fmt.Errorf("read %s: %w", filepath.Join(dir, name), err)
			}
			if name == GitignoreName {
				rules = rules.withGit(parseIgnore(data, base))
			} else {
				rules = rules.withHang(parseIgnore(data, base))
			}
		}
	}

	for _, de := range list {
		name := de.Name()
		if name == ".git" {
			continue
		}
		childRel := name
		if rel != "" {
			childRel = rel + "/" + name
		}
		if s.remove[childRel] {
			continue
		}
		if !utf8.ValidString(name) {
			// A manifest is JSON: a name that is not UTF-8 cannot be
			// carried without being changed.
			s.note("skipped %q: name is not valid UTF-8", childRel)
			continue
		}
		full := filepath.Join(dir, name)
		fi, err := os.Lstat(full)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the listing
		}
		if err != nil {
			return fmt.Errorf("stat %s: %w", full, err)
		}
		isDir := fi.IsDir()
		isKeep := s.isKeep(childRel)
		childKeep := inKeep || isKeep
		if !childKeep {
			if keepOnly || rules.excluded(s.prefix+childRel, name, isDir) {
				if isDir && s.keepBelow(childRel) {
					s.add(Entry{Path: childRel, Type: TypeDir, Mode: uint32(fi.Mode().Perm())})
					if err := s.walk(ctx, full, childRel, rules, false, true); err != nil {
						return err
					}
				}
				continue
			}
		}
		switch mode := fi.Mode(); {
		case isDir:
			s.add(Entry{Path: childRel, Type: TypeDir, Mode: uint32(mode.Perm())})
			if err := s.walk(ctx, full, childRel, rules, childKeep, false); err != nil {
				return err
			}
		case mode.IsRegular():
			k, ok := statKey(fi)
			s.files = append(s.files, pendingFile{idx: len(s.m.Entries), key: k, keyOK: ok})
			s.add(Entry{Path: childRel, Type: TypeFile, Mode: uint32(mode.Perm()), Size: fi.Size()})
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(full)
			if err != nil {
				return fmt.Errorf("read link %s: %w", full, err)
			}
			if !utf8.ValidString(target) {
				s.note("skipped symlink %q: target is not valid UTF-8", childRel)
				continue
			}
			s.add(Entry{Path: childRel, Type: TypeSymlink, Target: target})
		default:
			s.note("skipped %q: %s", childRel, specialKind(mode))
		}
	}
	return nil
}

func (s *scanner) isKeep(rel string) bool {
	for _, k := range s.keep {
		if k == rel {
			s.keepSeen[k] = true
			return true
		}
	}
	return false
}

func (s *scanner) add(e Entry) {
	switch e.Type {
	case TypeDir:
		s.m.Report.Dirs++
	case TypeFile:
		s.m.Report.Files++
	case TypeSymlink:
		s.m.Report.Symlinks++
	}
	s.m.Entries = append(s.m.Entries, e)
}

func specialKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// warnLinks warns about symlinks a runner will refuse (see Validate): they
// are packed as links all the same, never as their target's content.
func (s *scanner) warnLinks() {
	byPath := make(map[string]*Entry, len(s.m.Entries))
	for i := range s.m.Entries {
		byPath[s.m.Entries[i].Path] = &s.m.Entries[i]
	}
	r := linkResolver{entries: byPath, done: map[string]string{}, busy: map[string]bool{}}
	for _, e := range s.m.Entries {
		if e.Type != TypeSymlink {
			continue
		}
		if _, err := r.resolveLink(e.Path); err != nil {
			s.m.Report.Warnings = append(s.m.Report.Warnings, fmt.Sprintf(
				"symlink %s -> %s %v; a runner refuses it: ignore it in .hangarignore or always_remove",
				e.Path, e.Target, err))
		}
	}
}

// hashFiles fills in Size and SHA256 of every file entry, from the cache
// where the file is unchanged, else by reading it with GOMAXPROCS workers.
// Files changed at or after racyFrom are not cached.
func (s *scanner) hashFiles(ctx context.Context, cacheDir string, racyFrom time.Time) error {
	var cache *hashCache
	if cacheDir != "" {
		c, err := loadHashCache(cacheDir, s.root)
		if err != nil {
			s.note("hash cache ignored: %v", err)
		}
		cache = c
	}
	keys := make([]fileKey, len(s.m.Entries))
	cacheable := make([]bool, len(s.m.Entries))
	var todo []int
	for _, pf := range s.files {
		e := &s.m.Entries[pf.idx]
		if cache != nil && pf.keyOK {
			if sum, hit := cache.lookup(e.Path, pf.key); hit {
				e.Size, e.SHA256 = pf.key.Size, hex.EncodeToString(sum[:])
				keys[pf.idx], cacheable[pf.idx] = pf.key, true
				continue
			}
		}
		todo = append(todo, pf.idx)
	}

	workers := min(runtime.GOMAXPROCS(0), len(todo))
	jobs := make(chan int)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for i := range jobs {
				if errs[w] != nil {
					continue // drain
				}
				e := &s.m.Entries[i]
				size, sum, k, ok, err := hashFile(ctx, filepath.Join(s.root, e.Path), buf)
				if err != nil {
					errs[w] = err
					continue
				}
				e.Size, e.SHA256 = size, hex.EncodeToString(sum[:])
				keys[i], cacheable[i] = k, ok
			}
		}()
	}
	for _, i := range todo {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}

	r := &s.m.Report
	r.Hashed = len(todo)
	for _, pf := range s.files {
		r.Bytes += s.m.Entries[pf.idx].Size
	}
	for _, i := range todo {
		r.HashedBytes += s.m.Entries[i].Size
	}
	if cache == nil || (len(todo) == 0 && len(cache.entries) == len(s.files)) {
		return nil // nothing new to remember
	}
	racy := racyFrom.UnixNano()
	next := make(map[string]cacheEntry, len(s.files))
	for _, pf := range s.files {
		i := pf.idx
		k := keys[i]
		if !cacheable[i] || k.Mtime >= racy || k.Ctime >= racy {
			continue
		}
		var ce cacheEntry
		ce.key = k
		_, _ = hex.Decode(ce.sum[:], []byte(s.m.Entries[i].SHA256))
		next[s.m.Entries[i].Path] = ce
	}
	if err := cache.save(cacheDir, next); err != nil {
		s.note("hash cache not saved: %v", err)
	}
	return nil
}

// hashFile hashes the regular file at p. It stats the open file before and
// after reading and retries when the file changed meanwhile, so the size,
// hash and cache key always describe the same content.
func hashFile(ctx context.Context, p string, buf []byte) (int64, [sha256.Size]byte, fileKey, bool, error) {
	var sum [sha256.Size]byte
	for attempt := 0; attempt < 3; attempt++ {
		if err := ctx.Err(); err != nil {
			return 0, sum, fileKey{}, false, err
		}
		f, err := os.OpenFile(p, openFlags, 0)
		if err != nil {
			return 0, sum, fileKey{}, false, fmt.Errorf("hash %s: %w", p, err)
		}
		before, err := f.Stat()
		if err != nil {
			f.Close()
			return 0, sum, fileKey{}, false, fmt.Errorf("hash %s: %w", p, err)
		}
		if !before.Mode().IsRegular() {
			f.Close()
			return 0, sum, fileKey{}, false, fmt.Errorf("hash %s: no longer a regular file", p)
		}
		h := sha256.New()
		// Hide File.WriteTo, which would ignore buf and read 32 KiB at a time.
		n, err := io.CopyBuffer(h, struct{ io.Reader }{f}, buf)
		if err != nil {
			f.Close()
			return 0, sum, fileKey{}, false, fmt.Errorf("hash %s: %w", p, err)
		}
		after, err := f.Stat()
		f.Close()
		if err != nil {
			return 0, sum, fileKey{}, false, fmt.Errorf("hash %s: %w", p, err)
		}
		k1, ok1 := statKey(before)
		k2, ok2 := statKey(after)
		if n == after.Size() && before.Size() == after.Size() && k1 == k2 && before.ModTime().Equal(after.ModTime()) {
			h.Sum(sum[:0])
			return n, sum, k2, ok1 && ok2, nil
		}
	}
	return 0, sum, fileKey{}, false, fmt.Errorf("hash %s: the file kept changing while it was read", p)
}

// cleanPaths normalises always_keep / always_remove entries to clean
// root-relative "/" paths.
func cleanPaths(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, p := range in {
		c := path.Clean(filepath.ToSlash(p))
		switch {
		case p == "" || c == ".":
			return nil, fmt.Errorf("empty path %q", p)
		case path.IsAbs(c):
			return nil, fmt.Errorf("%q is absolute; paths are relative to the project root", p)
		case c == ".." || strings.HasPrefix(c, "../"):
			return nil, fmt.Errorf("%q is outside the project root", p)
		}
		out = append(out, c)
	}
	return out, nil
}
