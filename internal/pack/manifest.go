package pack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// ManifestVersion is the version of the manifest document this package
// writes and accepts.
const ManifestVersion = 1

// Limits on a manifest; a manifest comes from the network, so every
// dimension is bounded.
const (
	MaxEntries   = 1 << 21 // entries in one manifest
	maxPathLen   = 4096    // bytes in an entry path (PATH_MAX)
	maxNameLen   = 255     // bytes in one path component (NAME_MAX)
	maxTargetLen = 4095    // bytes in a symlink target
	maxLinkHops  = 40      // symlinks followed resolving one target (Linux's MAXSYMLINKS)
	maxLinkWork  = 1 << 26 // path bytes looked at resolving all targets of one manifest
)

// ErrInvalidManifest is wrapped by every error that refuses a manifest.
var ErrInvalidManifest = errors.New("invalid manifest")

// EntryType says what an entry is.
type EntryType string

// Entry types.
const (
	TypeFile    EntryType = "file"
	TypeDir     EntryType = "dir"
	TypeSymlink EntryType = "symlink"
)

// Entry is one path of the snapshot.
type Entry struct {
	Path   string    `json:"path"`             // relative, "/"-separated, clean
	Type   EntryType `json:"type"`             // file, dir or symlink
	Mode   uint32    `json:"mode,omitempty"`   // permission bits (0o777) of a file or dir
	Size   int64     `json:"size,omitempty"`   // file size in bytes
	SHA256 string    `json:"sha256,omitempty"` // file content hash, lowercase hex
	Target string    `json:"target,omitempty"` // symlink target, as stored in the link
}

// Manifest is a snapshot of a working tree: every entry that is packed,
// sorted by path. Its JSON form (Encode) is the document the client uploads
// and the runner assembles from.
type Manifest struct {
	Version int     `json:"version"`
	Entries []Entry `json:"entries"`

	// Report says how Scan made the manifest; it is not part of the document.
	Report Report `json:"-"`
}

// Report describes one Scan.
type Report struct {
	Files, Dirs, Symlinks int
	Bytes                 int64 // total size of files
	Hashed                int   // files read and hashed (hash cache misses)
	HashedBytes           int64
	Warnings              []string // things the user should see (big tree, links out of the tree)
	Notes                 []string // skipped entries and other details
}

// Blob is one distinct file content a manifest needs.
type Blob struct {
	SHA256 string
	Size   int64
	Path   string // the first entry with this content, to read it from
}

// Encode returns the manifest document: compact JSON, entries sorted by
// path. The same tree always encodes to the same bytes.
func (m *Manifest) Encode() ([]byte, error) {
	for i := 1; i < len(m.Entries); i++ {
		if m.Entries[i-1].Path >= m.Entries[i].Path {
			return nil, fmt.Errorf("encode manifest: entries not sorted or duplicated at %q", m.Entries[i].Path)
		}
	}
	doc := struct {
		Version int     `json:"version"`
		Entries []Entry `json:"entries"`
	}{ManifestVersion, m.Entries}
	if doc.Entries == nil {
		doc.Entries = []Entry{}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return data, nil
}

// Hash returns the SHA-256 (lowercase hex) of the encoded manifest: the
// manifest's own content address.
func (m *Manifest) Hash() (string, error) {
	data, err := m.Encode()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// ParseManifest decodes and validates a manifest document. Unknown fields,
// trailing data and anything Validate refuses are errors. Callers bound the
// size of data (a 10,000-file manifest is about 1.5 MB).
func ParseManifest(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse manifest: %w: %w", ErrInvalidManifest, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse manifest: %w: data after the document", ErrInvalidManifest)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	return &m, nil
}

// Blobs returns the distinct contents the manifest needs, sorted by hash.
func (m *Manifest) Blobs() []Blob {
	seen := make(map[string]bool)
	var out []Blob
	for _, e := range m.Entries {
		if e.Type != TypeFile || seen[e.SHA256] {
			continue
		}
		seen[e.SHA256] = true
		out = append(out, Blob{SHA256: e.SHA256, Size: e.Size, Path: e.Path})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SHA256 < out[j].SHA256 })
	return out
}

// Missing returns the blobs for which have reports false: what an uploader
// must send to a runner that already holds the rest.
func (m *Manifest) Missing(have func(sha256 string) bool) []Blob {
	var out []Blob
	for _, b := range m.Blobs() {
		if !have(b.SHA256) {
			out = append(out, b)
		}
	}
	return out
}

// Validate checks the manifest as a runner must before using it: version,
// limits, clean relative paths (no "..", no absolute path, no empty or "."
// component, valid UTF-8, no NUL), strictly sorted paths (so no duplicates),
// every parent present as a directory (so nothing lies under a symlink or a
// file), well-formed fields per type, and symlinks that neither are absolute
// nor resolve, through other links of the manifest, outside the tree.
func (m *Manifest) Validate() error {
	if m.Version != ManifestVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrInvalidManifest, m.Version, ManifestVersion)
	}
	if len(m.Entries) > MaxEntries {
		return fmt.Errorf("%w: %d entries, over the limit of %d", ErrInvalidManifest, len(m.Entries), MaxEntries)
	}
	byPath := make(map[string]*Entry, len(m.Entries))
	for i := range m.Entries {
		e := &m.Entries[i]
		if err := validPath(e.Path); err != nil {
			return fmt.Errorf("%w: entry %d: %w", ErrInvalidManifest, i, err)
		}
		if i > 0 {
			switch prev := m.Entries[i-1].Path; {
			case prev == e.Path:
				return fmt.Errorf("%w: duplicate path %q", ErrInvalidManifest, e.Path)
			case prev > e.Path:
				return fmt.Errorf("%w: entries not sorted at %q", ErrInvalidManifest, e.Path)
			}
		}
		if j := strings.LastIndexByte(e.Path, '/'); j >= 0 {
			parent := byPath[e.Path[:j]]
			if parent == nil || parent.Type != TypeDir {
				return fmt.Errorf("%w: %q: parent is not a directory of the manifest", ErrInvalidManifest, e.Path)
			}
		}
		if err := validFields(e); err != nil {
			return fmt.Errorf("%w: %q: %w", ErrInvalidManifest, e.Path, err)
		}
		byPath[e.Path] = e
	}
	r := linkResolver{entries: byPath, done: map[string]string{}, busy: map[string]bool{}}
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Type != TypeSymlink {
			continue
		}
		if _, err := r.resolveLink(e.Path); err != nil {
			return fmt.Errorf("%w: symlink %q -> %q: %w", ErrInvalidManifest, e.Path, e.Target, err)
		}
	}
	return nil
}

func validPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case len(p) > maxPathLen:
		return fmt.Errorf("path longer than %d bytes", maxPathLen)
	case !utf8.ValidString(p):
		return fmt.Errorf("path %q is not valid UTF-8", p)
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("path %q contains NUL", p)
	case p[0] == '/':
		return fmt.Errorf("absolute path %q", p)
	}
	for c := range strings.SplitSeq(p, "/") {
		switch {
		case c == "" || c == ".":
			return fmt.Errorf("path %q is not clean", p)
		case c == "..":
			return fmt.Errorf("path %q has a .. component", p)
		case len(c) > maxNameLen:
			return fmt.Errorf("path %q has a component longer than %d bytes", p, maxNameLen)
		}
	}
	return nil
}

func validFields(e *Entry) error {
	if e.Mode&^0o777 != 0 {
		return fmt.Errorf("mode %#o has bits other than permissions", e.Mode)
	}
	switch e.Type {
	case TypeFile:
		if e.Target != "" {
			return errors.New("file with a target")
		}
		if e.Size < 0 {
			return fmt.Errorf("negative size %d", e.Size)
		}
		if !validHash(e.SHA256) {
			return fmt.Errorf("sha256 %q is not 64 lowercase hex digits", e.SHA256)
		}
	case TypeDir:
		if e.Size != 0 || e.SHA256 != "" || e.Target != "" {
			return errors.New("directory with a size, hash or target")
		}
	case TypeSymlink:
		if e.Mode != 0 || e.Size != 0 || e.SHA256 != "" {
			return errors.New("symlink with a mode, size or hash")
		}
		switch {
		case e.Target == "":
			return errors.New("symlink with an empty target")
		case len(e.Target) > maxTargetLen:
			return fmt.Errorf("symlink target longer than %d bytes", maxTargetLen)
		case !utf8.ValidString(e.Target) || strings.IndexByte(e.Target, 0) >= 0:
			return errors.New("symlink target is not valid UTF-8 or contains NUL")
		}
	default:
		return fmt.Errorf("unknown type %q", e.Type)
	}
	return nil
}

func validHash(h string) bool {
	if len(h) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

var errEscapes = errors.New("points outside the tree")

// linkResolver resolves symlink targets the way the kernel would once the
// tree exists: component by component from the link's directory, following
// links of the manifest. A component the manifest does not have is taken
// as a plain directory name (at run time it would not exist). Results are
// memoised per link, so chains cost one resolution each.
type linkResolver struct {
	entries map[string]*Entry
	done    map[string]string // link path -> resolved tree path ("" is the root)
	busy    map[string]bool   // links being resolved, to catch loops
	hops    int
	work    int
}

// resolveLink returns the tree path link resolves to, or errEscapes.
func (r *linkResolver) resolveLink(link string) (string, error) {
	if p, ok := r.done[link]; ok {
		return p, nil
	}
	if r.busy[link] {
		return "", errors.New("symlink loop")
	}
	r.hops++
	if r.hops > maxLinkHops {
		return "", fmt.Errorf("more than %d symlinks to follow", maxLinkHops)
	}
	r.busy[link] = true
	e := r.entries[link]
	dir := ""
	if i := strings.LastIndexByte(link, '/'); i >= 0 {
		dir = link[:i]
	}
	p, err := r.walk(dir, e.Target)
	delete(r.busy, link)
	r.hops--
	if err != nil {
		return "", err
	}
	r.done[link] = p
	return p, nil
}

func (r *linkResolver) walk(cur, target string) (string, error) {
	if strings.HasPrefix(target, "/") {
		return "", fmt.Errorf("absolute target: %w", errEscapes)
	}
	for c := range strings.SplitSeq(target, "/") {
		r.work += len(cur) + len(c) + 1
		if r.work > maxLinkWork {
			return "", errors.New("symlinks too complex to check")
		}
		switch c {
		case "", ".":
			continue
		case "..":
			if cur == "" {
				return "", errEscapes
			}
			if i := strings.LastIndexByte(cur, '/'); i >= 0 {
				cur = cur[:i]
			} else {
				cur = ""
			}
			continue
		}
		if cur == "" {
			cur = c
		} else {
			cur = cur + "/" + c
		}
		if e, ok := r.entries[cur]; ok && e.Type == TypeSymlink {
			p, err := r.resolveLink(cur)
			if err != nil {
				return "", err
			}
			cur = p
		}
	}
	return cur, nil
}
