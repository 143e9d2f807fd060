package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// ent describes one archive entry for the builders below. typ is a tar
// type flag; zip builders map it onto modes.
type ent struct {
	name string
	typ  byte
	body string
	link string
	mode int64
}

var testTime = time.Date(2024, 8, 3, 5, 12, 48, 0, time.UTC)

func file(name, body string, mode int64) ent {
	return ent{name: name, typ: tar.TypeReg, body: body, mode: mode}
}
func dir(name string, mode int64) ent  { return ent{name: name, typ: tar.TypeDir, mode: mode} }
func symlink(name, target string) ent  { return ent{name: name, typ: tar.TypeSymlink, link: target} }
func hardlink(name, target string) ent { return ent{name: name, typ: tar.TypeLink, link: target} }

func makeTar(t testing.TB, ents []ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if e.typ == tar.TypeDir {
				mode = 0o755
			}
		}
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: mode, Linkname: e.link, ModTime: testTime, Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %q: %v", e.name, err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

func makeZip(t testing.TB, ents []ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range ents {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: testTime}
		body := e.body
		perm := fs.FileMode(e.mode)
		switch e.typ {
		case tar.TypeReg:
			if perm == 0 {
				perm = 0o644
			}
			h.SetMode(perm)
		case tar.TypeDir:
			if perm == 0 {
				perm = 0o755
			}
			if !strings.HasSuffix(h.Name, "/") {
				h.Name += "/"
			}
			h.SetMode(fs.ModeDir | perm)
		case tar.TypeSymlink:
			// What zip --symlinks writes: S_IFLNK in the external attributes,
			// the target as content.
			h.SetMode(fs.ModeSymlink | 0o777)
			body = e.link
		case tar.TypeChar:
			h.SetMode(fs.ModeDevice | fs.ModeCharDevice | 0o644)
		case tar.TypeFifo:
			h.SetMode(fs.ModeNamedPipe | 0o644)
		default:
			t.Fatalf("zip cannot hold type %c", e.typ)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatalf("zip header %q: %v", e.name, err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sandbox is a destination with a sentinel file next to it: unpacking must
// leave the parent exactly as it was.
type sandbox struct {
	parent, dst, sentinel string
}

func newSandbox(t testing.TB) sandbox {
	t.Helper()
	parent := t.TempDir()
	s := sandbox{parent: parent, dst: filepath.Join(parent, "dst"), sentinel: filepath.Join(parent, "outside")}
	if err := os.Mkdir(s.dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.sentinel, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s sandbox) unpack(data []byte, opts Options) (Stats, error) {
	return Unpack(context.Background(), bytes.NewReader(data), int64(len(data)), s.dst, opts)
}

// check asserts nothing outside dst changed and no link in dst leads out.
func (s sandbox) check(t testing.TB) {
	t.Helper()
	names, err := os.ReadDir(s.parent)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range names {
		got = append(got, n.Name())
	}
	if !slices.Equal(got, []string{"dst", "outside"}) {
		t.Fatalf("parent of dst holds %v", got)
	}
	if b, err := os.ReadFile(s.sentinel); err != nil || string(b) != "untouched" {
		t.Fatalf("sentinel changed: %q %v", b, err)
	}
	err = filepath.WalkDir(s.dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		m := info.Mode()
		if m&(fs.ModeDevice|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeSetuid|fs.ModeSetgid) != 0 {
			t.Errorf("%s has mode %v", p, m)
		}
		if m&fs.ModeSymlink != 0 {
			if !resolvesInside(t, s.dst, p) {
				t.Errorf("symbolic link %s leads outside", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// resolvesInside follows link on the real file system, independently of
// the package's own resolver, and reports whether it stays under root.
func resolvesInside(t testing.TB, root, link string) bool {
	t.Helper()
	rel, err := filepath.Rel(root, link)
	if err != nil {
		t.Fatal(err)
	}
	cur := strings.Split(filepath.ToSlash(filepath.Dir(rel)), "/")
	if cur[0] == "." {
		cur = nil
	}
	queue := []string{filepath.Base(rel)}
	for hops := 0; len(queue) > 0; {
		c := queue[0]
		queue = queue[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return false
			}
			cur = cur[:len(cur)-1]
			continue
		}
		p := filepath.Join(append([]string{root}, append(slices.Clone(cur), c)...)...)
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = append(cur, c)
			continue
		}
		if hops++; hops > 40 {
			return true // a loop: the kernel gives ELOOP, nothing escapes
		}
		target, err := os.Readlink(p)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.IsAbs(target) {
			return false
		}
		queue = append(strings.Split(target, "/"), queue...)
	}
	return true
}
