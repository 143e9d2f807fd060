// Package archive unpacks build sources (zip, tar, tar.gz, tar.zst) into a
// directory without letting any entry reach outside it.
//
// Every write goes through an os.Root opened on the destination, so the
// kernel-level open cannot escape even if a check here is wrong. On top of
// that, entries are refused (with an *EntryError naming them) when their name
// is absolute or has a ".." component (with / or \ as separator), when their
// path runs through a symbolic link, when they are devices, FIFOs or
// sockets, when a symbolic link's target is absolute or resolves outside the
// destination, or when a hard link points at anything but a regular file
// unpacked earlier from the same archive.
//
// On error the destination holds whatever was unpacked so far (all of it
// inside); callers throw the directory away.
package archive

import (
	"errors"
	"fmt"
)

// Default limits; a zero field of Options takes these.
const (
	DefaultMaxTotalBytes = 8 << 30 // sum of regular file sizes
	DefaultMaxFileBytes  = 4 << 30
	DefaultMaxEntries    = 1 << 20
)

// Options bounds what one Unpack may write.
type Options struct {
	MaxTotalBytes int64 // bytes of all regular files together
	MaxEntries    int   // archive entries of any kind
	MaxFileBytes  int64 // bytes of one regular file
}

func (o Options) withDefaults() Options {
	if o.MaxTotalBytes <= 0 {
		o.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	return o
}

// Stats counts what Unpack created.
type Stats struct {
	Files int   // regular files
	Dirs  int   // directories created, listed or implied by a path
	Links int   // symbolic and hard links
	Bytes int64 // bytes written to regular files
}

// Errors callers can test for with errors.Is.
var (
	ErrUnsafe      = errors.New("unsafe")
	ErrLimit       = errors.New("over the limit")
	ErrUnsupported = errors.New("unsupported archive")
)

// EntryError is a problem with one archive entry.
type EntryError struct {
	Name string // as written in the archive
	Err  error
}

func (e *EntryError) Error() string { return fmt.Sprintf("archive entry %q: %v", e.Name, e.Err) }
func (e *EntryError) Unwrap() error { return e.Err }

func unsafeEntry(name, format string, args ...any) error {
	return &EntryError{Name: name, Err: fmt.Errorf("%w: %s", ErrUnsafe, fmt.Sprintf(format, args...))}
}

func limitEntry(name, format string, args ...any) error {
	return &EntryError{Name: name, Err: fmt.Errorf("%w: %s", ErrLimit, fmt.Sprintf(format, args...))}
}
