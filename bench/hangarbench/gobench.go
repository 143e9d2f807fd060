package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// goBenchFile (-gobench FILE) is the raw output of the in-process Go
// benchmarks (`go test -bench`), which bench/run keeps for benchstat; its
// time per op joins the table, one row per benchmark.
var goBenchFile = flag.String("gobench", "", "add the time/op of this `go test -bench` output to the table")

// goBench is one benchmark's samples, one per -count.
type goBench struct {
	name    string
	nsPerOp []float64
	other   map[string][]float64 // unit → samples: MB/s, B/op, allocs/op, custom metrics
	units   []string             // other's keys in the order go test prints them
}

// procsSuffix is the -GOMAXPROCS suffix go test adds to a benchmark's name.
var procsSuffix = regexp.MustCompile(`-[0-9]+$`)

// parseGoBench reads go test -bench output: "pkg:" lines name the
// package, "BenchmarkX-N  iterations  value unit  value unit…" lines are
// samples.
func parseGoBench(path string) ([]*goBench, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var order []*goBench
	byName := map[string]*goBench{}
	pkg := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p[strings.LastIndexByte(p, '/')+1:]
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(fields[1]); err != nil {
			continue
		}
		name := pkg + "." + procsSuffix.ReplaceAllString(strings.TrimPrefix(fields[0], "Benchmark"), "")
		b := byName[name]
		if b == nil {
			b = &goBench{name: name, other: map[string][]float64{}}
			byName[name] = b
			order = append(order, b)
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %w", path, line, err)
			}
			unit := fields[i+1]
			if unit == "ns/op" {
				b.nsPerOp = append(b.nsPerOp, v)
				continue
			}
			if _, seen := b.other[unit]; !seen {
				b.units = append(b.units, unit)
			}
			b.other[unit] = append(b.other[unit], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return order, nil
}

// goBenchResults turns the benchmarks into rows: time/op in a unit that
// suits its median, the other metrics' medians in the note.
func goBenchResults(path string) ([]result, error) {
	benches, err := parseGoBench(path)
	if err != nil {
		return nil, fmt.Errorf("read go benchmarks: %w", err)
	}
	if len(benches) == 0 {
		return nil, fmt.Errorf("%s: no benchmark results", path)
	}
	var out []result
	for _, b := range benches {
		if len(b.nsPerOp) == 0 {
			continue
		}
		unit, div := "ns", 1.0
		switch m := summarize("", "", b.nsPerOp).Median; {
		case m >= 1e9:
			unit, div = "s", 1e9
		case m >= 1e6:
			unit, div = "ms", 1e6
		case m >= 1e3:
			unit, div = "µs", 1e3
		}
		samples := make([]float64, len(b.nsPerOp))
		for i, v := range b.nsPerOp {
			samples[i] = v / div
		}
		r := summarize("go: "+b.name, unit, samples)
		var notes []string
		for _, u := range b.units {
			notes = append(notes, strconv.FormatFloat(summarize("", "", b.other[u]).Median, 'g', 3, 64)+" "+u)
		}
		r.Note = strings.Join(notes, ", ")
		out = append(out, r)
	}
	return out, nil
}
