package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/smithy-go"

	"github.com/hangarci/hangar/internal/target"
)

// The API benchmark times BatchGetBuilds and StartBuild round trips through
// the Go SDK (signing, HTTP, the server's work, decoding) on Hangar and on
// moto_server, the same calls on the same project, at 1, 10 and 50
// concurrent clients. Each client has its own SDK client and connections,
// as separate processes would.
//
//   - closed loop: clients call back to back for apiWindows × apiWindow
//     after a warm-up. With 50 of them on the same 2 cores as the server,
//     latency is clients ÷ throughput (Little's law), so the row to read is
//     the throughput, one sample per window.
//   - paced: 50 clients each polling every 50 ms (1,000 calls/s offered)
//     for apiPacedFor, the way followers poll a build: the latency a poller
//     sees. A client that falls behind skips the ticks it missed rather
//     than bursting, and the note says how many calls were made.
//
// StartBuild on Hangar really queues a build. The runner for it runs at
// most one build at a time and the project's build sleeps, so builds pile
// up in the queue and the figure is the API call and the queue insert, not
// the machine filling up with builds; moto runs nothing either.
//
// moto's BatchGetBuilds appends nine made-up phases to every build it
// returns, on every call, so one build read over and over grows without
// bound (after a few thousand reads each answer is megabytes). So moto is
// reset before each measurement and its calls go round a pool of
// apiMotoPool builds, each read a few times at most; Hangar's read one
// finished build.
const (
	apiWarmup    = 300 * time.Millisecond
	apiWindow    = time.Second
	apiWindows   = 3
	apiPace      = 50 * time.Millisecond
	apiPacedFor  = 3 * time.Second
	apiCallLimit = 30 * time.Second // far beyond any sane answer; a stuck call fails the run
	apiMotoPool  = 256
)

var apiClients = []int{1, 10, 50}

// apiTarget is one server under test.
type apiTarget struct {
	name     string
	cfg      aws.Config
	endpoint string
	// builds BatchGetBuilds reads, in turn.
	builds []string
	next   atomic.Uint64
}

func (t *apiTarget) moto() bool { return t.name == "moto_server" }

func (t *apiTarget) client() *codebuild.Client {
	var hc aws.HTTPClient = awshttp.NewBuildableClient()
	if !t.moto() {
		hc = target.WrapHTTPClient(hc)
	}
	cfg := t.cfg.Copy()
	cfg.HTTPClient = hc
	return codebuild.NewFromConfig(cfg)
}

// tolerate drops the one error moto's StartBuild and BatchGetBuilds always
// end in with the Go SDK: their times are strings where the model has
// numbers, and the SDK refuses them after reading the whole response. The
// round trip is complete by then, so it is timed; the SDK's decoding stops
// early, which if anything flatters moto.
func (t *apiTarget) tolerate(err error) error {
	var de *smithy.DeserializationError
	if t.moto() && errors.As(err, &de) {
		return nil
	}
	return err
}

const (
	apiProject      = "api"
	apiQueueProject = "api-queue"
)

// prepare (re)creates the projects and the builds BatchGetBuilds reads.
// On moto it first resets the server.
func (t *apiTarget) prepare(ctx context.Context) error {
	if t.moto() {
		resp, err := http.Post(t.endpoint+"/moto-api/reset", "", nil)
		if err != nil {
			return fmt.Errorf("reset: %w", err)
		}
		resp.Body.Close()
		t.builds = nil
	}
	if t.builds != nil {
		return nil
	}
	if !t.moto() {
		if err := ensureRole(ctx, t.cfg); err != nil {
			return err
		}
	}
	if err := createProject(ctx, t.cfg, apiProject, "version: 0.2\nphases:\n  build:\n    commands:\n      - true\n"); err != nil {
		return err
	}
	// On Hangar the first build of api-queue holds the one running slot
	// for the whole benchmark; the runner stops it when it shuts down.
	if err := createProject(ctx, t.cfg, apiQueueProject, "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 3600\n"); err != nil {
		return err
	}
	cb := t.client()
	n := 1
	if t.moto() {
		n = apiMotoPool
	}
	for range n {
		if _, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String(apiProject)}); t.tolerate(err) != nil {
			return err
		}
	}
	for p := codebuild.NewListBuildsForProjectPaginator(cb, &codebuild.ListBuildsForProjectInput{ProjectName: aws.String(apiProject)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		t.builds = append(t.builds, page.Ids...)
	}
	if len(t.builds) != n {
		return fmt.Errorf("project %s has %d builds, want %d", apiProject, len(t.builds), n)
	}
	if t.moto() {
		return nil
	}
	if _, err := waitComplete(ctx, cb, t.builds[0]); err != nil {
		return err
	}
	// The queue's first build takes the running slot before timing starts.
	_, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String(apiQueueProject)})
	return err
}

func waitComplete(ctx context.Context, cb *codebuild.Client, id string) (bool, error) {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		out, err := cb.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{id}})
		if err != nil {
			return false, err
		}
		if len(out.Builds) == 1 && out.Builds[0].BuildComplete {
			return true, nil
		}
	}
	return false, fmt.Errorf("build %s did not complete", id)
}

func (t *apiTarget) getBuild(ctx context.Context) func(*codebuild.Client) error {
	return func(c *codebuild.Client) error {
		id := t.builds[t.next.Add(1)%uint64(len(t.builds))]
		out, err := c.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{id}})
		if err == nil && len(out.Builds) != 1 {
			err = fmt.Errorf("BatchGetBuilds returned %d builds", len(out.Builds))
		}
		return t.tolerate(err)
	}
}

func (t *apiTarget) startBuild(ctx context.Context) func(*codebuild.Client) error {
	return func(c *codebuild.Client) error {
		_, err := c.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String(apiQueueProject)})
		return t.tolerate(err)
	}
}

func benchAPI(ctx context.Context, e *env) ([]result, error) {
	// StartBuild goes to a second runner that runs one build at a time.
	q, err := startEnv(ctx, *hangarPath, "--max-builds", "1")
	if err != nil {
		return nil, err
	}
	defer q.close()
	hangarGet := &apiTarget{name: "hangar", cfg: e.cfg}
	hangarStart := &apiTarget{name: "hangar", cfg: q.cfg}
	for _, t := range []*apiTarget{hangarGet, hangarStart} {
		if err := t.prepare(ctx); err != nil {
			return nil, fmt.Errorf("hangar: %w", err)
		}
	}
	var peer *apiTarget
	note := ""
	if m, err := startMoto(ctx); err != nil {
		note = "no moto_server column: " + err.Error()
		fmt.Fprintln(os.Stderr, "hangarbench: api:", note)
	} else {
		defer m.close()
		peer = &apiTarget{name: "moto_server", cfg: m.cfg, endpoint: m.endpoint}
	}

	var out []result
	for _, op := range []struct {
		name   string
		hangar *apiTarget
		call   func(*apiTarget) func(*codebuild.Client) error
	}{
		{"BatchGetBuilds", hangarGet, func(t *apiTarget) func(*codebuild.Client) error { return t.getBuild(ctx) }},
		{"StartBuild", hangarStart, func(t *apiTarget) func(*codebuild.Client) error { return t.startBuild(ctx) }},
	} {
		for _, n := range apiClients {
			progress("api: %s, %d client(s)", op.name, n)
			h, err := closedLoop(op.hangar, n, op.call(op.hangar))
			if err != nil {
				return nil, fmt.Errorf("hangar %s, %d clients: %w", op.name, n, err)
			}
			clients := fmt.Sprintf("%d closed-loop client", n)
			if n > 1 {
				clients += "s"
			}
			lat := summarize(fmt.Sprintf("API %s, %s: latency", op.name, clients), "ms", h.latencies)
			tput := summarize("  throughput, "+clients, "calls/s", h.throughput)
			lat.Note = fmt.Sprintf("p99 %.3g ms", percentile(h.latencies, 0.99))
			if peer != nil {
				if err := peer.prepare(ctx); err != nil {
					return nil, fmt.Errorf("moto_server: %w", err)
				}
				p, err := closedLoop(peer, n, op.call(peer))
				if err != nil {
					return nil, fmt.Errorf("moto_server %s, %d clients: %w", op.name, n, err)
				}
				lat.Peer, lat.PeerMedian = peer.name, summarize("", "", p.latencies).Median
				tput.Peer, tput.PeerMedian = peer.name, summarize("", "", p.throughput).Median
				lat.Note += fmt.Sprintf("; moto p99 %.3g ms", percentile(p.latencies, 0.99))
			} else {
				lat.Note += "; " + note
			}
			out = append(out, lat, tput)
		}
		if op.name != "BatchGetBuilds" {
			continue
		}
		progress("api: %s, 50 paced clients", op.name)
		h, calls, err := paced(op.hangar, 50, op.call(op.hangar))
		if err != nil {
			return nil, fmt.Errorf("hangar paced %s: %w", op.name, err)
		}
		r := summarize("API BatchGetBuilds, 50 clients polling every 50 ms", "ms", h)
		r.Bar = "≤ 2 ms p50"
		r.Note = fmt.Sprintf("p99 %.3g ms; %d of %d calls offered", percentile(h, 0.99), len(h), calls)
		if peer != nil {
			if err := peer.prepare(ctx); err != nil {
				return nil, fmt.Errorf("moto_server: %w", err)
			}
			p, pcalls, err := paced(peer, 50, op.call(peer))
			if err != nil {
				return nil, fmt.Errorf("moto_server paced %s: %w", op.name, err)
			}
			r.Peer, r.PeerMedian = peer.name, summarize("", "", p).Median
			r.Note += fmt.Sprintf("; moto p99 %.3g ms, %d of %d calls", percentile(p, 0.99), len(p), pcalls)
		}
		out = append(out, r)
	}
	return out, nil
}

// loadResult is what a closed loop measured: every call's latency (ms) and
// the calls completed in each window (calls/s).
type loadResult struct {
	latencies, throughput []float64
}

// closedLoop runs clients callers back to back: apiWarmup unmeasured, then
// apiWindows windows of apiWindow.
func closedLoop(t *apiTarget, clients int, call func(*codebuild.Client) error) (loadResult, error) {
	begin := time.Now()
	measureFrom := begin.Add(apiWarmup)
	end := measureFrom.Add(apiWindows * apiWindow)
	lat := make([][]float64, clients)
	done := make([][]time.Time, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for c := range clients {
		cl := t.client()
		wg.Go(func() {
			for {
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				if err := callWithin(call, cl); err != nil {
					errs[c] = err
					return
				}
				t1 := time.Now()
				if t0.After(measureFrom) && t1.Before(end) {
					lat[c] = append(lat[c], ms(t1.Sub(t0)))
					done[c] = append(done[c], t1)
				}
			}
		})
	}
	wg.Wait()
	var r loadResult
	counts := make([]float64, apiWindows)
	for c := range clients {
		if errs[c] != nil {
			return r, errs[c]
		}
		r.latencies = append(r.latencies, lat[c]...)
		for _, d := range done[c] {
			counts[min(int(d.Sub(measureFrom)/apiWindow), apiWindows-1)]++
		}
	}
	for _, n := range counts {
		r.throughput = append(r.throughput, n/apiWindow.Seconds())
	}
	return r, nil
}

// paced runs clients callers each calling every apiPace for apiPacedFor
// (after two unmeasured calls that open connections), spread over the
// period, and returns every latency (ms) and how many calls the schedule
// offered.
func paced(t *apiTarget, clients int, call func(*codebuild.Client) error) ([]float64, int, error) {
	lat := make([][]float64, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for c := range clients {
		cl := t.client()
		wg.Go(func() {
			for range 2 {
				if errs[c] = callWithin(call, cl); errs[c] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	start := time.Now()
	end := start.Add(apiPacedFor)
	for c := range clients {
		cl := t.client()
		wg.Go(func() {
			if errs[c] != nil {
				return
			}
			next := start.Add(apiPace * time.Duration(c) / time.Duration(clients))
			for next.Before(end) {
				time.Sleep(time.Until(next))
				t0 := time.Now()
				if err := callWithin(call, cl); err != nil {
					errs[c] = err
					return
				}
				lat[c] = append(lat[c], ms(time.Since(t0)))
				next = next.Add(apiPace)
				for next.Before(time.Now()) { // behind schedule: skip the missed polls
					next = next.Add(apiPace)
				}
			}
		})
	}
	wg.Wait()
	var all []float64
	for c := range clients {
		if errs[c] != nil {
			return nil, 0, errs[c]
		}
		all = append(all, lat[c]...)
	}
	return all, clients * int(apiPacedFor/apiPace), nil
}

// callWithin makes one call, or fails if it has not returned within
// apiCallLimit: a stuck call must end the benchmark, not hang it.
func callWithin(call func(*codebuild.Client) error, cl *codebuild.Client) error {
	done := make(chan error, 1)
	go func() { done <- call(cl) }()
	t := time.NewTimer(apiCallLimit)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("no answer within %v", apiCallLimit)
	}
}

// percentile returns the q-quantile (0..1) of samples, nearest rank.
func percentile(samples []float64, q float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
