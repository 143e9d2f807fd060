package archive

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/klauspost/compress/zstd"
)

// maxZstdWindow caps the decoder's window (and so its memory): zstd -19 uses
// 8 MiB, --long up to 128 MiB; a frame asking for more is refused rather
// than allowed to grow the runner by gigabytes.
const maxZstdWindow = 64 << 20

// Unpack unpacks the archive in src (zip, tar, tar.gz or tar.zst, told apart
// by their first bytes) into the existing directory dst.
func Unpack(ctx context.Context, src io.ReaderAt, size int64, dst string, opts Options) (Stats, error) {
	head := make([]byte, headSize)
	n, err := src.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return Stats{}, fmt.Errorf("read archive header: %w", err)
	}
	if Detect(head[:n]) == FormatZip {
		return unpackZip(ctx, src, size, dst, opts)
	}
	return unpackStream(ctx, io.NewSectionReader(src, 0, size), dst, opts)
}

// UnpackReader is Unpack for a stream. A zip needs random access, so it is
// first copied to a temporary file (bounded by the limits).
func UnpackReader(ctx context.Context, r io.Reader, dst string, opts Options) (Stats, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(headSize) // a short or failing stream is judged below
	if Detect(head) != FormatZip {
		return unpackStream(ctx, br, dst, opts)
	}
	o := opts.withDefaults()
	// Compressed entries are smaller than their content; stored ones add a
	// header each. Anything bigger cannot unpack within the limits.
	limit := o.MaxTotalBytes + int64(o.MaxEntries)*1024 + 1<<20
	tmp, err := os.CreateTemp("", "hangar-unpack-*.zip")
	if err != nil {
		return Stats{}, fmt.Errorf("spool zip: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, &ctxReader{ctx: ctx, r: io.LimitReader(br, limit+1)})
	if err != nil {
		return Stats{}, fmt.Errorf("spool zip: %w", err)
	}
	if n > limit {
		return Stats{}, fmt.Errorf("%w: zip archive is larger than %d bytes", ErrLimit, limit)
	}
	return unpackZip(ctx, tmp, n, dst, opts)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func unpackStream(ctx context.Context, r io.Reader, dst string, opts Options) (Stats, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	head, _ := br.Peek(headSize)
	var inner io.Reader
	switch f := Detect(head); f {
	case FormatTar:
		return unpackTar(ctx, br, dst, opts)
	case FormatGzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return Stats{}, fmt.Errorf("read gzip: %w", err)
		}
		defer zr.Close()
		inner = zr
	case FormatZstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return Stats{}, fmt.Errorf("read zstd: %w", err)
		}
		defer zr.Close()
		inner = zr
	default:
		return Stats{}, fmt.Errorf("%w: %s", ErrUnsupported, describe(head))
	}
	ib := bufio.NewReaderSize(inner, 64<<10)
	ihead, err := ib.Peek(headSize)
	if !isTar(ihead) {
		if err != nil && err != io.EOF {
			return Stats{}, fmt.Errorf("decompress: %w", err)
		}
		return Stats{}, fmt.Errorf("%w: compressed data is not a tar archive", ErrUnsupported)
	}
	return unpackTar(ctx, ib, dst, opts)
}

// describe names what a non-archive looks like, for the error message.
func describe(head []byte) string {
	switch {
	case len(head) == 0:
		return "empty file"
	case bytes.HasPrefix(head, []byte("BZh")):
		return "bzip2 is not supported, use zip, tar, tar.gz or tar.zst"
	case bytes.HasPrefix(head, []byte("\xfd7zXZ\x00")):
		return "xz is not supported, use zip, tar, tar.gz or tar.zst"
	case bytes.HasPrefix(head, []byte("7z\xbc\xaf\x27\x1c")):
		return "7z is not supported, use zip, tar, tar.gz or tar.zst"
	}
	return "not a zip, tar, tar.gz or tar.zst archive"
}

func unpackTar(ctx context.Context, r io.Reader, dst string, opts Options) (Stats, error) {
	e, err := newExtractor(ctx, dst, opts)
	if err != nil {
		return Stats{}, err
	}
	defer e.close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return e.end(nil)
		}
		if err != nil {
			return e.end(fmt.Errorf("read tar: %w", err))
		}
		if err := e.tarEntry(hdr, tr); err != nil {
			return e.end(err)
		}
	}
}

func (e *extractor) tarEntry(hdr *tar.Header, r io.Reader) error {
	name, err := e.begin(hdr.Name, false)
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // pax metadata (git archive writes the commit id there), not a file
	}
	if err != nil {
		return err
	}
	h := &header{
		raw:      hdr.Name,
		name:     name,
		mode:     fs.FileMode(hdr.Mode).Perm(),
		size:     hdr.Size,
		linkname: hdr.Linkname,
		mtime:    hdr.ModTime,
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeCont, tar.TypeGNUSparse:
		return e.file(h, r)
	case tar.TypeDir:
		return e.dir(h)
	case tar.TypeSymlink:
		return e.symlink(h)
	case tar.TypeLink:
		return e.hardlink(h, false)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return unsafeEntry(h.raw, "device and FIFO entries are not allowed")
	}
	return &EntryError{Name: h.raw, Err: fmt.Errorf("%w: tar entry type %q", ErrUnsupported, hdr.Typeflag)}
}

func unpackZip(ctx context.Context, src io.ReaderAt, size int64, dst string, opts Options) (Stats, error) {
	zr, err := zip.NewReader(src, size)
	// ErrInsecurePath (GODEBUG=zipinsecurepath=0) comes with a usable reader;
	// names are checked entry by entry below, with the entry named.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return Stats{}, fmt.Errorf("read zip: %w", err)
	}
	e, err := newExtractor(ctx, dst, opts)
	if err != nil {
		return Stats{}, err
	}
	defer e.close()
	if len(zr.File) > e.opts.MaxEntries {
		return Stats{}, fmt.Errorf("%w: archive has more than %d entries", ErrLimit, e.opts.MaxEntries)
	}
	for _, f := range zr.File {
		if err := e.zipEntry(f); err != nil {
			return e.end(err)
		}
	}
	return e.end(nil)
}

func (e *extractor) zipEntry(f *zip.File) error {
	name, err := e.begin(f.Name, true)
	if err != nil {
		return err
	}
	mode := f.Mode()
	h := &header{raw: f.Name, name: name, mode: mode.Perm(), size: -1, mtime: f.Modified}
	if f.UncompressedSize64 <= 1<<62 {
		h.size = int64(f.UncompressedSize64)
	}
	switch {
	case mode&fs.ModeSymlink != 0:
		// zip -y / --symlinks stores the target as the entry's content.
		target, err := e.readZip(f, maxNameLen)
		if err != nil {
			return err
		}
		h.linkname = string(target)
		return e.symlink(h)
	case mode.IsDir():
		return e.dir(h)
	case mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeIrregular) != 0:
		return unsafeEntry(h.raw, "device, FIFO and socket entries are not allowed")
	}
	rc, err := f.Open()
	if err != nil {
		return &EntryError{Name: h.raw, Err: fmt.Errorf("open: %w", err)}
	}
	defer rc.Close()
	return e.file(h, rc)
}

func (e *extractor) readZip(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, &EntryError{Name: f.Name, Err: fmt.Errorf("open: %w", err)}
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, &EntryError{Name: f.Name, Err: fmt.Errorf("read: %w", err)}
	}
	if int64(len(data)) > limit {
		return nil, unsafeEntry(f.Name, "symbolic link target longer than %d bytes", limit)
	}
	return data, nil
}
