package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
)

// startRuns is how many builds the start benchmark times.
const startRuns = 50

// benchStartToFirstCommand times StartBuild → the first user command
// running: the command prints bash's $EPOCHREALTIME (a builtin, so no fork
// adds to it) and the client subtracts the time it sent StartBuild. The
// floor is fork/exec of the same shell running the same command.
//
// "Warm" means the runner has had a moment since the last build to prepare
// the next sandbox (its prestarted inits); back to back, each build starts
// the moment the previous one completes, which on 2 cores outpaces that.
func benchStartToFirstCommand(ctx context.Context, e *env) ([]result, error) {
	if err := e.project(ctx, "start", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo T=$EPOCHREALTIME\n"); err != nil {
		return nil, err
	}
	var out []result
	for _, mode := range []struct {
		name  string
		pause time.Duration
		bar   string
	}{
		{"warm runner", 300 * time.Millisecond, "≤ 20 ms p50"},
		{"back to back", 0, ""},
	} {
		samples, api, server, err := startSeries(ctx, e, mode.pause)
		if err != nil {
			return nil, err
		}
		r := summarize("StartBuild → first command, "+mode.name, "ms", samples)
		r.Bar = mode.bar
		out = append(out, r,
			summarize("  of which: StartBuild API round trip", "ms", api),
			summarize("  of which: build submitted → first command", "ms", server))
	}
	floor, err := shellFloor(startRuns)
	if err != nil {
		return nil, err
	}
	out[0].Peer, out[0].PeerMedian = floorName, summarize("", "ms", floor).Median
	return out, nil
}

const floorName = "fork/exec bash (floor)"

// shellFloor times fork/exec of bash until it runs the builds' first
// command, runs times: the least any runner can take.
func shellFloor(runs int) ([]float64, error) {
	var floor []float64
	for range runs {
		t0 := time.Now()
		o, err := exec.Command("bash", "-c", "echo T=$EPOCHREALTIME").Output()
		if err != nil {
			return nil, fmt.Errorf("bash: %w", err)
		}
		t1, err := stampIn([]string{strings.TrimSpace(string(o))})
		if err != nil {
			return nil, err
		}
		floor = append(floor, ms(t1.Sub(t0)))
	}
	return floor, nil
}

// startSeries starts startRuns builds (after a few to warm up), pause apart.
func startSeries(ctx context.Context, e *env, pause time.Duration) (samples, api, server []float64, err error) {
	cb := e.codebuild()
	for i := 0; i < startRuns+3; i++ {
		time.Sleep(pause)
		t0 := time.Now()
		out, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("start")})
		if err != nil {
			return nil, nil, nil, err
		}
		tAPI := time.Since(t0)
		b, err := e.wait(ctx, aws.ToString(out.Build.Id))
		if err != nil {
			return nil, nil, nil, err
		}
		lines, err := e.logLines(ctx, b)
		if err != nil {
			return nil, nil, nil, err
		}
		t1, err := stampIn(lines)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("build %s: %w", aws.ToString(b.Id), err)
		}
		if i >= 3 { // the first builds warm the runner up
			samples = append(samples, ms(t1.Sub(t0)))
			api = append(api, ms(tAPI))
			server = append(server, ms(t1.Sub(*b.StartTime)))
		}
	}
	return samples, api, server, nil
}

// stampIn finds the T=<epoch seconds> line a build printed.
func stampIn(lines []string) (time.Time, error) {
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "T="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return time.Time{}, err
			}
			return time.Unix(0, int64(f*1e9)), nil
		}
	}
	return time.Time{}, fmt.Errorf("no T= line in the build log")
}
