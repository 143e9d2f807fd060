//go:build unix

package pack

import "syscall"

// openFlags opens a file found by the walk without following a symlink that
// replaced it since, and without blocking if it became a FIFO.
const openFlags = syscall.O_RDONLY | syscall.O_NOFOLLOW | syscall.O_NONBLOCK
