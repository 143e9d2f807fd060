package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "seal.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %04o, want 0600", perm)
	}
	if fi.Size() != KeySize {
		t.Errorf("key file size %d, want %d", fi.Size(), KeySize)
	}
	if dfi, _ := os.Stat(filepath.Dir(path)); dfi.Mode().Perm() != 0o700 {
		t.Errorf("key dir mode %04o, want 0700", dfi.Mode().Perm())
	}
	sealed := k1.Seal([]byte("hunter2"))
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k2.Open(sealed)
	if err != nil || string(got) != "hunter2" {
		t.Fatalf("reloaded key opens to %q, %v", got, err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("key dir holds %d entries, want only the key", len(ents))
	}
}

func TestLoadOrCreateKeyRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seal.key")
	keys := make([]*Key, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sealed := keys[0].Seal([]byte("x"))
	for i, k := range keys {
		if _, err := k.Open(sealed); err != nil {
			t.Errorf("key %d differs from key 0: %v", i, err)
		}
	}
}

func TestLoadKeyRefusesLoosePermissions(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		path := filepath.Join(t.TempDir(), "seal.key")
		if err := os.WriteFile(path, bytes.Repeat([]byte{7}, KeySize), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateKey(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: err = %v, want a refusal that says chmod 600", mode, err)
		}
	}
}

func TestLoadKeyRefusesWrongSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seal.key")
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "holds 5 bytes") {
		t.Errorf("err = %v", err)
	}
	if err := os.WriteFile(path, bytes.Repeat([]byte{1}, KeySize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil {
		t.Error("a 33-byte key file was accepted")
	}
}

func TestLoadKeyRefusesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "k")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(dir); err == nil {
		t.Error("a directory was accepted as a key file")
	}
}

func TestSealOpen(t *testing.T) {
	k, err := NewKey(bytes.Repeat([]byte{42}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range [][]byte{nil, {}, []byte("a"), bytes.Repeat([]byte("secret"), 10000)} {
		s1, s2 := k.Seal(pt), k.Seal(pt)
		if bytes.Equal(s1, s2) {
			t.Error("two seals of one value are equal: nonce reused")
		}
		// Only a plaintext long enough not to turn up in random bytes by
		// chance (one byte does in about one seal in ten).
		if len(pt) >= 8 && bytes.Contains(s1, pt) {
			t.Error("sealed value contains the plaintext")
		}
		got, err := k.Open(s1)
		if err != nil || !bytes.Equal(got, pt) || got == nil {
			t.Errorf("Open = %q, %v; want %q", got, err, pt)
		}
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	k, _ := NewKey(bytes.Repeat([]byte{1}, KeySize))
	other, _ := NewKey(bytes.Repeat([]byte{2}, KeySize))
	s := k.Seal([]byte("value"))
	cases := map[string][]byte{
		"empty":       nil,
		"truncated":   s[:len(s)-1],
		"short":       s[:5],
		"bad version": append([]byte{9}, s[1:]...),
	}
	for i := range s {
		b := bytes.Clone(s)
		b[i] ^= 0x80
		cases["flip"+string(rune('a'+i%26))+string(rune('0'+i/26))] = b
	}
	for name, c := range cases {
		if _, err := k.Open(c); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
	if _, err := other.Open(s); !errors.Is(err, ErrOpen) {
		t.Errorf("other key: err = %v, want ErrOpen", err)
	}
}

func TestNewKeySize(t *testing.T) {
	if _, err := NewKey(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}

func FuzzOpen(f *testing.F) {
	k, _ := NewKey(bytes.Repeat([]byte{3}, KeySize))
	f.Add(k.Seal([]byte("seed")))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := k.Open(b)
		if err == nil && !bytes.Equal(k.Seal(pt)[:1], []byte{version}) {
			t.Fatal("bad version")
		}
	})
}
