//go:build unix && !linux

package sandbox

import "syscall"

func (s *supervisor) sysProcAttr() *syscall.SysProcAttr {
	sys := &syscall.SysProcAttr{Setsid: s.setsid}
	if s.user != nil {
		sys.Credential = &syscall.Credential{Uid: s.user.UID, Gid: s.user.GID, Groups: s.user.Groups}
	}
	return sys
}

// fionread is the BSDs' FIONREAD, _IOR('f', 127, int).
const fionread = 0x4004667f
