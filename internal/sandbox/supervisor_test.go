//go:build unix

package sandbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSupervisorRequestNotLost: a shell that dies while reading a request
// must not garble or lose it, and one that read it must not get it twice.
func TestSupervisorRequestNotLost(t *testing.T) {
	for name, c := range map[string]struct {
		eat  string // what the first shell reads before it kills itself
		want string
	}{
		// Part of the line: the request goes, whole, to the next shell.
		"partial": {"dd bs=1 count=2 <&9 >/dev/null 2>&1", marker("X0:137") + marker("E12:42")},
		// All of it: the request ended with the shell.
		"whole": {"IFS=' ' read -r s m <&9", marker("X12:137")},
	} {
		t.Run(name, func(t *testing.T) {
			ctl := t.TempDir()
			script := `if [ "${1-}" != restore ]; then
	` + c.eat + `
	kill -9 $$
fi
IFS=' ' read -r s m <&9 || exit 0
printf '\036HANGAR:` + testNonce + `:E%s:%s\036' "$s" 42 >&8
read -r _ <&9
`
			os.WriteFile(filepath.Join(ctl, shellScriptName), []byte(script), 0o644)
			os.WriteFile(filepath.Join(ctl, "state"), nil, 0o644) // restarts pass "restore"
			outR, outW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer outR.Close()
			null, _ := os.Open(os.DevNull)
			defer null.Close()
			s := &supervisor{shell: "/bin/sh", ctl: ctl, env: []string{"PATH=/usr/bin:/bin"}, dir: "/",
				statePath: filepath.Join(ctl, "state"), null: null.Fd(), out: outW.Fd(), nonce: testNonce, marker: outW}
			if err := s.start(); err != nil {
				t.Fatal(err)
			}
			s.request("12 r\n")
			wait := func() int {
				var ws unix.WaitStatus
				for {
					_, err := unix.Wait4(s.pid, &ws, 0, nil)
					if !errors.Is(err, unix.EINTR) {
						return exitCode(ws)
					}
				}
			}
			if code := wait(); code != 137 {
				t.Fatalf("first shell: %d", code)
			}
			if end, err := s.exited(137); end || err != nil {
				t.Fatal(end, err)
			}
			time.Sleep(50 * time.Millisecond)
			s.closeInput()
			wait()
			outW.Close()
			var got bytes.Buffer
			got.ReadFrom(outR)
			if got.String() != c.want {
				t.Fatalf("output %q, want %q", got.String(), c.want)
			}
		})
	}
}
