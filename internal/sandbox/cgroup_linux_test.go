package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

const mountinfoHybrid = `21 26 0:20 / /proc rw,relatime - proc proc rw
26 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

// A systemd v1 host: cpu and cpuacct co-mounted.
const mountinfoV1 = `25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
31 25 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids
32 25 0:29 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,freezer
`

const mountinfoV2 = `22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`

func TestDetectCgroups(t *testing.T) {
	cases := []struct {
		name, mountinfo, mode string
		v1                    map[string]string
		v2                    string
	}{
		{"hybrid", mountinfoHybrid, "hybrid", map[string]string{
			"cpu": "/sys/fs/cgroup/cpu", "memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids", "freezer": "/sys/fs/cgroup/freezer",
		}, "/sys/fs/cgroup/unified"},
		{"v1", mountinfoV1, "v1", map[string]string{
			"cpu": "/sys/fs/cgroup/cpu,cpuacct", "memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids", "freezer": "/sys/fs/cgroup/freezer",
		}, ""},
		{"v2", mountinfoV2, "v2", map[string]string{}, "/sys/fs/cgroup"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := detectCgroups(strings.NewReader(c.mountinfo), "/hangar/")
			if err != nil {
				t.Fatal(err)
			}
			if l.mode != c.mode || l.v2 != c.v2 || !reflect.DeepEqual(l.v1, c.v1) || l.parent != "hangar" {
				t.Fatalf("got mode %s v1 %v v2 %q parent %q", l.mode, l.v1, l.v2, l.parent)
			}
		})
	}
	l, err := detectCgroups(strings.NewReader("26 1 254:0 / / rw - ext4 /dev/vda rw\n"), "hangar")
	if err != nil || l != nil {
		t.Fatalf("no cgroups: %v %v", l, err)
	}
	l, _ = detectCgroups(strings.NewReader(`40 30 0:37 / /mnt/my\040cgroup rw - cgroup2 cgroup2 rw`+"\n"), "a/b")
	if l.v2 != "/mnt/my cgroup" || l.parent != "a/b" {
		t.Fatalf("escaped mount point: %q %q", l.v2, l.parent)
	}
}

// TestLimitWrites checks the files written per mode — the part of the v1 and
// pure-v2 paths that this hybrid machine cannot run for real.
func TestLimitWrites(t *testing.T) {
	lim := Limits{CPU: 2.5, MemoryBytes: 3 << 30, Pids: 512}
	v1 := &cgroup{v1dirs: map[string]string{
		"cpu": "/cg/cpu,cpuacct/hangar/b", "memory": "/cg/memory/hangar/b", "pids": "/cg/pids/hangar/b", "freezer": "/cg/freezer/hangar/b",
	}}
	hybrid := &cgroup{v1dirs: v1.v1dirs, v2dir: "/cg/unified/hangar/b", v2ctl: map[string]bool{}}
	v2 := &cgroup{v2dir: "/cg/hangar/b", v2ctl: map[string]bool{"cpu": true, "memory": true, "pids": true}}
	wantV1 := []cgWrite{
		{"/cg/cpu,cpuacct/hangar/b/cpu.cfs_period_us", "100000", false},
		{"/cg/cpu,cpuacct/hangar/b/cpu.cfs_quota_us", "250000", false},
		{"/cg/memory/hangar/b/memory.limit_in_bytes", "3221225472", false},
		{"/cg/memory/hangar/b/memory.memsw.limit_in_bytes", "3221225472", true},
		{"/cg/pids/hangar/b/pids.max", "512", false},
	}
	wantV2 := []cgWrite{
		{"/cg/hangar/b/cpu.max", "250000 100000", false},
		{"/cg/hangar/b/memory.max", "3221225472", false},
		{"/cg/hangar/b/memory.swap.max", "0", true},
		{"/cg/hangar/b/pids.max", "512", false},
	}
	for name, c := range map[string]struct {
		cg   *cgroup
		want []cgWrite
	}{"v1": {v1, wantV1}, "hybrid": {hybrid, wantV1}, "v2": {v2, wantV2}} {
		if got := limitWrites(c.cg, lim); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", name, got, c.want)
		}
		if miss := unlimitable(c.cg, lim); len(miss) != 0 {
			t.Errorf("%s: unlimitable %v", name, miss)
		}
		if got := limitWrites(c.cg, Limits{}); len(got) != 0 {
			t.Errorf("%s: zero limits wrote %v", name, got)
		}
	}
	// v2 without delegated controllers (container, no-internal-process rule).
	bare := &cgroup{v2dir: "/cg/hangar/b", v2ctl: map[string]bool{"pids": true}}
	if got := limitWrites(bare, lim); !reflect.DeepEqual(got, []cgWrite{{"/cg/hangar/b/pids.max", "512", false}}) {
		t.Errorf("bare v2: %v", got)
	}
	if miss := unlimitable(bare, lim); !reflect.DeepEqual(miss, []string{"cpu", "memory"}) {
		t.Errorf("bare v2 unlimitable: %v", miss)
	}
	// Tiny CPU shares still get a usable quota.
	if got := limitWrites(v2, Limits{CPU: 0.001}); got[0].value != "1000 100000" {
		t.Errorf("tiny cpu: %v", got)
	}
}

func TestCapLimits(t *testing.T) {
	h := hostResources{cpus: 2, memTotal: 8 << 30, pidMax: 4194304}
	got := capLimits(Limits{CPU: 72, MemoryBytes: 145 << 30, Pids: 1 << 40}, h)
	if got != (Limits{CPU: 2, MemoryBytes: 8 << 30, Pids: 4194304}) {
		t.Fatalf("capped: %+v", got)
	}
	small := Limits{CPU: 1, MemoryBytes: 1 << 30, Pids: 10}
	if capLimits(small, h) != small {
		t.Fatal("small limits changed")
	}
}

func TestParseOOMKill(t *testing.T) {
	v1 := "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"
	v2 := "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n"
	if parseOOMKill([]byte(v1)) != 2 || parseOOMKill([]byte(v2)) != 1 || parseOOMKill([]byte("oom 1\n")) != 0 {
		t.Fatal("parseOOMKill")
	}
}

// fakeTree lays out mount points under a temp dir and records writes.
type fakeTree struct {
	root   string
	writes []string
}

func (f *fakeTree) write(path, value string) error {
	f.writes = append(f.writes, strings.TrimPrefix(path, f.root)+"="+value)
	return nil
}

func TestCreateOnFakeTrees(t *testing.T) {
	lim := Limits{CPU: 1, MemoryBytes: 1 << 30, Pids: 64}
	host := hostResources{cpus: 2, memTotal: 4 << 30, pidMax: 32768}
	t.Run("v1", func(t *testing.T) {
		f := &fakeTree{root: t.TempDir()}
		l := &cgroupLayout{mode: "v1", parent: "hangar", host: host, write: f.write, v1: map[string]string{
			"cpu": f.root + "/cpu,cpuacct", "memory": f.root + "/memory", "pids": f.root + "/pids", "freezer": f.root + "/freezer",
		}}
		for _, mp := range l.v1 {
			os.MkdirAll(mp, 0o755)
		}
		// No memory.memsw.* file in a fake tree: the optional write is skipped.
		cg, warn, err := l.create("b1", lim)
		if err != nil || warn != nil {
			t.Fatal(err, warn)
		}
		want := []string{
			"/cpu,cpuacct/hangar/b1/cpu.cfs_period_us=100000",
			"/cpu,cpuacct/hangar/b1/cpu.cfs_quota_us=100000",
			"/memory/hangar/b1/memory.limit_in_bytes=1073741824",
			"/pids/hangar/b1/pids.max=64",
		}
		if !reflect.DeepEqual(f.writes, want) {
			t.Fatalf("writes %v", f.writes)
		}
		if len(cg.dirs) != 4 || cg.v2dir != "" {
			t.Fatalf("dirs %v v2 %q", cg.dirs, cg.v2dir)
		}
		cg.rmdirs()
		for _, mp := range l.v1 {
			if _, err := os.Stat(filepath.Join(mp, "hangar", "b1")); err == nil {
				t.Fatalf("%s not removed", mp)
			}
		}
	})
	t.Run("v2", func(t *testing.T) {
		f := &fakeTree{root: t.TempDir()}
		os.WriteFile(filepath.Join(f.root, "cgroup.controllers"), []byte("cpuset cpu io memory hugetlb pids rdma misc\n"), 0o644)
		os.WriteFile(filepath.Join(f.root, "cgroup.subtree_control"), []byte("memory\n"), 0o644)
		l := &cgroupLayout{mode: "v2", parent: "hangar", host: host, write: f.write, v1: map[string]string{}, v2: f.root}
		cg, warn, err := l.create("b2", Limits{CPU: 8, MemoryBytes: 1 << 30, Pids: 64})
		if err != nil || warn != nil {
			t.Fatal(err, warn)
		}
		want := []string{
			// memory is already on at the root
			"/cgroup.subtree_control=+cpu",
			"/cgroup.subtree_control=+pids",
			"/hangar/cgroup.subtree_control=+cpu",
			"/hangar/cgroup.subtree_control=+memory",
			"/hangar/cgroup.subtree_control=+pids",
			"/hangar/b2/cpu.max=200000 100000", // capped at the host's 2 cpus
			"/hangar/b2/memory.max=1073741824",
			"/hangar/b2/pids.max=64",
		}
		if !reflect.DeepEqual(f.writes, want) {
			t.Fatalf("writes\n got %v\nwant %v", f.writes, want)
		}
		if cg.v2dir != filepath.Join(f.root, "hangar", "b2") || len(cg.v1dirs) != 0 {
			t.Fatalf("cgroup %+v", cg)
		}
	})
	t.Run("v2 without delegation", func(t *testing.T) {
		f := &fakeTree{root: t.TempDir()}
		os.WriteFile(filepath.Join(f.root, "cgroup.controllers"), []byte("memory pids\n"), 0o644)
		l := &cgroupLayout{mode: "v2", parent: "hangar", host: host, v1: map[string]string{}, v2: f.root,
			write: func(path, value string) error {
				if strings.HasSuffix(path, "cgroup.subtree_control") {
					return syscall.EBUSY // a non-root group with processes
				}
				return f.write(path, value)
			}}
		cg, warn, err := l.create("b3", lim)
		if err != nil {
			t.Fatal(err)
		}
		if warn == nil || !strings.Contains(warn.Error(), "no cgroup controller for cpu, memory, pids") {
			t.Fatalf("warning %v", warn)
		}
		if len(f.writes) != 0 || cg.v2dir == "" {
			t.Fatalf("writes %v, cgroup %+v", f.writes, cg)
		}
	})
	t.Run("hybrid", func(t *testing.T) {
		f := &fakeTree{root: t.TempDir()}
		os.MkdirAll(filepath.Join(f.root, "unified"), 0o755)
		l := &cgroupLayout{mode: "hybrid", parent: "hangar", host: host, write: f.write, v2: filepath.Join(f.root, "unified"),
			v1: map[string]string{"cpu": f.root + "/cpu", "memory": f.root + "/memory", "pids": f.root + "/pids", "freezer": f.root + "/freezer"}}
		cg, warn, err := l.create("b4", lim)
		if err != nil || warn != nil {
			t.Fatal(err, warn)
		}
		// Limits in v1; the unified group only for cgroup.kill and membership.
		if len(cg.dirs) != 5 || cg.v2dir != filepath.Join(f.root, "unified", "hangar", "b4") || len(cg.v2ctl) != 0 {
			t.Fatalf("cgroup %+v", cg)
		}
		for _, w := range f.writes {
			if strings.HasPrefix(w, "/unified") {
				t.Fatalf("wrote to the unified tree: %v", f.writes)
			}
		}
	})
}
