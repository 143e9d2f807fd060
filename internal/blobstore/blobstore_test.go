package blobstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestPutOpenRemove(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Put(ctx, strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if b.SHA256 != sha("hello") || b.Size != 5 || b.MD5 != "5d41402abc4b2a76b9719d911017c592" {
		t.Fatalf("blob = %+v", b)
	}
	if !s.Has(b.SHA256) {
		t.Fatal("Has = false after Put")
	}
	p, _ := s.Path(b.SHA256)
	if filepath.Base(filepath.Dir(p)) != b.SHA256[:2] {
		t.Fatalf("path %s not under its 2-hex dir", p)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o444 {
		t.Fatalf("blob file mode = %v, %v; want read-only", fi.Mode(), err)
	}
	f, err := s.Open(b.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != "hello" {
		t.Fatalf("content = %q", got)
	}
	// Same content again: same blob, the file keeps its inode (it may be
	// hard-linked elsewhere).
	before, _ := os.Stat(p)
	if _, err := s.Put(ctx, strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(p)
	if !os.SameFile(before, after) {
		t.Fatal("second Put of the same content replaced the file")
	}
	if err := s.Remove(b.SHA256); err != nil {
		t.Fatal(err)
	}
	if s.Has(b.SHA256) {
		t.Fatal("Has = true after Remove")
	}
	if err := s.Remove(b.SHA256); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	if _, err := s.Open(b.SHA256); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open removed blob: %v", err)
	}
}

func TestInvalidHash(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("a", 63), strings.Repeat("g", 64)} {
		if _, err := s.Path(h); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("Path(%q) err = %v", h, err)
		}
		if _, err := s.Open(h); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("Open(%q) err = %v", h, err)
		}
		if s.Has(h) {
			t.Errorf("Has(%q) = true", h)
		}
	}
}

func TestPutVerified(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutVerified(ctx, strings.NewReader("abc"), sha("abd")); !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("mismatch err = %v", err)
	}
	if s.Has(sha("abc")) || s.Has(sha("abd")) {
		t.Fatal("mismatched content was stored")
	}
	assertNoTemp(t, dir)
	b, err := s.PutVerified(ctx, strings.NewReader("abc"), sha("abc"))
	if err != nil || b.SHA256 != sha("abc") {
		t.Fatalf("PutVerified = %+v, %v", b, err)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("connection reset")
	}
	r.n--
	return copy(p, "partial"), nil
}

func TestFailedPutLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), &failingReader{n: 3}); err == nil {
		t.Fatal("Put of a failing reader succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with cancelled ctx: %v", err)
	}
	assertNoTemp(t, dir)
	n := 0
	s.Walk(context.Background(), func(string) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d blobs after failed puts", n)
	}
}

func TestOpenCleansTemp(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("crash in the middle")) // never committed: a crash
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	assertNoTemp(t, dir)
}

func TestConcurrentPutSameContent(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789"), 100_000)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			b, err := s.Put(ctx, bytes.NewReader(data))
			if err == nil && b.Size != int64(len(data)) {
				err = errors.New("wrong size")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var hashes []string
	s.Walk(ctx, func(h string) error { hashes = append(hashes, h); return nil })
	want := sha256.Sum256(data)
	if len(hashes) != 1 || hashes[0] != hex.EncodeToString(want[:]) {
		t.Fatalf("blobs = %v", hashes)
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%d temp files left", len(entries))
	}
}
