package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"
)

const (
	maxNameLen  = 4096 // PATH_MAX: longer names cannot be created anyway
	maxLinkHops = 40   // Linux's MAXSYMLINKS
	copyBufSize = 256 << 10
	// resolveBudget bounds the work of checking symbolic link targets, in
	// path components (long ones cost more). Real archives use a few per
	// link; this still allows a million ordinary links.
	resolveBudget = 1 << 25
)

type kind int

const (
	kindNone kind = iota
	kindDir
	kindFile
	kindSymlink
	kindOther
)

// header is one archive entry in a format-neutral form.
type header struct {
	raw      string      // name as written, for errors
	name     string      // cleaned, slash-separated, relative; "" is dst itself
	mode     fs.FileMode // permission bits
	size     int64       // regular files: declared size, -1 when unknown
	linkname string      // symbolic link target, or hard link source (raw)
	mtime    time.Time
}

type dirMeta struct {
	name  string
	mode  fs.FileMode
	mtime time.Time
}

// extractor writes entries under root and remembers what it made, so later
// entries can be checked against it without trusting the file system alone.
type extractor struct {
	ctx     context.Context
	root    *os.Root
	opts    Options
	stats   Stats
	entries int
	created map[string]kind   // paths this extractor made
	disk    map[string]kind   // Lstat results for paths it did not make
	links   map[string]string // symbolic links it made → target
	order   []string          // symbolic links in creation order
	dirs    []dirMeta         // listed directories: mode and time are set last
	work    int               // resolveBudget spent
	buf     []byte
}

func newExtractor(ctx context.Context, dst string, opts Options) (*extractor, error) {
	root, err := os.OpenRoot(dst)
	if err != nil {
		return nil, fmt.Errorf("open destination: %w", err)
	}
	return &extractor{
		ctx:     ctx,
		root:    root,
		opts:    opts.withDefaults(),
		created: map[string]kind{},
		disk:    map[string]kind{},
		links:   map[string]string{},
		buf:     make([]byte, copyBufSize),
	}, nil
}

func (e *extractor) close() { e.root.Close() }

// begin counts an entry against the limits and cleans its name.
func (e *extractor) begin(raw string, zipName bool) (string, error) {
	if err := e.ctx.Err(); err != nil {
		return "", err
	}
	e.entries++
	if e.entries > e.opts.MaxEntries {
		return "", limitEntry(raw, "archive has more than %d entries", e.opts.MaxEntries)
	}
	return cleanName(raw, zipName)
}

// cleanName makes an archive name relative and slash-separated, refusing
// absolute names and ".." anywhere. A backslash counts as a separator when
// looking for "..", so an archive made on Windows cannot climb out with
// `..\x`. In zip names (the format allows only "/") backslashes are turned
// into slashes; in tar they are ordinary characters.
func cleanName(raw string, zipName bool) (string, error) {
	name := raw
	if zipName {
		name = strings.ReplaceAll(name, `\`, "/")
	}
	switch {
	case name == "":
		return "", unsafeEntry(raw, "empty name")
	case len(name) > maxNameLen:
		return "", unsafeEntry(raw, "name longer than %d bytes", maxNameLen)
	case strings.IndexByte(name, 0) >= 0:
		return "", unsafeEntry(raw, "NUL byte in name")
	case strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`):
		return "", unsafeEntry(raw, "absolute path")
	}
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' })
	for _, p := range parts {
		if p == ".." {
			return "", unsafeEntry(raw, `path has a ".." component`)
		}
	}
	clean := make([]string, 0, len(parts))
	for _, p := range strings.Split(name, "/") {
		if p != "" && p != "." {
			clean = append(clean, p)
		}
	}
	return strings.Join(clean, "/"), nil
}

func (e *extractor) kindOf(p string) (kind, error) {
	if k, ok := e.created[p]; ok {
		return k, nil
	}
	if k, ok := e.disk[p]; ok {
		return k, nil
	}
	fi, err := e.root.Lstat(p)
	k := kindNone
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		// Missing, or below a regular file: nothing there either way.
	case err != nil:
		return kindNone, fmt.Errorf("stat %s: %w", p, err)
	case fi.IsDir():
		k = kindDir
	case fi.Mode()&fs.ModeSymlink != 0:
		k = kindSymlink
	case fi.Mode().IsRegular():
		k = kindFile
	default:
		k = kindOther
	}
	e.disk[p] = k
	return k, nil
}

func (e *extractor) setKind(p string, k kind) {
	delete(e.disk, p)
	if k == kindNone {
		delete(e.created, p)
		return
	}
	e.created[p] = k
}

// parents makes sure every parent of h.name is a real directory, creating
// missing ones; a parent that is a symbolic link refuses the entry.
func (e *extractor) parents(h *header) error {
	// A directory known here had all its parents checked when it became
	// known, and a directory is never replaced, so one lookup is enough.
	if dir := path.Dir(h.name); dir == "." || e.created[dir] == kindDir || e.disk[dir] == kindDir {
		return nil
	}
	for i := 0; i < len(h.name); i++ {
		if h.name[i] != '/' {
			continue
		}
		p := h.name[:i]
		k, err := e.kindOf(p)
		if err != nil {
			return &EntryError{Name: h.raw, Err: err}
		}
		switch k {
		case kindDir:
		case kindNone:
			// Implied directories count as entries: one short name must
			// not be able to make thousands of them.
			if e.entries++; e.entries > e.opts.MaxEntries {
				return limitEntry(h.raw, "archive has more than %d entries", e.opts.MaxEntries)
			}
			if err := e.root.Mkdir(p, 0o755); err != nil {
				return &EntryError{Name: h.raw, Err: fmt.Errorf("create directory %s: %w", p, err)}
			}
			e.setKind(p, kindDir)
			e.stats.Dirs++
		case kindSymlink:
			return unsafeEntry(h.raw, "path goes through symbolic link %q", p)
		default:
			return &EntryError{Name: h.raw, Err: fmt.Errorf("%s is not a directory", p)}
		}
	}
	return nil
}

// clear removes what a non-directory entry replaces (a duplicate entry, as
// tar -r appends); directories are never replaced.
func (e *extractor) clear(h *header) error {
	k, err := e.kindOf(h.name)
	if err != nil {
		return &EntryError{Name: h.raw, Err: err}
	}
	switch k {
	case kindNone:
		return nil
	case kindDir:
		return &EntryError{Name: h.raw, Err: fmt.Errorf("would replace directory %s", h.name)}
	}
	if err := e.root.Remove(h.name); err != nil {
		return &EntryError{Name: h.raw, Err: fmt.Errorf("replace %s: %w", h.name, err)}
	}
	e.setKind(h.name, kindNone)
	delete(e.links, h.name)
	return nil
}

func (e *extractor) dir(h *header) error {
	if h.name == "" {
		return nil // dst itself: its mode belongs to the caller
	}
	if err := e.parents(h); err != nil {
		return err
	}
	k, err := e.kindOf(h.name)
	if err != nil {
		return &EntryError{Name: h.raw, Err: err}
	}
	switch k {
	case kindNone:
		if err := e.root.Mkdir(h.name, 0o755); err != nil {
			return &EntryError{Name: h.raw, Err: fmt.Errorf("create directory: %w", err)}
		}
		e.setKind(h.name, kindDir)
		e.stats.Dirs++
	case kindDir:
	case kindSymlink:
		return unsafeEntry(h.raw, "directory would replace symbolic link %q", h.name)
	default:
		return &EntryError{Name: h.raw, Err: fmt.Errorf("%s exists and is not a directory", h.name)}
	}
	e.dirs = append(e.dirs, dirMeta{name: h.name, mode: h.mode, mtime: h.mtime})
	return nil
}

func (e *extractor) file(h *header, r io.Reader) error {
	if h.name == "" {
		return unsafeEntry(h.raw, "file would replace the destination directory")
	}
	if h.size > e.opts.MaxFileBytes {
		return limitEntry(h.raw, "file is larger than %d bytes", e.opts.MaxFileBytes)
	}
	if h.size > e.opts.MaxTotalBytes-e.stats.Bytes {
		return limitEntry(h.raw, "archive unpacks to more than %d bytes", e.opts.MaxTotalBytes)
	}
	if err := e.parents(h); err != nil {
		return err
	}
	if err := e.clear(h); err != nil {
		return err
	}
	// O_EXCL: the path was just cleared, so nothing (least of all a
	// symbolic link) can be followed.
	f, err := e.root.OpenFile(h.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return &EntryError{Name: h.raw, Err: fmt.Errorf("create file: %w", err)}
	}
	e.setKind(h.name, kindFile)
	n, err := e.copy(h, f, r)
	e.stats.Bytes += n
	if err == nil {
		// Through the open file: no path, so no race with the name.
		err = f.Chmod(h.mode.Perm())
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = &EntryError{Name: h.raw, Err: fmt.Errorf("close file: %w", cerr)}
	}
	if err != nil {
		return err
	}
	if !h.mtime.IsZero() {
		if err := e.root.Chtimes(h.name, h.mtime, h.mtime); err != nil {
			return &EntryError{Name: h.raw, Err: fmt.Errorf("set file time: %w", err)}
		}
	}
	e.stats.Files++
	return nil
}

// copy writes r to w, enforcing the file and total limits on the bytes
// actually read (declared sizes may lie) and checking ctx between chunks.
func (e *extractor) copy(h *header, w io.Writer, r io.Reader) (int64, error) {
	totalLeft := e.opts.MaxTotalBytes - e.stats.Bytes
	var n int64
	for {
		if err := e.ctx.Err(); err != nil {
			return n, err
		}
		m, rerr := r.Read(e.buf)
		if m > 0 {
			n += int64(m)
			if n > e.opts.MaxFileBytes {
				return n, limitEntry(h.raw, "file is larger than %d bytes", e.opts.MaxFileBytes)
			}
			if n > totalLeft {
				return n, limitEntry(h.raw, "archive unpacks to more than %d bytes", e.opts.MaxTotalBytes)
			}
			if _, err := w.Write(e.buf[:m]); err != nil {
				return n, &EntryError{Name: h.raw, Err: fmt.Errorf("write file: %w", err)}
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, &EntryError{Name: h.raw, Err: fmt.Errorf("read: %w", rerr)}
		}
	}
}

func (e *extractor) symlink(h *header) error {
	target := h.linkname
	switch {
	case h.name == "":
		return unsafeEntry(h.raw, "symbolic link would replace the destination directory")
	case target == "":
		return unsafeEntry(h.raw, "empty symbolic link target")
	case len(target) > maxNameLen:
		return unsafeEntry(h.raw, "symbolic link target longer than %d bytes", maxNameLen)
	case strings.IndexByte(target, 0) >= 0:
		return unsafeEntry(h.raw, "NUL byte in symbolic link target")
	case path.IsAbs(target):
		return unsafeEntry(h.raw, "absolute symbolic link target %q", target)
	}
	if err := e.parents(h); err != nil {
		return err
	}
	if err := e.inside(h, path.Dir(h.name), target); err != nil {
		return err
	}
	if err := e.clear(h); err != nil {
		return err
	}
	if err := e.root.Symlink(target, h.name); err != nil {
		return &EntryError{Name: h.raw, Err: fmt.Errorf("create symbolic link: %w", err)}
	}
	e.setKind(h.name, kindSymlink)
	e.links[h.name] = target
	e.order = append(e.order, h.name)
	e.stats.Links++
	return nil
}

// inside resolves target from directory dir the way the kernel would,
// following symbolic links (those made here and any already on disk), and
// refuses it if it ever climbs above the destination. Missing components
// count as plain directories; finish checks again once every entry is in.
func (e *extractor) inside(h *header, dir, target string) error {
	escape := func() error {
		return unsafeEntry(h.raw, "symbolic link target %q resolves outside the destination", h.linkname)
	}
	// cur is the resolved directory so far; ends[i] is len(cur) after its
	// first i components, so ".." pops in O(1).
	cur, ends := "", []int{0}
	push := func(c string) {
		if cur != "" {
			cur += "/"
		}
		cur += c
		ends = append(ends, len(cur))
	}
	if dir != "." && dir != "" {
		for _, c := range strings.Split(dir, "/") {
			push(c)
		}
	}
	queue := strings.Split(target, "/")
	hops := 0
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		e.work += 1 + (len(cur)+len(c))/64
		if e.work > resolveBudget {
			return limitEntry(h.raw, "symbolic links take too much work to check")
		}
		switch c {
		case "", ".":
			continue
		case "..":
			if len(ends) == 1 {
				return escape()
			}
			ends = ends[:len(ends)-1]
			cur = cur[:ends[len(ends)-1]]
			continue
		}
		p := c
		if cur != "" {
			p = cur + "/" + c
		}
		k, err := e.kindOf(p)
		if err != nil {
			return &EntryError{Name: h.raw, Err: err}
		}
		if k != kindSymlink {
			push(c)
			continue
		}
		if hops++; hops > maxLinkHops {
			return unsafeEntry(h.raw, "symbolic link target %q: too many levels of symbolic links", h.linkname)
		}
		next, ok := e.links[p]
		if !ok {
			if next, err = e.root.Readlink(p); err != nil {
				return &EntryError{Name: h.raw, Err: fmt.Errorf("read symbolic link %s: %w", p, err)}
			}
		}
		if path.IsAbs(next) {
			return escape()
		}
		queue = append(strings.Split(next, "/"), queue...)
	}
	return nil
}

func (e *extractor) hardlink(h *header, zipName bool) error {
	if h.name == "" {
		return unsafeEntry(h.raw, "hard link would replace the destination directory")
	}
	if h.linkname == "" || path.IsAbs(h.linkname) {
		return unsafeEntry(h.raw, "hard link to %q, outside the archive", h.linkname)
	}
	src, err := cleanName(h.linkname, zipName)
	if err != nil {
		return unsafeEntry(h.raw, "hard link to %q, outside the archive", h.linkname)
	}
	if e.created[src] != kindFile {
		return unsafeEntry(h.raw, "hard link to %q, which is not a regular file unpacked from this archive", h.linkname)
	}
	if src == h.name {
		return unsafeEntry(h.raw, "hard link to itself")
	}
	if err := e.parents(h); err != nil {
		return err
	}
	if err := e.clear(h); err != nil {
		return err
	}
	if err := e.root.Link(src, h.name); err != nil {
		return &EntryError{Name: h.raw, Err: fmt.Errorf("create hard link: %w", err)}
	}
	e.setKind(h.name, kindFile)
	e.stats.Links++
	return nil
}

// end finishes an unpack that stopped with err (nil when every entry is
// in). Symbolic links are checked again against the final tree on every
// path, errors included: a link made later can change where an earlier one
// leads, and a failed unpack must not leave such a link behind. Directory
// modes and times are set only on success.
func (e *extractor) end(err error) (Stats, error) {
	if lerr := e.checkLinks(); lerr != nil {
		if err == nil {
			err = lerr
		} else {
			err = errors.Join(err, lerr)
		}
	}
	if err == nil {
		err = e.setDirs()
	}
	return e.stats, err
}

// checkLinks removes every symbolic link that no longer resolves inside
// (or cannot be checked) and returns the first problem.
func (e *extractor) checkLinks() error {
	var first error
	for _, name := range e.order {
		target, ok := e.links[name]
		if !ok || e.created[name] != kindSymlink {
			continue // replaced by a later entry
		}
		h := &header{raw: name, name: name, linkname: target}
		err := e.inside(h, path.Dir(name), target)
		if err == nil {
			continue
		}
		if rerr := e.root.Remove(name); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove unsafe symbolic link %s: %w", name, rerr))
		} else {
			e.setKind(name, kindNone)
			delete(e.links, name)
			e.stats.Links--
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// setDirs sets directory modes and times, deepest first so a read-only
// directory is done after everything below it.
func (e *extractor) setDirs() error {
	slices.SortStableFunc(e.dirs, func(a, b dirMeta) int {
		return strings.Count(b.name, "/") - strings.Count(a.name, "/")
	})
	for _, d := range e.dirs {
		if err := e.ctx.Err(); err != nil {
			return err
		}
		// Owner keeps rwx so the runner can always clean the tree up.
		if err := e.root.Chmod(d.name, d.mode.Perm()|0o700); err != nil {
			return &EntryError{Name: d.name, Err: fmt.Errorf("set directory mode: %w", err)}
		}
		if !d.mtime.IsZero() {
			if err := e.root.Chtimes(d.name, d.mtime, d.mtime); err != nil {
				return &EntryError{Name: d.name, Err: fmt.Errorf("set directory time: %w", err)}
			}
		}
	}
	return nil
}
