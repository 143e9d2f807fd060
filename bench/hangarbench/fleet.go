package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/hangarci/hangar/internal/model"
)

// fleetBuilds is how many builds the fleet benchmark starts at once on a
// fleet of fleetMachines.
const (
	fleetBuilds   = 200
	fleetMachines = 4
	latencyRuns   = 30
)

// benchFleet measures fleets on a real runner:
//
//   - StartBuild → first command for a build on a fleet (its machine is
//     prepared ahead: cgroup with limits, init started) against an
//     on-demand build (which makes its machine while it provisions), with
//     the runner warm (a pause between builds) and back to back;
//   - the runner's memory with 200 builds waiting in QUEUED;
//   - 200 builds started at once on a fleet of 4: wall time until all are
//     done, the most seen running at once (the fleet's own count, sampled,
//     and the overlap of the builds' recorded times), the runner's peak RSS.
func benchFleet(ctx context.Context, e *env) ([]result, error) {
	cb := e.codebuild()
	spec := "version: 0.2\nphases:\n  build:\n    commands:\n      - echo T=$EPOCHREALTIME\n"
	if err := e.project(ctx, "ondemand", spec); err != nil {
		return nil, err
	}
	fleet, err := benchCreateFleet(ctx, cb, "bench", fleetMachines)
	if err != nil {
		return nil, err
	}
	if err := fleetProject(ctx, cb, "onfleet", spec, fleet); err != nil {
		return nil, err
	}
	if err := lambdaProject(ctx, cb, "lambda", spec); err != nil {
		return nil, err
	}
	floor, err := shellFloor(latencyRuns)
	if err != nil {
		return nil, err
	}
	floorMedian := summarize("", "ms", floor).Median
	var out []result
	kinds := []struct{ project, label string }{{"onfleet", "fleet build"}, {"ondemand", "on-demand build"}, {"lambda", "Lambda build"}}
	projects := make([]string, len(kinds))
	for i, k := range kinds {
		projects[i] = k.project
	}
	for _, mode := range []struct {
		name  string
		pause time.Duration
	}{{"warm runner", 300 * time.Millisecond}, {"back to back", 0}} {
		samples, err := startLatency(ctx, e, projects, mode.pause)
		if err != nil {
			return nil, err
		}
		var rows []result
		for i, k := range kinds {
			r := summarize(fmt.Sprintf("StartBuild → first command, %s, %s", k.label, mode.name), "ms", samples[i])
			if mode.pause > 0 {
				r.Peer, r.PeerMedian = floorName, floorMedian
			}
			rows = append(rows, r)
		}
		if rows[1].Median > 0 {
			rows[0].Note = fmt.Sprintf("%.2f× the on-demand build's", rows[0].Median/rows[1].Median)
		}
		out = append(out, rows...)
	}

	queued, err := rssWithQueued(ctx, e, spec)
	if err != nil {
		return nil, err
	}
	out = append(out, queued...)

	load, err := fleetLoad(ctx, e, fleet)
	if err != nil {
		return nil, err
	}
	return append(out, load...), nil
}

func benchCreateFleet(ctx context.Context, cb *codebuild.Client, name string, machines int32) (types.Fleet, error) {
	out, err := cb.CreateFleet(ctx, &codebuild.CreateFleetInput{
		Name: aws.String(name), BaseCapacity: aws.Int32(machines), EnvironmentType: types.EnvironmentTypeLinuxContainer,
		ComputeType: types.ComputeTypeBuildGeneral1Small,
	})
	if err != nil {
		return types.Fleet{}, fmt.Errorf("create fleet %s: %w", name, err)
	}
	return *out.Fleet, nil
}

// fleetProject makes a project whose builds run on fleet.
func fleetProject(ctx context.Context, cb *codebuild.Client, name, spec string, fleet types.Fleet) error {
	_, err := cb.CreateProject(ctx, &codebuild.CreateProjectInput{
		Name:        aws.String(name),
		Source:      &types.ProjectSource{Type: types.SourceTypeNoSource, Buildspec: aws.String(spec)},
		Artifacts:   &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts},
		Environment: &types.ProjectEnvironment{Type: types.EnvironmentTypeLinuxContainer, Image: aws.String("aws/codebuild/amazonlinux2-x86_64-standard:5.0"), ComputeType: types.ComputeTypeBuildGeneral1Small, Fleet: &types.ProjectFleet{FleetArn: fleet.Arn}},
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/bench"),
	})
	return err
}

// lambdaProject makes a project on Lambda compute.
func lambdaProject(ctx context.Context, cb *codebuild.Client, name, spec string) error {
	_, err := cb.CreateProject(ctx, &codebuild.CreateProjectInput{
		Name:        aws.String(name),
		Source:      &types.ProjectSource{Type: types.SourceTypeNoSource, Buildspec: aws.String(spec)},
		Artifacts:   &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts},
		Environment: &types.ProjectEnvironment{Type: types.EnvironmentTypeLinuxLambdaContainer, Image: aws.String("aws/codebuild/amazonlinux-x86_64-lambda-standard:go1.24"), ComputeType: types.ComputeTypeBuildLambda1gb},
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/bench"),
	})
	return err
}

// startLatency times StartBuild → the build's first command (its
// $EPOCHREALTIME) for latencyRuns builds of each project, pause apart,
// after a round to warm up. The projects take turns, so a busy spell of
// the machine weighs on each alike.
func startLatency(ctx context.Context, e *env, projects []string, pause time.Duration) ([][]float64, error) {
	cb := e.codebuild()
	samples := make([][]float64, len(projects))
	for i := 0; i < latencyRuns+1; i++ {
		for j, project := range projects {
			time.Sleep(pause)
			t0 := time.Now()
			out, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String(project)})
			if err != nil {
				return nil, err
			}
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
			if i > 0 {
				samples[j] = append(samples[j], ms(t1.Sub(t0)))
			}
		}
	}
	return samples, nil
}

// rssWithQueued measures the runner's RSS idle, then with fleetBuilds
// builds waiting in QUEUED (behind a fleet of one machine that a long build
// holds), then stops them all.
func rssWithQueued(ctx context.Context, e *env, spec string) ([]result, error) {
	cb := e.codebuild()
	pid := e.cmd.Process.Pid
	hold, err := benchCreateFleet(ctx, cb, "hold", 1)
	if err != nil {
		return nil, err
	}
	if err := fleetProject(ctx, cb, "holder", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300\n", hold); err != nil {
		return nil, err
	}
	if err := fleetProject(ctx, cb, "waiter", spec, hold); err != nil {
		return nil, err
	}
	holder, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("holder")})
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Second)
	before, err := rssMB(pid)
	if err != nil {
		return nil, err
	}
	ids, err := startMany(ctx, cb, "waiter", fleetBuilds)
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Second)
	with, err := rssMB(pid)
	if err != nil {
		return nil, err
	}
	fl, err := cb.BatchGetFleets(ctx, &codebuild.BatchGetFleetsInput{Names: []string{"hold"}})
	if err != nil {
		return nil, err
	}
	note := aws.ToString(fl.Fleets[0].Status.Message)
	for _, id := range append(ids, aws.ToString(holder.Build.Id)) {
		if _, err := cb.StopBuild(ctx, &codebuild.StopBuildInput{Id: aws.String(id)}); err != nil {
			return nil, err
		}
	}
	one := func(metric string, v float64) result {
		return result{Metric: metric, Unit: "MB", Runs: 1, Median: v, Min: v, Max: v}
	}
	r := one(fmt.Sprintf("runner RSS, %d builds queued", fleetBuilds), with)
	r.Note = "fleet status: " + note
	return []result{one("runner RSS, 1 build running, none queued", before), r}, nil
}

// startMany starts n builds of project from 8 clients at once and returns
// their ids.
func startMany(ctx context.Context, cb *codebuild.Client, project string, n int) ([]string, error) {
	var mu sync.Mutex
	var ids []string
	var firstErr error
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				out, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String(project)})
				mu.Lock()
				if err != nil {
					firstErr = err
				} else {
					ids = append(ids, aws.ToString(out.Build.Id))
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return ids, firstErr
}

// fleetLoad starts fleetBuilds builds at once on fleet and waits for all.
func fleetLoad(ctx context.Context, e *env, fleet types.Fleet) ([]result, error) {
	cb := e.codebuild()
	pid := e.cmd.Process.Pid
	if err := fleetProject(ctx, cb, "load", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo load\n", fleet); err != nil {
		return nil, err
	}
	rss := sampleRSS(pid, 20*time.Millisecond)
	// The fleet's own count of builds on its machines, sampled.
	var most atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			out, err := cb.BatchGetFleets(ctx, &codebuild.BatchGetFleetsInput{Names: []string{aws.ToString(fleet.Arn)}})
			if err != nil || len(out.Fleets) == 0 {
				continue
			}
			if run, _, _, ok := model.ParseFleetCounts(aws.ToString(out.Fleets[0].Status.Message)); ok && int64(run) > most.Load() {
				most.Store(int64(run))
			}
		}
	}()
	began := time.Now()
	ids, err := startMany(ctx, cb, "load", fleetBuilds)
	if err != nil {
		return nil, err
	}
	var builds []types.Build
	for _, id := range ids {
		b, err := e.wait(ctx, id)
		if err != nil {
			return nil, err
		}
		if b.BuildStatus != types.StatusTypeSucceeded {
			return nil, fmt.Errorf("build %s ended %s", id, b.BuildStatus)
		}
		builds = append(builds, b)
	}
	wall := time.Since(began)
	close(stop)
	<-sampled
	peak, err := rss.Stop()
	if err != nil {
		return nil, err
	}
	one := func(metric, unit string, v float64) result {
		return result{Metric: metric, Unit: unit, Runs: 1, Median: v, Min: v, Max: v}
	}
	w := one(fmt.Sprintf("%d builds at once on a fleet of %d: all done", fleetBuilds, fleetMachines), "s", wall.Seconds())
	w.Note = fmt.Sprintf("%.1f builds/s", float64(len(builds))/wall.Seconds())
	m := one("  most running at once (fleet count, sampled)", "builds", float64(most.Load()))
	m.Bar = fmt.Sprintf("≤ %d", fleetMachines)
	o := one("  most running at once (build records)", "builds", float64(overlap(builds)))
	o.Bar = fmt.Sprintf("≤ %d", fleetMachines)
	return []result{w, m, o, one("  runner peak RSS", "MB", peak)}, nil
}

// overlap is the most builds whose [left the queue, ended) times overlap.
func overlap(builds []types.Build) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, b := range builds {
		for _, p := range b.Phases {
			if p.PhaseType == types.BuildPhaseTypeProvisioning && p.StartTime != nil && b.EndTime != nil {
				edges = append(edges, edge{*p.StartTime, 1}, edge{*b.EndTime, -1})
			}
		}
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	most, cur := 0, 0
	for _, e := range edges {
		cur += e.delta
		most = max(most, cur)
	}
	return most
}
