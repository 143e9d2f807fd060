// Package sandbox runs a build's shell commands on the host: in new pid, mount,
// ipc and uts namespaces with a per-build cgroup (v1, v2 or hybrid), or — where
// namespaces are not allowed — as plain processes (degraded, logged once).
//
// All commands of a build run in ONE persistent shell (buildspec 0.2
// semantics): `cd`, `export X=1` and plain `Y=2` carry over from one Run to
// the next, also across `exit` (see protocol.go).
//
// Processes of a namespaced sandbox:
//
//	runner ──(re-exec /proc/self/exe as "hangar-sandbox-init")──▶ init, PID 1
//	   fd 3 ctl    runner→init: spec (JSON), go-ahead, terminate
//	   fd 4 status init→runner: "ok …" or the setup error
//	   fd 5 cmd    runner→init: "<seq> <mode>" requests; the init hands each
//	               to the shell on a pipe of its own (shell fd 9)
//	   fd 6 out    shell→runner: stdout+stderr and markers    (shell fds 1, 2, 8)
//	init: mounts (new root if needed, /proc, /dev, /tmp, Hide, Binds,
//	read-only root), waits for the go-ahead (cgroups joined), drops
//	capabilities, starts the shell, reaps orphans, restarts the shell after
//	`exit`; when it exits the kernel kills whatever is left in the pid
//	namespace.
//
// The binary's main must call IsInit/InitMain first thing. One init is kept
// started ahead of time per Host, so Start skips the exec and Go runtime
// start of the init.
package sandbox
