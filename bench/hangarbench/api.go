package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
)

// benchBatchGetBuilds times BatchGetBuilds round trips through the Go SDK
// (signing, HTTP, verification, SQLite read), measured two ways:
//
//   - closed loop: clients call back to back. With 50 of them on the same
//     2 cores as the runner, latency is concurrency ÷ throughput (Little's
//     law), so the row to read is the throughput.
//   - paced: 50 clients each polling every 50 ms (1,000 calls/s offered),
//     the way followers poll a build: the latency a poller sees.
func benchBatchGetBuilds(ctx context.Context, e *env) ([]result, error) {
	if err := e.project(ctx, "api", "version: 0.2\nphases:\n  build:\n    commands:\n      - true\n"); err != nil {
		return nil, err
	}
	cb := e.codebuild()
	out, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("api")})
	if err != nil {
		return nil, err
	}
	id := aws.ToString(out.Build.Id)
	if _, err := e.wait(ctx, id); err != nil {
		return nil, err
	}
	call := func(cl *codebuild.Client) (float64, error) {
		t0 := time.Now()
		_, err := cl.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{id}})
		return ms(time.Since(t0)), err
	}
	var results []result
	for _, clients := range []int{1, 10, 50} {
		all, took, err := load(clients, 200, 0, call, e)
		if err != nil {
			return nil, err
		}
		r := summarize(fmt.Sprintf("BatchGetBuilds, %d closed-loop clients", clients), "ms", all)
		r.Note = fmt.Sprintf("%.0f calls/s", float64(len(all))/took.Seconds())
		results = append(results, r)
		results = append(results, result{Metric: fmt.Sprintf("  throughput, %d clients", clients), Unit: "calls/s", Runs: 1,
			Median: float64(len(all)) / took.Seconds(), Min: float64(len(all)) / took.Seconds(), Max: float64(len(all)) / took.Seconds()})
	}
	all, _, err := load(50, 60, 50*time.Millisecond, call, e)
	if err != nil {
		return nil, err
	}
	r := summarize("BatchGetBuilds, 50 clients polling every 50 ms", "ms", all)
	r.Bar = "≤ 2 ms p50"
	return append(results, r), nil
}

// load runs clients goroutines making perClient calls each, pace apart (0:
// back to back), and returns every latency and the wall time.
func load(clients, perClient int, pace time.Duration, call func(*codebuild.Client) (float64, error), e *env) ([]float64, time.Duration, error) {
	samples := make([][]float64, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	t0 := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := codebuild.NewFromConfig(e.cfg)
			// Spread the paced clients over the period.
			if pace > 0 {
				time.Sleep(pace * time.Duration(c) / time.Duration(clients))
			}
			next := time.Now()
			for range perClient {
				if pace > 0 {
					time.Sleep(time.Until(next))
					next = next.Add(pace)
				}
				d, err := call(cl)
				if err != nil {
					errs[c] = err
					return
				}
				samples[c] = append(samples[c], d)
			}
		}()
	}
	wg.Wait()
	took := time.Since(t0)
	var all []float64
	for c := range clients {
		if errs[c] != nil {
			return nil, 0, errs[c]
		}
		all = append(all, samples[c]...)
	}
	return all, took, nil
}
