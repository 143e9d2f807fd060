// Package blobstore keeps content-addressed files: each blob is stored once,
// named by the SHA-256 of its bytes, as <dir>/<first 2 hex>/<sha256>.
//
// Blobs are immutable, read-only files, so the runner may hard-link them into
// build source trees. A write goes to a temporary file in <dir>/tmp first and
// is renamed into place only once complete, so a reader never sees a partial
// blob and a crash leaves at most a temporary file, which Open removes.
//
// Files are not fsynced: like the store (SQLite, synchronous=NORMAL), a
// committed blob survives a crash of the process, not a power cut.
package blobstore

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotFound is returned for a blob the store does not have.
var ErrNotFound = errors.New("blob not found")

// ErrInvalidHash is returned for a name that is not 64 lowercase hex digits.
var ErrInvalidHash = errors.New("invalid blob hash")

// ErrHashMismatch is returned by PutVerified when the content does not hash to
// the expected value.
var ErrHashMismatch = errors.New("blob content does not match its hash")

// Blob describes stored content.
type Blob struct {
	SHA256 string // lowercase hex; the blob's name
	MD5    string // lowercase hex, for S3 ETags
	Size   int64
}

// Store is a directory of blobs. It is safe for concurrent use.
type Store struct {
	dir string
	tmp string
}

// Open opens (creating if needed) the blob store in dir and removes the
// temporary files a crash may have left behind.
func Open(dir string) (*Store, error) {
	s := &Store{dir: dir, tmp: filepath.Join(dir, "tmp")}
	if err := os.MkdirAll(s.tmp, 0o750); err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(s.tmp, e.Name())); err != nil {
			return nil, fmt.Errorf("open blob store %s: remove stale temp file: %w", dir, err)
		}
	}
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// ValidHash reports whether h is a well-formed blob name.
func ValidHash(h string) bool {
	if len(h) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Path returns the file path of blob h (which may not exist). Callers may
// read or hard-link the file but must never write it.
func (s *Store) Path(h string) (string, error) {
	if !ValidHash(h) {
		return "", fmt.Errorf("blob %q: %w", h, ErrInvalidHash)
	}
	return filepath.Join(s.dir, h[:2], h), nil
}

// Has reports whether the store holds blob h.
func (s *Store) Has(h string) bool {
	p, err := s.Path(h)
	if err != nil {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// Open opens blob h for reading.
func (s *Store) Open(h string) (*os.File, error) {
	p, err := s.Path(h)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open blob %s: %w", h, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", h, err)
	}
	return f, nil
}

// Remove deletes blob h. Removing a blob that is not there is not an error.
// Hard links made from it elsewhere keep their content.
func (s *Store) Remove(h string) error {
	p, err := s.Path(h)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove blob %s: %w", h, err)
	}
	return nil
}

// Walk calls fn with the hash of every blob in the store, in no particular
// order. Blobs added or removed during the walk may or may not be seen.
func (s *Store) Walk(ctx context.Context, fn func(h string) error) error {
	dirs, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("walk blob store: %w", err)
	}
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue
		}
		files, err := os.ReadDir(filepath.Join(s.dir, d.Name()))
		if err != nil {
			return fmt.Errorf("walk blob store: %w", err)
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			if ValidHash(f.Name()) && f.Name()[:2] == d.Name() {
				if err := fn(f.Name()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Put stores the content of r and returns its description.
func (s *Store) Put(ctx context.Context, r io.Reader) (Blob, error) {
	return s.put(ctx, r, "")
}

// PutVerified stores the content of r only if its SHA-256 is wantSHA256
// (lowercase hex); otherwise it stores nothing and returns ErrHashMismatch.
func (s *Store) PutVerified(ctx context.Context, r io.Reader, wantSHA256 string) (Blob, error) {
	if !ValidHash(wantSHA256) {
		return Blob{}, fmt.Errorf("put blob %q: %w", wantSHA256, ErrInvalidHash)
	}
	return s.put(ctx, r, wantSHA256)
}

func (s *Store) put(ctx context.Context, r io.Reader, want string) (Blob, error) {
	w, err := s.NewWriter()
	if err != nil {
		return Blob{}, err
	}
	defer w.Abort()
	if _, err := w.ReadFrom(ctx, r); err != nil {
		return Blob{}, err
	}
	if want != "" && w.Sum().SHA256 != want {
		return Blob{}, fmt.Errorf("put blob %s: got %s: %w", want, w.Sum().SHA256, ErrHashMismatch)
	}
	return w.Commit()
}

// Writer writes one blob in two steps: write the content, then Commit (or
// Abort). Callers that must check the content before keeping it (a checksum
// sent after the body, say) look at Sum first. A Writer is not safe for
// concurrent use.
type Writer struct {
	s    *Store
	f    *os.File
	sha  hash.Hash
	md5  hash.Hash
	size int64
	sum  *Blob // set once closed
	done bool
	// closeErr is what closing the file met; Commit fails with it.
	closeErr error
	tmpPath  string
}

// NewWriter starts a blob.
func (s *Store) NewWriter() (*Writer, error) {
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return nil, fmt.Errorf("create blob temp file: %w", err)
	}
	return &Writer{s: s, f: f, sha: sha256.New(), md5: md5.New(), tmpPath: f.Name()}, nil
}

// Write appends p to the blob.
func (w *Writer) Write(p []byte) (int, error) {
	if w.done || w.sum != nil {
		return 0, errors.New("write blob: writer is closed")
	}
	n, err := w.f.Write(p)
	w.sha.Write(p[:n])
	w.md5.Write(p[:n])
	w.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("write blob: %w", err)
	}
	return n, nil
}

// copyBufSize is large enough that a 50 MB upload takes few syscalls, small
// enough that many concurrent uploads stay cheap.
const copyBufSize = 256 << 10

// ReadFrom copies r into the blob until EOF, stopping early when ctx is done.
// Errors from r are returned unwrapped so callers can tell a client's bad
// body from a failing disk.
func (w *Writer) ReadFrom(ctx context.Context, r io.Reader) (int64, error) {
	buf := make([]byte, copyBufSize)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return total, err
			}
			total += int64(n)
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// Sum returns the hashes and size of what has been written so far.
func (w *Writer) Sum() Blob {
	if w.sum != nil {
		return *w.sum
	}
	return Blob{
		SHA256: hex.EncodeToString(w.sha.Sum(nil)),
		MD5:    hex.EncodeToString(w.md5.Sum(nil)),
		Size:   w.size,
	}
}

// Commit makes the blob visible under its hash. When the store already has
// that content the existing file is kept (its inode may be hard-linked
// somewhere) and the new copy dropped.
func (w *Writer) Commit() (Blob, error) {
	if w.done {
		return Blob{}, errors.New("commit blob: writer is closed")
	}
	if err := w.Close(); err != nil {
		w.Abort()
		return Blob{}, fmt.Errorf("commit blob: %w", err)
	}
	b := w.Sum()
	w.done = true
	defer os.Remove(w.tmpPath) // no-op once renamed
	p, _ := w.s.Path(b.SHA256)
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() == b.Size {
		return b, nil
	}
	// rename is atomic: two writers of the same content both succeed, and
	// readers see either no file or the whole file. The directory is made
	// only when missing: it nearly always exists, and a blob pack commits
	// thousands of blobs at once.
	err := os.Rename(w.tmpPath, p)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(p), 0o750); err == nil {
			err = os.Rename(w.tmpPath, p)
		}
	}
	if err != nil {
		return Blob{}, fmt.Errorf("commit blob %s: %w", b.SHA256, err)
	}
	return b, nil
}

// Close ends the writing: the temporary file is made read-only and closed,
// and kept until Commit or Abort. Callers holding many blobs before
// committing them close each, so they do not hold a file descriptor each.
func (w *Writer) Close() error {
	if w.done {
		return errors.New("close blob: writer is closed")
	}
	if w.sum != nil {
		return w.closeErr
	}
	b := w.Sum()
	w.sum = &b
	if err := w.f.Chmod(0o444); err != nil {
		w.f.Close()
		w.closeErr = fmt.Errorf("close blob %s: %w", b.SHA256, err)
	} else if err := w.f.Close(); err != nil {
		w.closeErr = fmt.Errorf("close blob %s: %w", b.SHA256, err)
	}
	return w.closeErr
}

// Abort discards the blob. It is safe to call after Commit (it does nothing).
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.tmpPath)
}
