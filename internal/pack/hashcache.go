package pack

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// fileKey is what a file must still match for its cached hash to be reused.
// A write changes mtime and ctime; replacing the file changes the inode.
type fileKey struct {
	Size  int64
	Mtime int64 // ns
	Ctime int64 // ns
	Ino   uint64
	Dev   uint64
}

type cacheEntry struct {
	key fileKey
	sum [sha256.Size]byte
}

// racyWindow: a file whose mtime or ctime is this close to the start of the
// scan is not cached, because a write landing in the same timestamp tick
// (1–2 s on some filesystems, a jiffy on ext4) would leave both unchanged.
// This is git's "racily clean" problem; such files are simply re-hashed next
// time.
const racyWindow = 2 * time.Second

const cacheMagic = "hangar-pack-hashes-v1\n"

// hashCache maps root-relative paths to the hash of their content. It is one
// file per project root under the cache dir, written whole and renamed into
// place, with a SHA-256 trailer so a damaged file is ignored rather than
// trusted.
type hashCache struct {
	file    string
	entries map[string]cacheEntry
}

func cacheFile(dir, root string) string {
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(dir, "hashes-"+hex.EncodeToString(sum[:16]))
}

// loadHashCache reads the cache for root. A missing or damaged file gives an
// empty cache; only the reason is returned, for a note.
func loadHashCache(dir, root string) (*hashCache, error) {
	c := &hashCache{file: cacheFile(dir, root), entries: map[string]cacheEntry{}}
	data, err := os.ReadFile(c.file)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read hash cache: %w", err)
	}
	if err := c.decode(data); err != nil {
		c.entries = map[string]cacheEntry{}
		return c, fmt.Errorf("read hash cache %s: %w", c.file, err)
	}
	return c, nil
}

func (c *hashCache) decode(data []byte) error {
	if len(data) < len(cacheMagic)+sha256.Size || string(data[:len(cacheMagic)]) != cacheMagic {
		return errors.New("not a hash cache")
	}
	body, trailer := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], trailer) {
		return errors.New("checksum mismatch")
	}
	r := bytes.NewReader(body[len(cacheMagic):])
	for r.Len() > 0 {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > uint64(r.Len()) {
			return errors.New("bad record")
		}
		name := make([]byte, n)
		_, _ = io.ReadFull(r, name)
		var e cacheEntry
		var fields [5]uint64
		for i := range fields {
			if fields[i], err = binary.ReadUvarint(r); err != nil {
				return errors.New("bad record")
			}
		}
		e.key = fileKey{Size: int64(fields[0]), Mtime: int64(fields[1]), Ctime: int64(fields[2]), Ino: fields[3], Dev: fields[4]}
		if _, err := io.ReadFull(r, e.sum[:]); err != nil {
			return errors.New("bad record")
		}
		c.entries[string(name)] = e
	}
	return nil
}

func (c *hashCache) lookup(rel string, k fileKey) ([sha256.Size]byte, bool) {
	e, ok := c.entries[rel]
	if !ok || e.key != k {
		return [sha256.Size]byte{}, false
	}
	return e.sum, true
}

// save replaces the cache with exactly the given entries, so files that
// disappeared drop out.
func (c *hashCache) save(dir string, entries map[string]cacheEntry) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write hash cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".hashes-*")
	if err != nil {
		return fmt.Errorf("write hash cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(tmp, h), 256<<10)
	_, _ = w.WriteString(cacheMagic)
	var buf [binary.MaxVarintLen64]byte
	put := func(v uint64) { _, _ = w.Write(buf[:binary.PutUvarint(buf[:], v)]) }
	for name, e := range entries {
		put(uint64(len(name)))
		_, _ = w.WriteString(name)
		put(uint64(e.key.Size))
		put(uint64(e.key.Mtime))
		put(uint64(e.key.Ctime))
		put(e.key.Ino)
		put(e.key.Dev)
		_, _ = w.Write(e.sum[:])
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write hash cache: %w", err)
	}
	if _, err := tmp.Write(h.Sum(nil)); err != nil {
		tmp.Close()
		return fmt.Errorf("write hash cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write hash cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.file); err != nil {
		return fmt.Errorf("write hash cache: %w", err)
	}
	return nil
}
