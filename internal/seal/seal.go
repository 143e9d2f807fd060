// Package seal encrypts values at rest: SecureString parameters and secret
// values are stored sealed so that the database file alone reveals nothing.
//
// A Key is 32 random bytes kept in a file of its own (mode 0600), apart from
// the database, so that a copied or leaked database is useless without it.
// Values are sealed with AES-256-GCM under a fresh random nonce each.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// KeySize is the size of a key in bytes (AES-256).
const KeySize = 32

// version is the first byte of every sealed value, so that the format can
// change later without guessing.
const version byte = 1

// ErrOpen is returned when a sealed value cannot be opened: it is damaged,
// truncated or was sealed under another key.
var ErrOpen = errors.New("seal: value cannot be opened (damaged, or sealed under another key)")

// Key seals and opens values. It is safe for concurrent use.
type Key struct {
	aead cipher.AEAD
}

// NewKey returns a Key for 32 raw key bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("seal: key is %d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Key{aead: aead}, nil
}

// LoadOrCreateKey reads the key in the file at path, creating the file with
// a new random key (mode 0600, parent directories 0700) when it does not
// exist. A key file that group or others may read is refused: the key is
// the only thing between the database file and the secrets in it.
func LoadOrCreateKey(path string) (*Key, error) {
	raw, err := readKey(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := createKey(path); err != nil {
			return nil, err
		}
		raw, err = readKey(path)
	}
	if err != nil {
		return nil, err
	}
	return NewKey(raw)
}

func readKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is accessible by group or others (mode %04o); run chmod 600 %s", path, perm, path)
	}
	raw, err := io.ReadAll(io.LimitReader(f, KeySize+1))
	if err != nil {
		return nil, fmt.Errorf("read key file %s: %w", path, err)
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("key file %s holds %d bytes, want %d", path, len(raw), KeySize)
	}
	return raw, nil
}

// createKey writes a new key to a temporary file and links it into place,
// so that a reader never sees a half-written key and two processes racing
// to create it end up sharing one.
func createKey(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create key directory %s: %w", dir, err)
	}
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".key-*")
	if err != nil {
		return fmt.Errorf("create key file in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600; say so anyway in case that changes.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod key file: %w", err)
	}
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("install key file %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the new name durable; best effort
		d.Close()
	}
	return nil
}

// Seal encrypts plaintext: version byte, nonce, then ciphertext and tag.
func (k *Key) Seal(plaintext []byte) []byte {
	ns := k.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+k.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		// crypto/rand does not fail on supported platforms; a repeated
		// nonce would be far worse than stopping.
		panic("seal: read random nonce: " + err.Error())
	}
	return k.aead.Seal(out, out[1:1+ns], plaintext, nil)
}

// Open decrypts what Seal returned. It fails with ErrOpen when the value was
// altered or sealed under another key.
func (k *Key) Open(sealed []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < 1+ns+k.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := k.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], nil)
	if err != nil {
		return nil, ErrOpen
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}
