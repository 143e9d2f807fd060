package remote

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// LastBuild is the last build a working tree started on one runner, kept
// so `hangar stop` with no argument stops it, whichever project it is in.
type LastBuild struct {
	Root    string    `json:"root"`
	Runner  string    `json:"runner"` // which runner: kind and where
	BuildID string    `json:"buildId"`
	Project string    `json:"project"`
	Started time.Time `json:"started"`
}

// lastPath is the file for root on runner under dir: one file per pair,
// named by a hash so any path fits.
func lastPath(dir, root, runner string) string {
	sum := sha256.Sum256([]byte(root + "\x00" + runner))
	return filepath.Join(dir, hex.EncodeToString(sum[:12])+".json")
}

// Remember records lb under dir (e.g. <state dir>/last), replacing the
// file atomically.
func Remember(dir string, lb LastBuild) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("remember build %s: %w", lb.BuildID, err)
	}
	b, err := json.Marshal(lb)
	if err != nil {
		return fmt.Errorf("remember build %s: %w", lb.BuildID, err)
	}
	p := lastPath(dir, lb.Root, lb.Runner)
	tmp, err := os.CreateTemp(dir, ".last-*")
	if err != nil {
		return fmt.Errorf("remember build %s: %w", lb.BuildID, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("remember build %s: %w", lb.BuildID, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("remember build %s: %w", lb.BuildID, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("remember build %s: %w", lb.BuildID, err)
	}
	return nil
}

// ErrNoLastBuild says no build was started from a tree on a runner.
var ErrNoLastBuild = errors.New("no build started from this working tree yet")

// Recall returns the last build started from root on runner.
func Recall(dir, root, runner string) (LastBuild, error) {
	b, err := os.ReadFile(lastPath(dir, root, runner))
	if errors.Is(err, fs.ErrNotExist) {
		return LastBuild{}, ErrNoLastBuild
	}
	if err != nil {
		return LastBuild{}, fmt.Errorf("read last build: %w", err)
	}
	var lb LastBuild
	if err := json.Unmarshal(b, &lb); err != nil {
		return LastBuild{}, fmt.Errorf("read last build %s: %w", lastPath(dir, root, runner), err)
	}
	return lb, nil
}
