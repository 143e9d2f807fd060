package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestFilesArePrivate checks that the database and its WAL files are
// readable by the runner's user alone, new or found with a wider mode.
func TestFilesArePrivate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "hangar.db")
	for _, existing := range []bool{false, true} {
		if existing {
			// As a runner killed before this fix left them.
			for _, f := range []string{path, path + "-wal", path + "-shm"} {
				fh, err := os.OpenFile(f, os.O_WRONLY|os.O_CREATE, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				fh.Close()
				if err := os.Chmod(f, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		// A write makes the WAL and shared-memory files.
		if err := db.PutAccessKey(ctx, AccessKey{ID: "AKIA" + map[bool]string{false: "ONE", true: "TWO"}[existing], Secret: []byte{1}, User: "u", Status: "Active"}); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(path + "*")
		if len(files) < 2 {
			t.Fatalf("database files %v", files)
		}
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("existing=%v: %s has mode %v, want 0600", existing, filepath.Base(f), fi.Mode().Perm())
			}
		}
		db.Close()
	}
}
