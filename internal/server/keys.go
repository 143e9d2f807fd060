package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hangarci/hangar/internal/store"
)

const (
	credentialsFile = "credentials"
	endpointFile    = "endpoint"
	// runnerUser owns the key the runner makes for itself; it is an admin.
	runnerUser = "hangar"
)

// newAccessKey returns an access key id and secret shaped like AWS's
// (AKIA + 16 base32 characters; 40-character secret).
func newAccessKey() (id, secret string) {
	const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	return "AKIA" + randomString(idAlphabet, 16), randomString(secretAlphabet, 40)
}

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// runnerKey returns the runner's own access key, making it (and the
// credentials file that carries it) on first start.
func (rt *runtime) runnerKey(ctx context.Context) (id, secret string, err error) {
	path := filepath.Join(rt.cfg.StateDir, credentialsFile)
	if id, secret, ok := readCredentials(path); ok {
		k, err := rt.db.AccessKeyByID(ctx, id)
		if err == nil {
			plain, err := rt.seal.Open(k.Secret)
			if err == nil && string(plain) == secret {
				return id, secret, nil
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", "", fmt.Errorf("look up access key %s: %w", id, err)
		}
	}
	id, secret = newAccessKey()
	err = rt.db.PutAccessKey(ctx, store.AccessKey{
		ID: id, Secret: rt.seal.Seal([]byte(secret)), User: runnerUser, Status: "Active", Created: time.Now().UnixMilli(),
	})
	if err != nil {
		return "", "", fmt.Errorf("store access key: %w", err)
	}
	content := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", id, secret)
	if err := writeFileAtomic(path, []byte(content), 0o600); err != nil {
		return "", "", fmt.Errorf("write %s: %w", path, err)
	}
	return id, secret, nil
}

// readCredentials reads the default profile of a shared credentials file.
func readCredentials(path string) (id, secret string, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", false
	}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[] ")
			continue
		}
		k, v, found := strings.Cut(line, "=")
		if !found || section != "default" {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			id = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	return id, secret, id != "" && secret != ""
}

// writeFileAtomic writes a file by rename, so readers never see half of it.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeClientFiles writes what clients need to reach this runner: the
// credentials file and the endpoint file.
func (rt *runtime) writeClientFiles(ctx context.Context, endpoint string) error {
	if _, _, err := rt.runnerKey(ctx); err != nil {
		return err
	}
	// The pid lets a client tell a live runner from a stale file whose port
	// another process now holds.
	return writeFileAtomic(filepath.Join(rt.cfg.StateDir, endpointFile), []byte(fmt.Sprintf("%s\n%d\n", endpoint, os.Getpid())), 0o600)
}
