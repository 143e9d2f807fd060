package pack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// Assemble recreates the tree of m in dst, which must be an empty directory
// or not exist yet (its parent must). blobPath gives the file holding a blob
// (for example blobstore.Store.Path); Assemble only reads it.
//
// Files are reflinked (FICLONE) from the blob where the filesystem can, and
// copied otherwise (copy_file_range, so in the kernel). They are never hard
// links: a hard link shares the inode, so the build could change the stored
// blob, and with it every later build and S3 object that uses it. Making
// that safe would need the blob read-only AND owned by another user AND a
// build without CAP_DAC_OVERRIDE/CAP_FOWNER, but EC2-type builds run as root
// in the host sandbox (no user namespace), and root writes and chmods
// read-only files. The inode also carries the mode, so one blob could not be
// 0644 in one tree and 0755 in another, and builds that edit their sources
// in place (version stamping, code generation) would fail on read-only files.
// A reflink costs no data copy and is copy-on-write, so it is as cheap as a
// hard link where available and as safe as a copy everywhere.
//
// The manifest is validated first (see Validate), and every write goes
// through an os.Root on dst, so a hostile manifest cannot place anything
// outside dst. Symlinks are created last and directory modes set last, so
// nothing is written through a link or into a read-only directory. On error,
// dst holds part of the tree; the caller removes it.
func Assemble(ctx context.Context, m *Manifest, dst string, blobPath func(hash string) (string, error)) error {
	_, err := assemble(ctx, m, dst, blobPath)
	return err
}

type assembleStats struct {
	cloned, copied atomic.Int64
}

func assemble(ctx context.Context, m *Manifest, dst string, blobPath func(string) (string, error)) (*assembleStats, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("assemble %s: %w", dst, err)
	}
	if err := emptyDir(dst); err != nil {
		return nil, fmt.Errorf("assemble %s: %w", dst, err)
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return nil, fmt.Errorf("assemble %s: %w", dst, err)
	}
	defer root.Close()

	var files []*Entry
	for i := range m.Entries {
		e := &m.Entries[i]
		switch e.Type {
		case TypeDir:
			// Owner-writable until the end; the real mode comes last.
			if err := root.Mkdir(e.Path, 0o700); err != nil {
				return nil, fmt.Errorf("assemble %s: %w", dst, err)
			}
		case TypeFile:
			files = append(files, e)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	st := &assembleStats{}
	var tryClone atomic.Bool
	tryClone.Store(true)
	// I/O bound: a few more workers than CPUs keep the disk queue full.
	workers := min(2*runtime.GOMAXPROCS(0), len(files))
	jobs := make(chan *Entry)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range jobs {
				if errs[w] != nil || ctx.Err() != nil {
					continue // drain
				}
				if err := placeFile(root, e, blobPath, &tryClone, st); err != nil {
					errs[w] = fmt.Errorf("assemble %s: %s: %w", dst, e.Path, err)
				}
			}
		}()
	}
	for _, e := range files {
		if ctx.Err() != nil {
			break
		}
		jobs <- e
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	for i := range m.Entries {
		if e := &m.Entries[i]; e.Type == TypeSymlink {
			if err := root.Symlink(e.Target, e.Path); err != nil {
				return nil, fmt.Errorf("assemble %s: %w", dst, err)
			}
		}
	}
	// Deepest first, so a read-only directory is closed after its children.
	for i := len(m.Entries) - 1; i >= 0; i-- {
		if e := &m.Entries[i]; e.Type == TypeDir {
			if err := root.Chmod(e.Path, fs.FileMode(e.Mode)); err != nil {
				return nil, fmt.Errorf("assemble %s: %w", dst, err)
			}
		}
	}
	return st, nil
}

// emptyDir makes sure dst is an empty directory, creating it if missing.
func emptyDir(dst string) error {
	if err := os.Mkdir(dst, 0o755); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := os.Lstat(dst)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New("not a directory")
	}
	f, err := os.Open(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); !errors.Is(err, io.EOF) {
		if err != nil {
			return err
		}
		return errors.New("directory is not empty")
	}
	return nil
}

func placeFile(root *os.Root, e *Entry, blobPath func(string) (string, error), tryClone *atomic.Bool, st *assembleStats) error {
	src, err := blobPath(e.SHA256)
	if err != nil {
		return fmt.Errorf("blob %s: %w", e.SHA256, err)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("blob %s: %w", e.SHA256, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("blob %s: %w", e.SHA256, err)
	}
	if !fi.Mode().IsRegular() || fi.Size() != e.Size {
		return fmt.Errorf("blob %s: size %d, manifest says %d", e.SHA256, fi.Size(), e.Size)
	}
	out, err := root.OpenFile(e.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := fillFile(out, in, e.Size, tryClone, st); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(fs.FileMode(e.Mode)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func fillFile(out, in *os.File, size int64, tryClone *atomic.Bool, st *assembleStats) error {
	if size == 0 {
		return nil
	}
	if tryClone.Load() {
		err := cloneFile(out, in)
		if err == nil {
			st.cloned.Add(1)
			return nil
		}
		if !cloneUnsupported(err) {
			return fmt.Errorf("reflink: %w", err)
		}
		tryClone.Store(false) // same filesystem for all files: stop asking
	}
	n, err := io.Copy(out, in)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if n != size {
		return fmt.Errorf("copy: %d bytes, want %d", n, size)
	}
	st.copied.Add(1)
	return nil
}

// cloneUnsupported reports errors that mean "this filesystem (pair) cannot
// reflink", as opposed to a failing disk.
func cloneUnsupported(err error) bool {
	return errors.Is(err, errors.ErrUnsupported) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EINVAL) ||
		errors.Is(err, syscall.ENOTTY) || errors.Is(err, syscall.ENOSYS) ||
		errors.Is(err, syscall.EPERM)
}

// AssembleLinked recreates the tree of m in dst like Assemble, but hard
// links each file from fileFor(hash, mode), which must return a file with
// exactly that content and mode. It is for trees nobody writes to — a
// read-only lower layer that builds see through an overlay, which copies a
// file up before any change — so sharing inodes between trees is safe and
// placing a file costs one link(2).
func AssembleLinked(ctx context.Context, m *Manifest, dst string, fileFor func(hash string, mode uint32) (string, error)) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("assemble %s: %w", dst, err)
	}
	if err := emptyDir(dst); err != nil {
		return fmt.Errorf("assemble %s: %w", dst, err)
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return fmt.Errorf("assemble %s: %w", dst, err)
	}
	defer root.Close()
	// Validate refuses paths with "..", absolute paths and entries below
	// symlinks, and symlinks are made last, so joining paths onto dst for
	// link(2) stays inside dst.
	for i := range m.Entries {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e := &m.Entries[i]
		switch e.Type {
		case TypeDir:
			if err := root.Mkdir(e.Path, 0o700); err != nil {
				return fmt.Errorf("assemble %s: %w", dst, err)
			}
		case TypeFile:
			src, err := fileFor(e.SHA256, e.Mode)
			if err != nil {
				return fmt.Errorf("assemble %s: %s: %w", dst, e.Path, err)
			}
			if err := os.Link(src, filepath.Join(dst, filepath.FromSlash(e.Path))); err != nil {
				return fmt.Errorf("assemble %s: %w", dst, err)
			}
		}
	}
	for i := range m.Entries {
		if e := &m.Entries[i]; e.Type == TypeSymlink {
			if err := root.Symlink(e.Target, e.Path); err != nil {
				return fmt.Errorf("assemble %s: %w", dst, err)
			}
		}
	}
	for i := len(m.Entries) - 1; i >= 0; i-- {
		if e := &m.Entries[i]; e.Type == TypeDir {
			if err := root.Chmod(e.Path, fs.FileMode(e.Mode)); err != nil {
				return fmt.Errorf("assemble %s: %w", dst, err)
			}
		}
	}
	return nil
}

// CopyFile copies the blob at src to a new file dst with the given mode,
// reflinking where the filesystem can.
func CopyFile(src, dst string, mode uint32) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	var tryClone atomic.Bool
	tryClone.Store(true)
	if err := fillFile(out, in, fi.Size(), &tryClone, &assembleStats{}); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(fs.FileMode(mode)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
