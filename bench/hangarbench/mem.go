package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Memory is read from /proc, as the kernel accounts it: VmRSS is what the
// process has resident now, VmHWM its peak since it started. Both count the
// binary's mapped pages too, which is what a user sees in top.

// procStatusMB returns the named fields (e.g. "VmRSS") of /proc/pid/status
// in MB (10^6 bytes; the kernel reports kB = 1024 bytes).
func procStatusMB(pid int, fields ...string) (map[string]float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(fields))
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, f := range fields {
			if name != f {
				continue
			}
			v := strings.Fields(rest)
			if len(v) == 0 {
				continue
			}
			kb, err := strconv.ParseFloat(v[0], 64)
			if err != nil {
				return nil, fmt.Errorf("/proc/%d/status %s: %w", pid, name, err)
			}
			out[f] = kb * 1024 / 1e6
		}
	}
	for _, f := range fields {
		if _, ok := out[f]; !ok {
			return nil, fmt.Errorf("/proc/%d/status has no %s", pid, f)
		}
	}
	return out, nil
}

// rssMB returns a process's VmRSS in MB.
func rssMB(pid int) (float64, error) {
	m, err := procStatusMB(pid, "VmRSS")
	if err != nil {
		return 0, err
	}
	return m["VmRSS"], nil
}

// rssSampler polls a process's VmRSS and keeps the largest value seen. It
// catches peaks longer than its period; VmHWM (read at the end) catches the
// rest but only ever grows, so it cannot say which run made the peak.
type rssSampler struct {
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	peak float64
	err  error
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			v, err := rssMB(pid)
			s.mu.Lock()
			s.peak, s.err = max(s.peak, v), err
			s.mu.Unlock()
			if err != nil {
				return
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends sampling and returns the peak VmRSS in MB.
func (s *rssSampler) Stop() (float64, error) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.err
}

// procCPU returns the CPU time (user + system, all threads, not counting
// children) a process has used, from /proc/pid/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	// After the name: state is field 3, utime 14 and stime 15 (in clock
	// ticks, 100 a second on Linux).
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// selfCPU returns the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// descendants returns the pids of every process below pid (the runner's
// sandbox supervisors, prestarted inits and build shells).
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces; the
		// parent pid is the second field after it.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// treePSS returns the proportional set size (shared pages split between
// their users, so a sum does not count them twice) of pid and all its
// descendants in MB, and how many processes that is.
func treePSS(pid int) (float64, int, error) {
	pids := append([]int{pid}, descendants(pid)...)
	total := 0.0
	for i, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p))
		if err != nil {
			if i == 0 {
				return 0, 0, err
			}
			continue // a helper that just exited
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
				f := strings.Fields(v)
				if len(f) > 0 {
					kb, _ := strconv.ParseFloat(f[0], 64)
					total += kb * 1024 / 1e6
				}
				break
			}
		}
	}
	return total, len(pids), nil
}
