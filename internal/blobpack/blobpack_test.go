package blobpack

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writePack(t testing.TB, contents ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, c := range contents {
		if err := w.Add(hashOf(c), int64(len(c)), bytes.NewReader(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestKeys(t *testing.T) {
	h := hashOf(nil)
	if BlobKey(h) != "blobs/"+h {
		t.Errorf("BlobKey = %s", BlobKey(h))
	}
	k1, k2 := PackKey(), PackKey()
	if k1 == k2 || !IsPackKey(k1) || !strings.HasSuffix(k1, PackSuffix) {
		t.Errorf("pack keys %s %s", k1, k2)
	}
	// A pack key is never a blob key, nor listed as one.
	if name := strings.TrimPrefix(k1, BlobPrefix); ValidHash(name) || IsPackKey(BlobKey(h)) {
		t.Errorf("pack key %s and blob key %s overlap", k1, BlobKey(h))
	}
}

func TestRoundTrip(t *testing.T) {
	contents := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte{7}, 70000)}
	var got [][]byte
	err := Read(bytes.NewReader(writePack(t, contents...)), func(name string, size int64, r io.Reader) error {
		b, err := io.ReadAll(r)
		if int64(len(b)) != size || hashOf(b) != name {
			t.Errorf("entry %s: %d bytes of %d", name, len(b), size)
		}
		got = append(got, b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(contents) {
		t.Fatalf("%d entries, want %d", len(got), len(contents))
	}
}

func TestReadRefuses(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: hashOf([]byte("x")), Size: 1})
	tw.Write([]byte("y"))
	tw.Close()
	var he *HashError
	if err := Read(&buf, func(string, int64, io.Reader) error { return nil }); !errors.As(err, &he) || !errors.Is(err, ErrHashMismatch) {
		t.Errorf("wrong content: %v", err)
	}
	if err := (&Writer{}).Add("NOTAHASH", 0, nil); err == nil {
		t.Error("Add took a bad name")
	}
	// fn reading part of an entry does not hide a mismatch.
	pack := writePack(t, []byte("hello"))
	pack[512] = 'j'
	if err := Read(bytes.NewReader(pack), func(_ string, _ int64, r io.Reader) error {
		_, err := r.Read(make([]byte, 1))
		return err
	}); !errors.As(err, &he) {
		t.Errorf("partly read wrong content: %v", err)
	}
}

// FuzzBlobPack feeds Read arbitrary bytes: it must not panic, must fail
// with a *FormatError or *HashError only (the reader never fails), and
// whatever it accepts is a pack of well-named entries whose contents hash
// to their names.
func FuzzBlobPack(f *testing.F) {
	f.Add(writePack(f, []byte("one"), []byte("two"), []byte{}))
	f.Add(writePack(f))
	bad := writePack(f, []byte("hello"))
	bad[512] = 'j'
	f.Add(bad)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: hashOf(nil), Linkname: "/"})
	tw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		err := Read(bytes.NewReader(data), func(name string, size int64, r io.Reader) error {
			n++
			if !ValidHash(name) || size < 0 {
				t.Fatalf("entry %q of size %d passed on", name, size)
			}
			// Read only a part of some entries: Read hashes the rest.
			if n%2 == 0 {
				_, err := io.CopyN(io.Discard, r, size/2)
				return err
			}
			_, err := io.Copy(io.Discard, r)
			return err
		})
		var fe *FormatError
		var he *HashError
		if err != nil && !errors.As(err, &fe) && !errors.As(err, &he) {
			t.Fatalf("error neither format nor hash: %T %v", err, err)
		}
		if n > MaxEntries {
			t.Fatalf("%d entries passed on", n)
		}
	})
}
