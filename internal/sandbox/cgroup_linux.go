package sandbox

// cgroups, by plain file writes.
//
// github.com/containerd/cgroups/v3 is used for parsing /proc/self/cgroup-style
// data only. Its cgroup1/cgroup2 managers do not fit here: they drag in
// cilium/ebpf, godbus, go-systemd, runtime-spec and protobuf stats (binary
// size and the runner's idle RSS bar), cgroup1.New creates the group in every
// mounted hierarchy (cpuset needs cpus/mems copied, devices/blkio are useless
// to us), neither handles the hybrid case as one group (limits in v1,
// cgroup.kill in the unified tree), and Mode() hard-codes /sys/fs/cgroup in a
// package-level cache, which makes the layout logic untestable. What we need
// is a dozen well-known files, so the layout is detected from mountinfo and
// the limits are plain writes (see limitWrites, unit-tested per mode).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	cgroups "github.com/containerd/cgroups/v3"
	"golang.org/x/sys/unix"
)

// cgroupLayout is where the hierarchies are mounted.
type cgroupLayout struct {
	mode   string            // "v1", "v2" or "hybrid"
	v1     map[string]string // v1 controller → mount point
	v2     string            // cgroup2 mount point, "" if none
	parent string            // builds go to <mount>/<parent>/<id>
	host   hostResources
	// write replaces writeFile for create's writes in tests (a fake tree
	// cannot mimic cgroupfs's write semantics).
	write func(path, value string) error
}

func (l *cgroupLayout) writeFile(path, value string) error {
	if l.write != nil {
		return l.write(path, value)
	}
	return writeFile(path, value)
}

type hostResources struct {
	cpus     int
	memTotal int64
	pidMax   int64
}

// v1Controllers are the v1 hierarchies a build gets a group in.
var v1Controllers = []string{"cpu", "memory", "pids", "freezer"}

// detectCgroups reads mountinfo. It returns nil when no usable hierarchy exists.
func detectCgroups(mountinfo io.Reader, parent string) (*cgroupLayout, error) {
	l := &cgroupLayout{v1: map[string]string{}, parent: strings.Trim(filepath.Clean("/"+parent), "/")}
	sc := bufio.NewScanner(mountinfo)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f := strings.Fields(pre)
		g := strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		mp := unescapeMount(f[4])
		switch g[0] {
		case "cgroup2":
			// Prefer the canonical places when a tree is mounted twice.
			if l.v2 == "" || mp == "/sys/fs/cgroup" || mp == "/sys/fs/cgroup/unified" {
				l.v2 = mp
			}
		case "cgroup":
			for _, opt := range strings.Split(g[2], ",") {
				if slices.Contains(v1Controllers, opt) {
					if _, seen := l.v1[opt]; !seen || strings.HasPrefix(mp, "/sys/fs/cgroup/") {
						l.v1[opt] = mp
					}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	switch {
	case l.v2 != "" && len(l.v1) == 0:
		l.mode = "v2"
	case l.v2 != "":
		l.mode = "hybrid"
	case len(l.v1) > 0:
		l.mode = "v1"
	default:
		return nil, nil
	}
	return l, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for space …).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func readHostResources() hostResources {
	r := hostResources{cpus: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				f := strings.Fields(rest)
				if len(f) > 0 {
					if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
						r.memTotal = kb * 1024
					}
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
		r.pidMax, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	return r
}

// cgWrite is one limit file write. optional files are skipped when absent
// (memory.memsw.* without swap accounting, memory.swap.max without swap).
type cgWrite struct {
	path, value string
	optional    bool
}

// capLimits caps the requested limits at what the host has.
func capLimits(lim Limits, h hostResources) Limits {
	if h.cpus > 0 && lim.CPU > float64(h.cpus) {
		lim.CPU = float64(h.cpus)
	}
	if h.memTotal > 0 && lim.MemoryBytes > h.memTotal {
		lim.MemoryBytes = h.memTotal
	}
	if h.pidMax > 0 && lim.Pids > h.pidMax {
		lim.Pids = h.pidMax
	}
	return lim
}

const cfsPeriod = 100000

// limitWrites lists the files to write for lim in cg, in order.
func limitWrites(cg *cgroup, lim Limits) []cgWrite {
	var w []cgWrite
	if lim.CPU > 0 {
		quota := max(int64(lim.CPU*cfsPeriod), 1000)
		if d, ok := cg.v1dirs["cpu"]; ok {
			w = append(w,
				cgWrite{path: filepath.Join(d, "cpu.cfs_period_us"), value: strconv.Itoa(cfsPeriod)},
				cgWrite{path: filepath.Join(d, "cpu.cfs_quota_us"), value: strconv.FormatInt(quota, 10)})
		} else if cg.v2ctl["cpu"] {
			w = append(w, cgWrite{path: filepath.Join(cg.v2dir, "cpu.max"), value: fmt.Sprintf("%d %d", quota, cfsPeriod)})
		}
	}
	if lim.MemoryBytes > 0 {
		v := strconv.FormatInt(lim.MemoryBytes, 10)
		if d, ok := cg.v1dirs["memory"]; ok {
			// memsw must be >= limit_in_bytes, so it comes second; equal means no swap.
			w = append(w,
				cgWrite{path: filepath.Join(d, "memory.limit_in_bytes"), value: v},
				cgWrite{path: filepath.Join(d, "memory.memsw.limit_in_bytes"), value: v, optional: true})
		} else if cg.v2ctl["memory"] {
			w = append(w,
				cgWrite{path: filepath.Join(cg.v2dir, "memory.max"), value: v},
				cgWrite{path: filepath.Join(cg.v2dir, "memory.swap.max"), value: "0", optional: true})
		}
	}
	if lim.Pids > 0 {
		v := strconv.FormatInt(lim.Pids, 10)
		if d, ok := cg.v1dirs["pids"]; ok {
			w = append(w, cgWrite{path: filepath.Join(d, "pids.max"), value: v})
		} else if cg.v2ctl["pids"] {
			w = append(w, cgWrite{path: filepath.Join(cg.v2dir, "pids.max"), value: v})
		}
	}
	return w
}

// unlimitable lists the limits of lim that no hierarchy can enforce.
func unlimitable(cg *cgroup, lim Limits) []string {
	var miss []string
	check := func(set bool, ctl string) {
		if _, ok := cg.v1dirs[ctl]; set && !ok && !cg.v2ctl[ctl] {
			miss = append(miss, ctl)
		}
	}
	check(lim.CPU > 0, "cpu")
	check(lim.MemoryBytes > 0, "memory")
	check(lim.Pids > 0, "pids")
	return miss
}

// cgroup is one build's group across hierarchies.
type cgroup struct {
	v1dirs map[string]string // v1 controller → dir (co-mounted ones share)
	v2dir  string
	v2ctl  map[string]bool // controllers enabled for v2dir
	dirs   []string        // every dir created, deepest hierarchy order irrelevant
	// ooms is the most OOM kills seen: the counter survives the group's
	// removal this way, and readers may be on other goroutines.
	ooms atomic.Int64
}

func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// enableV2 turns on the wanted controllers from the v2 root down to the
// parent, and returns those that ended up enabled for children of parent.
// Enabling fails with EBUSY in a non-root group that has processes (cgroup v2's
// no-internal-process rule, e.g. in a container): those limits are then
// unenforced and reported.
func (l *cgroupLayout) enableV2(want []string) (map[string]bool, error) {
	enabled := map[string]bool{}
	if len(want) > 0 {
		avail, err := os.ReadFile(filepath.Join(l.v2, "cgroup.controllers"))
		if err != nil {
			return nil, fmt.Errorf("read cgroup.controllers: %w", err)
		}
		for _, c := range want {
			if slices.Contains(strings.Fields(string(avail)), c) {
				enabled[c] = true
			}
		}
	}
	levels := []string{l.v2}
	cur := l.v2
	for _, part := range strings.Split(l.parent, "/") {
		cur = filepath.Join(cur, part)
		levels = append(levels, cur)
	}
	var errs []error
	for _, dir := range levels {
		if dir != l.v2 {
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return nil, fmt.Errorf("create cgroup %s: %w", dir, err)
			}
		}
		if len(enabled) == 0 {
			continue
		}
		have, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
		for _, c := range want {
			if !enabled[c] || slices.Contains(strings.Fields(string(have)), c) {
				continue
			}
			if err := l.writeFile(filepath.Join(dir, "cgroup.subtree_control"), "+"+c); err != nil {
				errs = append(errs, fmt.Errorf("enable %s in %s: %w", c, dir, err))
				delete(enabled, c)
			}
		}
	}
	return enabled, errors.Join(errs...)
}

// create makes the build's group in every relevant hierarchy and applies lim.
// The returned warning (non-nil with a usable cgroup) says what is not enforced.
func (l *cgroupLayout) create(id string, lim Limits) (_ *cgroup, warn, err error) {
	cg := &cgroup{v1dirs: map[string]string{}, v2ctl: map[string]bool{}}
	defer func() {
		if err != nil {
			cg.rmdirs() // what was made before the failure
		}
	}()
	lim = capLimits(lim, l.host)
	var warns []error
	made := map[string]string{} // mount point → dir
	for _, c := range v1Controllers {
		mp, ok := l.v1[c]
		if !ok {
			continue
		}
		if d, ok := made[mp]; ok {
			cg.v1dirs[c] = d
			continue
		}
		d := filepath.Join(mp, l.parent, id)
		if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
			return nil, nil, fmt.Errorf("create cgroup parent %s: %w", filepath.Dir(d), err)
		}
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, nil, fmt.Errorf("create cgroup %s: %w", d, err)
		}
		made[mp] = d
		cg.v1dirs[c] = d
		cg.dirs = append(cg.dirs, d)
	}
	if l.v2 != "" {
		var want []string
		for _, c := range []string{"cpu", "memory", "pids"} {
			if _, ok := l.v1[c]; !ok {
				want = append(want, c)
			}
		}
		enabled, werr := l.enableV2(want)
		if werr != nil {
			warns = append(warns, werr)
		}
		if enabled == nil {
			return nil, nil, werr
		}
		cg.v2ctl = enabled
		d := filepath.Join(l.v2, l.parent, id)
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, nil, fmt.Errorf("create cgroup %s: %w", d, err)
		}
		cg.v2dir = d
		cg.dirs = append(cg.dirs, d)
	}
	for _, w := range limitWrites(cg, lim) {
		if w.optional {
			if _, err := os.Stat(w.path); err != nil {
				continue
			}
		}
		if err := l.writeFile(w.path, w.value); err != nil {
			return nil, nil, fmt.Errorf("set cgroup limit %s=%s: %w", w.path, w.value, err)
		}
	}
	if miss := unlimitable(cg, lim); len(miss) > 0 {
		warns = append(warns, fmt.Errorf("no cgroup controller for %s", strings.Join(miss, ", ")))
	}
	return cg, errors.Join(warns...), nil
}

// v1Procs are the cgroup.procs files the init must be written to (the v2
// group is joined at clone time via CLONE_INTO_CGROUP when possible).
func (cg *cgroup) join(pid int, v2 bool) error {
	s := strconv.Itoa(pid)
	for _, d := range cg.dirs {
		if d == cg.v2dir && !v2 {
			continue
		}
		if err := writeFile(filepath.Join(d, "cgroup.procs"), s); err != nil {
			return fmt.Errorf("join cgroup %s: %w", d, err)
		}
	}
	return nil
}

// procs lists the pids in the group (host pid namespace).
func (cg *cgroup) procs() ([]int, error) {
	d := cg.v2dir
	if d == "" {
		for _, c := range []string{"pids", "freezer", "memory", "cpu"} {
			if x, ok := cg.v1dirs[c]; ok {
				d = x
				break
			}
		}
	}
	if d == "" {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

// signal sends sig to every process in the group.
func (cg *cgroup) signal(sig syscall.Signal) {
	pids, _ := cg.procs()
	for _, p := range pids {
		_ = syscall.Kill(p, sig)
	}
}

// kill SIGKILLs everything in the group: cgroup.kill where the kernel has it
// (v2 and hybrid, ≥5.14), else freeze (so nothing forks meanwhile), SIGKILL
// each pid, thaw; else repeated SIGKILL passes.
func (cg *cgroup) kill() {
	if cg.v2dir != "" {
		if err := writeFile(filepath.Join(cg.v2dir, "cgroup.kill"), "1"); err == nil {
			return
		}
	}
	if d, ok := cg.v1dirs["freezer"]; ok {
		state := filepath.Join(d, "freezer.state")
		if writeFile(state, "FROZEN") == nil {
			for i := 0; i < 100; i++ {
				b, _ := os.ReadFile(state)
				if strings.TrimSpace(string(b)) != "FREEZING" {
					break
				}
				time.Sleep(time.Millisecond)
			}
			cg.signal(syscall.SIGKILL)
			_ = writeFile(state, "THAWED")
			return
		}
	}
	for i := 0; i < 10; i++ {
		pids, _ := cg.procs()
		if len(pids) == 0 {
			return
		}
		cg.signal(syscall.SIGKILL)
		time.Sleep(time.Millisecond)
	}
}

// waitEmpty polls until the group has no process.
func (cg *cgroup) waitEmpty(ctx context.Context) error {
	delay := 200 * time.Microsecond
	for {
		pids, err := cg.procs()
		if err != nil || len(pids) == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cgroup still has %d processes: %w", len(pids), ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 20*time.Millisecond)
	}
}

// oomKills reads the OOM-kill counter of the memory group: how many of
// its processes the memory limit has killed so far.
func (cg *cgroup) oomKills() int64 {
	var file string
	if d, ok := cg.v1dirs["memory"]; ok {
		file = filepath.Join(d, "memory.oom_control")
	} else if cg.v2dir != "" {
		file = filepath.Join(cg.v2dir, "memory.events")
	}
	if file == "" {
		return 0
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return cg.ooms.Load() // removed: the last count read
	}
	n := parseOOMKill(b)
	for {
		old := cg.ooms.Load()
		if n <= old || cg.ooms.CompareAndSwap(old, n) {
			return max(n, old)
		}
	}
}

// parseOOMKill returns the "oom_kill N" counter of memory.oom_control (v1)
// or memory.events (v2).
func parseOOMKill(b []byte) int64 {
	for line := range bytes.Lines(b) {
		f := strings.Fields(string(line))
		if len(f) == 2 && f[0] == "oom_kill" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// remove waits for the group to empty and removes its dirs. rmdir fails with
// EBUSY while exiting tasks are still being torn down, so it is retried.
func (cg *cgroup) remove(ctx context.Context) error {
	if err := cg.waitEmpty(ctx); err != nil {
		cg.kill()
		ctx2, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := cg.waitEmpty(ctx2); err != nil {
			return fmt.Errorf("remove cgroup: %w", err)
		}
	}
	cg.oomKills() // last chance to read the counter
	var errs []error
	for _, d := range cg.dirs {
		var err error
		for i := 0; i < 200; i++ {
			err = unix.Rmdir(d)
			if err == nil || errors.Is(err, unix.ENOENT) {
				err = nil
				break
			}
			if !errors.Is(err, unix.EBUSY) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
		}
	}
	cg.dirs = nil
	return errors.Join(errs...)
}

// rmdirs removes the dirs without waiting (failed create).
func (cg *cgroup) rmdirs() {
	for _, d := range cg.dirs {
		_ = unix.Rmdir(d)
	}
	cg.dirs = nil
}

// ownCgroups parses /proc/self/cgroup (for logging where the runner itself is).
func ownCgroups() (map[string]string, string) {
	v1, v2, err := cgroups.ParseCgroupFileUnified("/proc/self/cgroup")
	if err != nil {
		return nil, ""
	}
	return v1, v2
}

// pruneCgroups removes empty build groups under the parent.
func (h *Host) pruneCgroups(ctx context.Context) error {
	l := h.cg
	if l == nil {
		return nil
	}
	mps := map[string]bool{}
	for _, mp := range l.v1 {
		mps[mp] = true
	}
	if l.v2 != "" {
		mps[l.v2] = true
	}
	var errs []error
	for mp := range mps {
		parent := filepath.Join(mp, l.parent)
		ents, err := os.ReadDir(parent)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !e.IsDir() {
				continue
			}
			d := filepath.Join(parent, e.Name())
			if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("prune cgroup %s: %w", d, err))
			} else if err == nil {
				h.log.Info("removed stale build cgroup", "path", d)
			}
		}
	}
	return errors.Join(errs...)
}
