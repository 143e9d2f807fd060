package sandbox

import (
	"syscall"

	"golang.org/x/sys/unix"
)

func (s *supervisor) sysProcAttr() *syscall.SysProcAttr {
	sys := &syscall.SysProcAttr{Setsid: s.setsid}
	if s.dieWithParent {
		sys.Pdeathsig = syscall.SIGKILL
	}
	if s.user != nil {
		sys.Credential = &syscall.Credential{Uid: s.user.UID, Gid: s.user.GID, Groups: s.user.Groups}
	}
	if s.cgroupFD > 0 {
		sys.UseCgroupFD, sys.CgroupFD = true, s.cgroupFD
	}
	return sys
}

// fionread asks a pipe how many bytes are unread (FIONREAD).
const fionread = unix.TIOCINQ
