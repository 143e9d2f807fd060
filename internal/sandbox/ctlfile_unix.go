//go:build unix

package sandbox

import (
	"fmt"
	"os"
	"syscall"
)

const (
	oNOFOLLOW = syscall.O_NOFOLLOW
	oNONBLOCK = syscall.O_NONBLOCK
)

// checkWorkDir refuses a work dir that someone else could swap control dirs
// in (e.g. a /tmp/hangar-sandbox another local user created first).
func checkWorkDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("check sandbox work dir: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok {
		return fmt.Errorf("sandbox work dir %s is not a directory", dir)
	}
	if int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("sandbox work dir %s must be owned by uid %d and not group/world-writable", dir, os.Geteuid())
	}
	return nil
}
