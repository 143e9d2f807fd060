//go:build linux

package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkStartToFirstCommand measures Start → the first `true` completing
// (the StartBuild → first command bar is 20 ms p50). Close is not timed.
func BenchmarkStartToFirstCommand(b *testing.B) {
	needRoot(b)
	// The runner's spec: CodeBuild paths (a new root), hidden state, limits.
	state, err := os.MkdirTemp("/var/tmp", "hangar-bench-")
	if err != nil {
		b.Skip(err)
	}
	defer os.RemoveAll(state)
	run := filepath.Join(state, "builds", "b")
	for _, d := range []string{"src", "tmp", "home"} {
		if err := os.MkdirAll(filepath.Join(run, d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	cases := []struct {
		name string
		opts HostOptions
		spec Spec
	}{
		{"isolated", HostOptions{}, Spec{Dir: "/"}},
		{"isolated-noprestart", HostOptions{NoPrestart: true}, Spec{Dir: "/"}},
		{"isolated-codebuild", HostOptions{}, Spec{
			Dir: "/codebuild/output/src1/src", ReadOnlyRoot: true, Hide: []string{state},
			Binds: []Bind{
				{Source: filepath.Join(run, "src"), Target: "/codebuild/output/src1/src"},
				{Source: filepath.Join(run, "tmp"), Target: "/tmp"},
				{Source: filepath.Join(run, "home"), Target: "/root"},
			},
			Limits: Limits{CPU: 2, MemoryBytes: 3 << 30, Pids: 4096},
		}},
		{"isolated-sh", HostOptions{}, Spec{Dir: "/", Shell: "sh"}},
		{"fallback", HostOptions{DisableIsolation: true}, Spec{Dir: "/"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			c.opts.WorkDir = b.TempDir()
			h, err := NewHost(c.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			ctx := context.Background()
			var lat []time.Duration
			waitPrestarted(h)
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				spec := c.spec
				spec.ID = newID(b)
				spec.Env = []string{"PATH=/usr/bin:/bin"}
				t0 := time.Now()
				sb, err := h.Start(ctx, spec)
				if err != nil {
					b.Fatal(err)
				}
				if code, err := sb.Run(ctx, "true"); err != nil || code != 0 {
					b.Fatal(code, err)
				}
				lat = append(lat, time.Since(t0))
				b.StopTimer()
				if err := sb.Close(ctx); err != nil {
					b.Fatal(err)
				}
				waitPrestarted(h) // a warm runner: the next init is ready
				b.StartTimer()
			}
			b.StopTimer()
			// CPU of the whole lifecycle (runner, init, shell, Close, the next
			// prestart): what the wall time comes down to on an idle machine.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			slices.Sort(lat)
			// Min is the floor on a busy machine; p50 is the bar.
			b.ReportMetric(float64(lat[0].Microseconds())/1000, "min-ms")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
		})
	}
}

// BenchmarkRun measures one command round trip in a warm sandbox.
func BenchmarkRun(b *testing.B) {
	needRoot(b)
	h, err := NewHost(HostOptions{WorkDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	ctx := context.Background()
	sb, err := h.Start(ctx, Spec{ID: newID(b), Dir: "/"})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close(ctx)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sb.Run(ctx, "true"); err != nil {
			b.Fatal(err)
		}
	}
}

// waitPrestarted waits until the init kept for the next Start has booted
// (it names itself "hangar-init" once its Go runtime and package inits ran).
func waitPrestarted(h *Host) {
	if h.opts.NoPrestart || h.isolationDisabled() {
		return
	}
	for i := 0; i < 2000; i++ {
		h.poolMu.Lock()
		var p *initProc
		if len(h.pool) > 0 {
			p = h.pool[0]
		}
		h.poolMu.Unlock()
		if p != nil {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.cmd.Process.Pid)); string(b) == "hangar-init\n" {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
}

// cpuTime is the user+system time of this process and its reaped children.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}
