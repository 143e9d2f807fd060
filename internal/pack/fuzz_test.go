package pack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzManifest treats the manifest as what it is on the runner: bytes from
// the network. Whatever ParseManifest accepts must re-encode to a document
// that parses to the same bytes, and assembling it must never create or
// change anything outside the destination, nor touch the blobs.
func FuzzManifest(f *testing.F) {
	a, b := sha256Hex("a"), sha256Hex("")
	for _, seed := range []string{
		`{"version":1,"entries":[]}`,
		`{"version":1,"entries":[{"path":"d","type":"dir","mode":493},{"path":"d/f","type":"file","mode":420,"size":1,"sha256":"` + a + `"},{"path":"l","type":"symlink","target":"d/f"}]}`,
		`{"version":1,"entries":[{"path":"e","type":"file","mode":256,"sha256":"` + b + `"}]}`,
		`{"version":1,"entries":[{"path":"../x","type":"file","size":1,"sha256":"` + a + `"}]}`,
		`{"version":1,"entries":[{"path":"l","type":"symlink","target":".."},{"path":"l/x","type":"file","size":1,"sha256":"` + a + `"}]}`,
		`{"version":1,"entries":[{"path":"d","type":"dir"},{"path":"d/up","type":"symlink","target":".."},{"path":"esc","type":"symlink","target":"d/up/.."}]}`,
		`{"version":1,"entries":[{"path":"a","type":"symlink","target":"b"},{"path":"b","type":"symlink","target":"a"}]}`,
		`{"version":1,"entries":[{"path":"x","type":"dir","mode":0},{"path":"x/y","type":"dir","mode":365}]}`,
		`{"version":1,"entries":[{"path":"/abs","type":"dir"}]}`,
		`{"version":1,"entries":[{"path":"a","type":"file","size":1,"sha256":"` + a + `"},{"path":"a","type":"dir"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("accepted manifest does not encode: %v", err)
		}
		m2, err := ParseManifest(enc)
		if err != nil {
			t.Fatalf("re-encoded manifest refused: %v\n%s", err, enc)
		}
		enc2, _ := m2.Encode()
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
		if len(m.Entries) > 64 {
			return
		}

		sandbox := t.TempDir()
		blobs := filepath.Join(sandbox, "blobs")
		os.Mkdir(blobs, 0o755)
		// Every blob exists with the size the manifest claims (small ones).
		for _, e := range m.Entries {
			if e.Type == TypeFile && e.Size <= 4096 {
				os.WriteFile(filepath.Join(blobs, e.SHA256), bytes.Repeat([]byte("b"), int(e.Size)), 0o444)
			}
		}
		before := snapshot(t, blobs)
		dst := filepath.Join(sandbox, "dst")
		err = Assemble(context.Background(), m, dst, func(h string) (string, error) {
			return filepath.Join(blobs, h), nil
		})
		// Let the cleanup remove read-only directories.
		defer filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		entries, _ := os.ReadDir(sandbox)
		if len(entries) != 2 {
			t.Fatalf("assembly wrote outside its destination: %v", entries)
		}
		compareTrees(t, snapshot(t, blobs), before)
		if err != nil {
			return
		}
		for _, e := range m.Entries {
			fi, err := os.Lstat(filepath.Join(dst, e.Path))
			if err != nil {
				t.Fatalf("%s not assembled: %v", e.Path, err)
			}
			if e.Type == TypeSymlink && fi.Mode()&os.ModeSymlink == 0 {
				t.Fatalf("%s: not a symlink", e.Path)
			}
			if e.Type == TypeSymlink && strings.HasPrefix(e.Target, "/") {
				t.Fatalf("%s: absolute link accepted", e.Path)
			}
		}
	})
}
