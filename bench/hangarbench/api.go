package main

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
)

// benchBatchGetBuilds times BatchGetBuilds round trips through the Go SDK
// (signing, HTTP, verification, SQLite read) with 1 and 50 clients.
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
	var results []result
	for _, clients := range []int{1, 50} {
		const perClient = 200
		samples := make([][]float64, clients)
		var wg sync.WaitGroup
		var firstErr error
		var mu sync.Mutex
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				cl := codebuild.NewFromConfig(e.cfg)
				for i := 0; i < perClient; i++ {
					t0 := time.Now()
					_, err := cl.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{id}})
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
					samples[c] = append(samples[c], ms(time.Since(t0)))
				}
			}(c)
		}
		wg.Wait()
		if firstErr != nil {
			return nil, firstErr
		}
		var all []float64
		for _, s := range samples {
			all = append(all, s...)
		}
		r := summarize("BatchGetBuilds round trip, "+plural(clients), "ms", all)
		if clients == 50 {
			r.Bar = "≤ 2 ms p50"
		}
		results = append(results, r)
	}
	return results, nil
}

func plural(n int) string {
	if n == 1 {
		return "1 client"
	}
	return strconv.Itoa(n) + " clients"
}
