// Package blobpack is the key layout of content-addressed uploads to a
// Hangar runner's S3, and the blob pack format shared by the client that
// writes packs and the runner that explodes them.
//
// A blob is the object BlobPrefix+<sha256>: its content hashes to its name
// (64 lowercase hex digits). Sending thousands of small blobs one PutObject
// each costs a request, a temporary file and a database commit apiece, so a
// client may send many at once as a blob pack: a plain tar stream (no
// compression) whose entries are regular files named by the lowercase
// SHA-256 hex of their content, with no directories or other entries, put
// to a key PackKey makes (PackPrefix+<random>+PackSuffix). A Hangar runner
// never stores an object under such a key: it checks every entry and stores
// each one as the blob object BlobPrefix+<sha256> in the same bucket, all or
// none of them. Pack keys can never clash with a blob key (their name after
// BlobPrefix is not 64 hex digits), so listings of blobs ignore them.
package blobpack

import (
	"archive/tar"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Key layout.
const (
	BlobPrefix = "blobs/"
	PackPrefix = BlobPrefix + "packs/"
	PackSuffix = ".tar"
)

// ResponseHeader is set by a runner that exploded a pack, to the number of
// entries it took. A runner that predates packs stores the tar as an object
// instead, and its answer lacks the header: the client then sends the blobs
// one by one.
const ResponseHeader = "X-Hangar-Blob-Pack"

// Limits a runner applies to one pack (MaxSize to the whole request body
// too); a client stays well below them.
const (
	MaxEntries = 10000
	MaxSize    = 1 << 30 // bytes of tar, headers included
)

// BlobKey is the key of the blob whose content hashes to sha256 (lowercase
// hex).
func BlobKey(sha256 string) string { return BlobPrefix + sha256 }

// PackKey returns a new pack key, random so concurrent uploads to one
// bucket never meet.
func PackKey() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return PackPrefix + hex.EncodeToString(b[:]) + PackSuffix
}

// IsPackKey reports whether key is reserved for blob packs.
func IsPackKey(key string) bool { return strings.HasPrefix(key, PackPrefix) }

// ValidHash reports whether s is a blob name: 64 lowercase hex digits.
func ValidHash(s string) bool {
	if len(s) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Writer writes a pack to an io.Writer.
type Writer struct {
	tw *tar.Writer
}

// NewWriter starts a pack on w.
func NewWriter(w io.Writer) *Writer { return &Writer{tw: tar.NewWriter(w)} }

// Add writes one blob: size bytes of r whose SHA-256 is sha256. The content
// is not hashed again here; the runner does, and refuses the whole pack
// when it does not match.
func (w *Writer) Add(sha256 string, size int64, r io.Reader) error {
	if !ValidHash(sha256) {
		return fmt.Errorf("add blob %q to pack: not a lowercase sha256", sha256)
	}
	// Format USTAR, mode and no times: nothing but the name and the size
	// matter, and plain headers keep the pack small.
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: sha256, Size: size, Mode: 0o444, Format: tar.FormatUSTAR}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("add blob %s to pack: %w", sha256, err)
	}
	if _, err := io.CopyN(w.tw, r, size); err != nil {
		return fmt.Errorf("add blob %s to pack: %w", sha256, err)
	}
	return nil
}

// Close ends the pack (the tar trailer); it does not close the underlying
// writer.
func (w *Writer) Close() error {
	if err := w.tw.Close(); err != nil {
		return fmt.Errorf("end pack: %w", err)
	}
	return nil
}

// FormatError is a pack that breaks the format: the client's fault.
type FormatError struct{ Msg string }

func (e *FormatError) Error() string { return "invalid blob pack: " + e.Msg }

// ErrHashMismatch is wrapped by the FormatError of an entry whose content
// does not hash to its name.
var ErrHashMismatch = errors.New("content does not match its sha256 name")

// HashError is an entry whose content does not hash to its name.
type HashError struct {
	Name, Got string
}

func (e *HashError) Error() string {
	return fmt.Sprintf("invalid blob pack: entry %s holds content whose sha256 is %s", e.Name, e.Got)
}

func (e *HashError) Unwrap() error { return ErrHashMismatch }

// Read reads a pack from r and calls fn for each entry with its name (a
// valid hash) and size, and a reader of its content, which fn may read in
// part or not at all. The content is hashed as it goes by; an entry that
// does not hash to its name ends Read with a *HashError after fn returned,
// so fn must not keep what it got until Read returns nil. A pack breaking
// the format (bad name, an entry that is not a regular file, too many
// entries, a truncated stream) ends Read with a *FormatError; an error of
// fn or of r is returned as is. Read stops at the tar trailer, leaving the
// rest of r unread.
func Read(r io.Reader, fn func(name string, size int64, content io.Reader) error) error {
	tr := tar.NewReader(r)
	h := sha256.New()
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return formatErr(err, "read entry %d: %v", n+1, err)
		}
		if n >= MaxEntries {
			return &FormatError{fmt.Sprintf("more than %d entries", MaxEntries)}
		}
		if hdr.Typeflag != tar.TypeReg {
			return &FormatError{fmt.Sprintf("entry %q is not a regular file (type %q)", hdr.Name, hdr.Typeflag)}
		}
		if !ValidHash(hdr.Name) {
			return &FormatError{fmt.Sprintf("entry name %q is not a lowercase sha256 hex", hdr.Name)}
		}
		// No PAX records: packs are plain USTAR, and a sparse map in them
		// would make a few bytes of tar read as gigabytes of zeros.
		if len(hdr.PAXRecords) > 0 {
			return &FormatError{fmt.Sprintf("entry %s has PAX records", hdr.Name)}
		}
		if hdr.Size > MaxSize {
			return &FormatError{fmt.Sprintf("entry %s is larger than %d bytes", hdr.Name, MaxSize)}
		}
		h.Reset()
		content := &entryReader{r: io.TeeReader(tr, h)}
		if err := fn(hdr.Name, hdr.Size, content); err != nil {
			if content.err != nil && errors.Is(err, content.err) {
				return formatErr(content.err, "read entry %s: %v", hdr.Name, content.err)
			}
			return err
		}
		// What fn left unread still counts, and a short entry is a
		// truncated pack.
		if _, err := io.Copy(h, tr); err != nil {
			return formatErr(err, "read entry %s: %v", hdr.Name, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != hdr.Name {
			return &HashError{Name: hdr.Name, Got: got}
		}
	}
}

// formatErr makes err a FormatError when it is the tar reader finding the
// stream broken, and returns it as is otherwise (the body failing to
// arrive, say).
func formatErr(err error, format string, a ...any) error {
	if errors.Is(err, tar.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, tar.ErrFieldTooLong) || errors.Is(err, tar.ErrInsecurePath) {
		return &FormatError{fmt.Sprintf(format, a...)}
	}
	return err
}

// entryReader remembers the error reading an entry met, so that Read can
// tell a truncated pack from fn's own failures.
type entryReader struct {
	r   io.Reader
	err error
}

func (e *entryReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}
