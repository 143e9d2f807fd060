package pack

import (
	"io/fs"
	"syscall"
)

// statKey returns what the hash cache compares to decide a file is unchanged.
func statKey(fi fs.FileInfo) (fileKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}, false
	}
	return fileKey{
		Size:  fi.Size(),
		Mtime: st.Mtimespec.Nano(),
		Ctime: st.Ctimespec.Nano(),
		Ino:   st.Ino,
		Dev:   uint64(st.Dev),
	}, true
}
