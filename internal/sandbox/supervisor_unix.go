//go:build unix

package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// exitCode is the shell convention: the exit status, or 128+signal.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// supervisor starts the shell, hands it the runner's requests, and restarts
// it (restoring its saved state) after it exits. The init runs it inside the
// namespaces; the fallback runs it in the runner.
//
// Each shell gets its own request pipe (fd 9), written only by the
// supervisor. A shell that dies while reading may have eaten part of a
// request; the supervisor knows what it handed over and whether it was read
// (FIONREAD), so it either reports the request as ended by the shell's death
// or hands it, whole, to the next shell. Exactly once, never garbled.
type supervisor struct {
	shell         string
	ctl           string // control dir as the shell sees it
	env           []string
	dir           string
	statePath     string // where the shell's EXIT trap saves its state
	user          *User
	null, out     uintptr   // the shell's stdin and stdout/stderr/marker fd
	nonce         string    // for exit markers
	marker        io.Writer // the output pipe
	setsid        bool      // fallback: own session and process group
	dieWithParent bool      // fallback: Pdeathsig where the OS has it
	cgroupFD      int       // fallback: CLONE_INTO_CGROUP target; 0 = none

	pid        int      // the live shell, 0 = none
	in         *os.File // write end of its request pipe
	startedAt  time.Time
	quickDeath int

	pending  string // a request not yet handed to a shell
	inflight string // the request handed to the live shell
	closing  bool   // the runner is done: no restarts
	preShell string // the shell started ahead (prestart), until adopted
	preUser  *User  // who it runs as (nil: root)
}

func (s *supervisor) attr(env []string, req uintptr) *syscall.ProcAttr {
	closed := ^uintptr(0)
	// 0 /dev/null, 1+2+8 output, 9 requests; 3-7 closed; the rest is
	// close-on-exec.
	files := []uintptr{s.null, s.out, s.out, closed, closed, closed, closed, closed, s.out, req}
	return &syscall.ProcAttr{Dir: s.dir, Env: env, Files: files, Sys: s.sysProcAttr()}
}

func (s *supervisor) spawn(restore bool) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create request pipe: %w", err)
	}
	env := s.env
	if restore {
		env = []string{} // everything comes from the saved state
	}
	pid, err := syscall.ForkExec(s.shell, shellArgs(s.shell, s.ctl, restore), s.attr(env, r.Fd()))
	r.Close()
	if err != nil {
		w.Close()
		return fmt.Errorf("start shell %s: %w", s.shell, err)
	}
	s.pid, s.in, s.startedAt = pid, w, time.Now()
	s.forward()
	return nil
}

// start starts the first shell.
func (s *supervisor) start() error { return s.spawn(false) }

// prestart starts the first shell before its build is known: it waits on
// its request pipe for the path of a script to source (adopt), which sets
// the build's environment and directory and runs the protocol script. It
// starts with an empty environment in s.dir, as s.user.
func (s *supervisor) prestart() error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create request pipe: %w", err)
	}
	name := s.shell
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	args := []string{name, "-c", `IFS= read -r __hangar_go <&9 && . "$__hangar_go"`, name}
	pid, err := syscall.ForkExec(s.shell, args, s.attr([]string{}, r.Fd()))
	r.Close()
	if err != nil {
		w.Close()
		return fmt.Errorf("start shell %s ahead: %w", s.shell, err)
	}
	s.pid, s.in, s.startedAt, s.preShell, s.preUser = pid, w, time.Now(), s.shell, s.user
	return nil
}

// adopt makes the shell started ahead the build's: it sources script, then
// takes requests like any shell.
func (s *supervisor) adopt(script string) error {
	s.preShell = ""
	if _, err := io.WriteString(s.in, script+"\n"); err != nil {
		return fmt.Errorf("start the waiting shell: %w", err)
	}
	s.startedAt = time.Now()
	s.forward()
	return nil
}

// discardPrestarted kills the shell started ahead when the build cannot
// use it, and reaps it.
func (s *supervisor) discardPrestarted() {
	if s.pid != 0 {
		_ = unix.Kill(s.pid, unix.SIGKILL)
		var ws unix.WaitStatus
		for {
			if _, err := unix.Wait4(s.pid, &ws, 0, nil); !errors.Is(err, unix.EINTR) {
				break
			}
		}
	}
	if s.in != nil {
		s.in.Close()
		s.in = nil
	}
	s.pid, s.preShell, s.preUser = 0, "", nil
}

// request takes a request line from the runner.
func (s *supervisor) request(line string) {
	s.pending = line
	s.forward()
}

func (s *supervisor) forward() {
	if s.pending == "" || s.in == nil {
		return
	}
	if _, err := io.WriteString(s.in, s.pending); err != nil {
		return // the shell is dying: the next one gets it
	}
	s.inflight, s.pending = s.pending, ""
}

// closeInput ends the requests: the shell reads EOF and exits, and is not
// restarted.
func (s *supervisor) closeInput() {
	s.closing = true
	if s.in != nil {
		s.in.Close()
		s.in = nil
	}
}

// exited handles the shell's exit. windDown means the runner closed the input
// and the sandbox should end; otherwise a new shell is running.
func (s *supervisor) exited(code int) (windDown bool, err error) {
	s.pid = 0
	seq := "0" // no request was with this shell
	if s.inflight != "" {
		n := 0
		if s.in != nil {
			n, _ = unix.IoctlGetInt(int(s.in.Fd()), fionread)
		}
		if n > 0 {
			s.pending = s.inflight // not (fully) read: the next shell gets it whole
		} else {
			seq, _, _ = strings.Cut(s.inflight, " ")
		}
		s.inflight = ""
	}
	if s.in != nil {
		s.in.Close()
		s.in = nil
	}
	if s.closing {
		return true, nil
	}
	_, _ = s.marker.Write(exitMarker(s.nonce, seq, code))
	if time.Since(s.startedAt) < 100*time.Millisecond {
		s.quickDeath++
	} else {
		s.quickDeath = 0
	}
	// A shell that dies while restoring would otherwise spin forever.
	if s.quickDeath > 50 {
		return false, errors.New("shell keeps exiting right after start; giving up")
	}
	_, statErr := os.Stat(s.statePath)
	return false, s.spawn(statErr == nil)
}
