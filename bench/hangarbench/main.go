// Command hangarbench measures a real `hangar server` from the outside, the
// way users meet it, and prints one table: metric, Hangar's median (min–max),
// the peer's median where there is one, the ratio and the bar.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// hangarPath is the binary under test (-hangar).
var hangarPath = flag.String("hangar", "hangar", "path of the hangar binary to measure")

// result is one row of the table.
type result struct {
	Metric     string  `json:"metric"`
	Unit       string  `json:"unit"`
	Runs       int     `json:"runs"`
	Median     float64 `json:"median"`
	Min        float64 `json:"min"`
	Max        float64 `json:"max"`
	Peer       string  `json:"peer,omitempty"`
	PeerMedian float64 `json:"peerMedian,omitempty"`
	Bar        string  `json:"bar,omitempty"`
	Note       string  `json:"note,omitempty"`
}

// summarize turns samples into a result row.
func summarize(metric, unit string, samples []float64) result {
	s := slices.Clone(samples)
	slices.Sort(s)
	r := result{Metric: metric, Unit: unit, Runs: len(s)}
	if len(s) > 0 {
		r.Median = s[len(s)/2]
		if len(s)%2 == 0 {
			r.Median = (s[len(s)/2-1] + s[len(s)/2]) / 2
		}
		r.Min, r.Max = s[0], s[len(s)-1]
	}
	return r
}

// benchmark is one measurement.
type benchmark struct {
	name string
	run  func(ctx context.Context, env *env) ([]result, error)
}

func benchmarks() []benchmark {
	return []benchmark{
		{"start", benchStartToFirstCommand},
		{"api", benchAPI},
		{"run", benchRunTrue},
		{"upload", benchSecondRun},
		{"fleet", benchFleet},
		{"logs", benchLogs},
		{"idle", benchIdle},
	}
}

func main() {
	hangar := hangarPath
	only := flag.String("only", "", "comma-separated benchmarks to run (default: all)")
	out := flag.String("json", "", "also write the results as JSON to this file")
	flag.Parse()

	ctx := context.Background()
	// "go" is the in-process benchmarks, which bench/run runs and passes
	// in as -gobench.
	names := []string{"go"}
	for _, b := range benchmarks() {
		names = append(names, b.name)
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if !slices.Contains(names, n) {
			fmt.Fprintf(os.Stderr, "hangarbench: -only: no benchmark %q; there are %s\n", n, strings.Join(names, ", "))
			os.Exit(2)
		}
		want[n] = true
	}
	var results []result
	for _, b := range benchmarks() {
		if len(want) > 0 && !want[b.name] {
			continue
		}
		began := time.Now()
		fmt.Fprintf(os.Stderr, "hangarbench: %s\n", b.name)
		e, err := startEnv(ctx, *hangar)
		if err != nil {
			fmt.Fprintln(os.Stderr, "hangarbench:", err)
			os.Exit(1)
		}
		rs, err := b.run(ctx, e)
		e.close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "hangarbench: %s: %v\n", b.name, err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "hangarbench: %s took %.0f s\n", b.name, time.Since(began).Seconds())
		results = append(results, rs...)
	}
	if *goBenchFile != "" && (len(want) == 0 || want["go"]) {
		rs, err := goBenchResults(*goBenchFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "hangarbench:", err)
			os.Exit(1)
		}
		results = append(results, rs...)
	}
	printTable(results)
	if *out != "" {
		if err := writeReport(*out, results); err != nil {
			fmt.Fprintln(os.Stderr, "hangarbench:", err)
			os.Exit(1)
		}
	}
}

func printTable(results []result) {
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "metric\thangar median\t(min–max)\truns\tpeer\tpeer median\tratio\tbar\tnote")
	for _, r := range results {
		peer, pm, ratio := "-", "-", "-"
		if r.Peer != "" {
			peer = r.Peer
			pm = num(r.PeerMedian) + " " + r.Unit
			if r.PeerMedian > 0 {
				ratio = fmt.Sprintf("%.2f×", r.Median/r.PeerMedian)
			}
		}
		fmt.Fprintf(w, "%s\t%s %s\t(%s–%s)\t%d\t%s\t%s\t%s\t%s\t%s\n", r.Metric, num(r.Median), r.Unit, num(r.Min), num(r.Max), r.Runs, peer, pm, ratio, r.Bar, r.Note)
	}
	w.Flush()
}

// num shows three significant digits, without an exponent: 20193 ms
// reads better as 20193 than as 2.02e+04.
func num(v float64) string {
	if v >= 1000 || v <= -1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
