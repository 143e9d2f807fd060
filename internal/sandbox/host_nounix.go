//go:build !unix

package sandbox

import "context"

// IsInit reports whether this process was started as a sandbox init.
func IsInit() bool { return false }

// InitMain is only meaningful on Linux.
func InitMain() { panic("sandbox: InitMain outside Linux") }

func (h *Host) platformInit() error { return ErrUnsupported }

// Prune does nothing here.
func (h *Host) Prune(ctx context.Context) error { return nil }

func (h *Host) start(ctx context.Context, spec Spec) (*Sandbox, error) { return nil, ErrUnsupported }

// cgroupLayout is Linux-only.
type cgroupLayout struct{}

const (
	oNOFOLLOW = 0
	oNONBLOCK = 0
)

func checkWorkDir(string) error { return nil }

// initProc is Linux-only.
type initProc struct{}

// Close releases the Host; nothing to do without a prestarted init.
func (h *Host) Close() error { return nil }

// Isolated is false: sandboxes are plain processes here.
func (h *Host) Isolated() bool { return false }

// machinePlatform is empty here.
type machinePlatform struct{}

func (machinePlatform) discard() {}

// Prepare is unsupported here.
func (h *Host) Prepare(ctx context.Context, id string, lim Limits, user *User) (*Machine, error) {
	return nil, ErrUnsupported
}
