package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// bench/run passes what it saw before building, so that results.json says
// how busy the machine was and how long the whole run took.
var (
	loadBefore = flag.String("load-before", "", "load average (1, 5, 15 min) when bench/run began")
	startedAt  = flag.Int64("started", 0, "Unix time bench/run began")
)

// report is results.json: the rows and the machine they were measured on.
type report struct {
	Date         string   `json:"date"`
	Machine      machine  `json:"machine"`
	LoadBefore   string   `json:"loadAverageBefore,omitempty"`
	LoadAfter    string   `json:"loadAverageAfter"`
	TotalSeconds float64  `json:"totalSeconds,omitempty"`
	Results      []result `json:"results"`
}

type machine struct {
	CPU      string  `json:"cpu"`
	Cores    int     `json:"cores"`
	MemoryGB float64 `json:"memoryGB"`
	Kernel   string  `json:"kernel"`
	Go       string  `json:"go"`
}

func writeReport(path string, results []result) error {
	r := report{
		Date:       time.Now().UTC().Format(time.RFC3339),
		Machine:    thisMachine(),
		LoadBefore: *loadBefore,
		LoadAfter:  loadAverage(),
		Results:    results,
	}
	if *startedAt > 0 {
		r.TotalSeconds = time.Since(time.Unix(*startedAt, 0)).Round(time.Second).Seconds()
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func thisMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if mem, err := procMeminfoMB("MemTotal"); err == nil {
		m.MemoryGB = float64(int(mem/100+0.5)) / 10
	}
	// /proc rather than uname(2), whose field types differ by architecture.
	ostype, _ := os.ReadFile("/proc/sys/kernel/ostype")
	release, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	m.Kernel = strings.TrimSpace(string(ostype)) + " " + strings.TrimSpace(string(release))
	return m
}

// procMeminfoMB reads one /proc/meminfo field in MB.
func procMeminfoMB(field string) (float64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				return 0, err
			}
			return kb * 1024 / 1e6, nil
		}
	}
	return 0, os.ErrNotExist
}
