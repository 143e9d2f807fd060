//go:build unix && !linux

package sandbox

import (
	"context"
	"fmt"
	"os"
)

// IsInit reports whether this process was started as a sandbox init; never
// outside Linux.
func IsInit() bool { return false }

// InitMain is only meaningful on Linux.
func InitMain() { panic("sandbox: InitMain outside Linux") }

func (h *Host) platformInit() error { return nil }

// Prune removes leftovers of a runner that died; nothing to do without cgroups.
func (h *Host) Prune(ctx context.Context) error { return pruneWorkDir(ctx, h) }

// start always falls back: namespaces and cgroups are Linux's.
func (h *Host) start(ctx context.Context, spec Spec) (*Sandbox, error) {
	if spec.Machine != nil && !spec.Machine.taken.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("machine %s was already used", spec.Machine.id)
	}
	h.warnDegraded("namespaces and cgroups need Linux")
	nonce, err := newNonce()
	if err != nil {
		return nil, fmt.Errorf("make nonce: %w", err)
	}
	ctlDir, err := makeCtlDir(h.opts.WorkDir, spec.ID, spec.User)
	if err != nil {
		return nil, err
	}
	if err := writeShellScript(ctlDir, ctlDir, nonce); err != nil {
		os.RemoveAll(ctlDir)
		return nil, err
	}
	if len(spec.Overlays) > 0 {
		return nil, fmt.Errorf("start sandbox %s: overlays need an isolated sandbox (%w)", spec.ID, ErrUnsupported)
	}
	d, outR, err := startDirect(directConfig{spec: spec, ctlDir: ctlDir, nonce: nonce, leftoverGrace: h.opts.LeftoverGrace})
	if err != nil {
		os.RemoveAll(ctlDir)
		return nil, err
	}
	rd := newOutputReader(spec.Output, nonce, spec.Logger)
	go rd.run(outR)
	return newSandbox(spec, false, ctlDir, rd, d, h.opts.KillGrace), nil
}

// cgroupLayout is Linux-only.
type cgroupLayout struct{}

// initProc is Linux-only.
type initProc struct{}

// Close releases the Host; nothing to do without a prestarted init.
func (h *Host) Close() error { return nil }

// Isolated is false: sandboxes are plain processes here.
func (h *Host) Isolated() bool { return false }

// machinePlatform is empty here: no cgroups, no sandbox init.
type machinePlatform struct{}

func (machinePlatform) discard() {}

// Prepare returns a machine with nothing prepared: sandboxes are plain
// processes here.
func (h *Host) Prepare(ctx context.Context, id string, lim Limits, user *User) (*Machine, error) {
	if !validID(id) {
		return nil, fmt.Errorf("prepare machine: invalid id %q", id)
	}
	return &Machine{id: id, limits: lim}, nil
}
