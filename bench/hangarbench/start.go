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
func benchStartToFirstCommand(ctx context.Context, e *env) ([]result, error) {
	if err := e.project(ctx, "start", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo T=$EPOCHREALTIME\n"); err != nil {
		return nil, err
	}
	cb := e.codebuild()
	var samples, api, server []float64
	for i := 0; i < startRuns+3; i++ {
		t0 := time.Now()
		out, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("start")})
		if err != nil {
			return nil, err
		}
		tAPI := time.Since(t0)
		b, err := e.wait(ctx, aws.ToString(out.Build.Id))
		if err != nil {
			return nil, err
		}
		lines, err := e.logLines(ctx, b)
		if err != nil {
			return nil, err
		}
		t1, err := stampIn(lines)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", aws.ToString(b.Id), err)
		}
		if i >= 3 { // the first builds warm the runner up
			samples = append(samples, ms(t1.Sub(t0)))
			api = append(api, ms(tAPI))
			server = append(server, ms(t1.Sub(*b.StartTime)))
		}
	}
	r := summarize("StartBuild → first command (host sandbox)", "ms", samples)
	r.Bar = "≤ 20 ms p50"
	rAPI := summarize("  of which: StartBuild API round trip", "ms", api)
	rServer := summarize("  of which: build submitted → first command", "ms", server)

	var floor []float64
	for i := 0; i < startRuns; i++ {
		t0 := time.Now()
		out, err := exec.Command("bash", "-c", "echo T=$EPOCHREALTIME").Output()
		if err != nil {
			return nil, err
		}
		t1, err := stampIn([]string{strings.TrimSpace(string(out))})
		if err != nil {
			return nil, err
		}
		floor = append(floor, ms(t1.Sub(t0)))
	}
	f := summarize("", "ms", floor)
	r.Peer, r.PeerMedian = "fork/exec bash (floor)", f.Median
	return []result{r, rAPI, rServer}, nil
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
