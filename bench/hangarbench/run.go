package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The remote run as users meet it: `hangar run -- true` against the
// embedded runner (warm), beside nektos/act running a one-step workflow
// with `true` on the host (-P ubuntu-latest=-self-hosted) when act is on
// PATH; and what the second run of a big tree sends after one file changed.

// embedded is a private user environment for hangar: its own XDG state and
// cache dirs, so the embedded runner it starts is the benchmark's.
type embedded struct {
	bin, dir string
}

func newEmbedded(bin string) (*embedded, error) {
	dir, err := os.MkdirTemp("", "hangarbench-run-")
	if err != nil {
		return nil, err
	}
	return &embedded{bin: bin, dir: dir}, nil
}

func (e *embedded) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HANGAR_") && !strings.HasPrefix(kv, "XDG_") {
			env = append(env, kv)
		}
	}
	return append(env, "XDG_STATE_HOME="+filepath.Join(e.dir, "state"), "XDG_CACHE_HOME="+filepath.Join(e.dir, "cache"))
}

// close stops the embedded runner (its pid is in the endpoint file).
func (e *embedded) close() {
	if b, err := os.ReadFile(filepath.Join(e.dir, "state", "hangar", "endpoint")); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 2 {
			if pid, err := strconv.Atoi(f[1]); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGTERM)
				for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}
	}
	os.RemoveAll(e.dir)
}

// runJSON is what the benchmark reads of `hangar run --output json`.
type runJSON struct {
	ExitCode  int                `json:"exitCode"`
	BytesSent int64              `json:"bytesSent"`
	Timings   map[string]float64 `json:"timingsMs"`
	Phases    []struct {
		Type       string  `json:"type"`
		DurationMs float64 `json:"durationMs"`
	} `json:"phases"`
}

// run runs `hangar run -o json -- argv` in dir and returns its wall time.
func (e *embedded) run(ctx context.Context, dir string, argv ...string) (time.Duration, runJSON, error) {
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"run", "-o", "json", "--"}, argv...)...)
	cmd.Dir, cmd.Env = dir, e.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	began := time.Now()
	err := cmd.Run()
	took := time.Since(began)
	var v runJSON
	if err != nil {
		return took, v, fmt.Errorf("hangar run: %v\n%s", err, errb.String())
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		return took, v, fmt.Errorf("hangar run output: %v", err)
	}
	return took, v, nil
}

// makeTree writes files random files of size bytes under dir (100 to a
// directory) and a hangar.yml naming project.
func makeTree(dir, project string, files, size int) error {
	buf := make([]byte, size)
	for i := range files {
		d := filepath.Join(dir, fmt.Sprintf("pkg%03d", i/100))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		rand.Read(buf)
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%05d.dat", i)), buf, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "hangar.yml"), []byte("project: "+project+"\n"), 0o644)
}

func benchRunTrue(ctx context.Context, _ *env) ([]result, error) {
	e, err := newEmbedded(*hangarPath)
	if err != nil {
		return nil, err
	}
	defer e.close()
	tree := filepath.Join(e.dir, "tree")
	if err := makeTree(tree, "bench1k", 1000, 2048); err != nil {
		return nil, err
	}
	const runs = 20
	var walls []float64
	parts := map[string][]float64{}
	progress("run: hangar run -- true, %d runs", runs)
	for i := range runs + 2 { // two warm-up runs: start the runner, fill the hash cache
		took, v, err := e.run(ctx, tree, "true")
		if err != nil {
			return nil, err
		}
		if i < 2 {
			continue
		}
		walls = append(walls, ms(took))
		for k, t := range v.Timings {
			parts[k] = append(parts[k], t)
		}
		for _, p := range v.Phases {
			parts["phase "+p.Type] = append(parts["phase "+p.Type], p.DurationMs)
		}
	}
	r := summarize("run -- true, 1,000 files, embedded warm", "ms", walls)
	r.Bar = "≤ 250 ms; not slower than act"
	if act, err := exec.LookPath("act"); err == nil {
		progress("run: act, %d runs", runs)
		if samples, err := benchAct(ctx, act, tree, runs); err == nil {
			r.Peer, r.PeerMedian = "act v0.2.89", summarize("", "", samples).Median
		} else {
			r.Note = "act failed: " + err.Error()
		}
	} else {
		r.Note = "act not on PATH (bench/run builds it with go install; see bench/README.md)"
	}
	if r.Note != "" {
		fmt.Fprintln(os.Stderr, "hangarbench: run: no act column:", r.Note)
	}
	// The floor: the same command as a local process, no runner at all.
	var floor []float64
	for range runs {
		cmd := exec.CommandContext(ctx, "bash", "-c", "true")
		cmd.Dir = tree
		began := time.Now()
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("bash -c true: %w", err)
		}
		floor = append(floor, ms(time.Since(began)))
	}
	f := r
	f.Metric, f.Bar, f.Note = "  the same against the floor", "", ""
	f.Peer, f.PeerMedian = "bash -c true (floor)", summarize("", "", floor).Median
	out := []result{r, f}
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, summarize("  "+k, "ms", parts[k]))
	}
	return out, nil
}

// benchAct runs a one-step workflow running `true` on the host.
func benchAct(ctx context.Context, act, tree string, runs int) ([]float64, error) {
	wf := filepath.Join(tree, ".github", "workflows")
	if err := os.MkdirAll(wf, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(filepath.Join(tree, ".github"))
	yml := "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: \"true\"\n"
	if err := os.WriteFile(filepath.Join(wf, "t.yml"), []byte(yml), 0o644); err != nil {
		return nil, err
	}
	var samples []float64
	for i := range runs + 1 {
		cmd := exec.CommandContext(ctx, act, "-P", "ubuntu-latest=-self-hosted", "push")
		cmd.Dir = tree
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &errb, &errb
		began := time.Now()
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%v: %s", err, lastLine(errb.String()))
		}
		if i > 0 {
			samples = append(samples, ms(time.Since(began)))
		}
	}
	return samples, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// benchSecondRun measures source sync on the DESIGN tree (10,000 files,
// 200 MB): what `hangar run` sends and how long it takes the first time
// and after one file changed, each beside a full zip upload of the same
// tree (see zipupload.go), which costs the same on every run.
func benchSecondRun(ctx context.Context, srv *env) ([]result, error) {
	e, err := newEmbedded(*hangarPath)
	if err != nil {
		return nil, err
	}
	defer e.close()
	tree := filepath.Join(e.dir, "tree")
	if err := makeTree(tree, "bench10k", 10_000, 20_000); err != nil {
		return nil, err
	}
	progress("upload: first run, 10,000 files / 200 MB")
	took1, v1, err := e.run(ctx, tree, "true")
	if err != nil {
		return nil, err
	}
	progress("upload: full zip upload of the same tree")
	z1, err := uploadZip(ctx, srv, tree)
	if err != nil {
		return nil, fmt.Errorf("full zip upload: %w", err)
	}
	changed := make([]byte, 20_000)
	rand.Read(changed)
	if err := os.WriteFile(filepath.Join(tree, "pkg042", "f04242.dat"), changed, 0o644); err != nil {
		return nil, err
	}
	progress("upload: second run, one file changed")
	took2, v2, err := e.run(ctx, tree, "true")
	if err != nil {
		return nil, err
	}
	progress("upload: full zip upload again")
	z2, err := uploadZip(ctx, srv, tree)
	if err != nil {
		return nil, fmt.Errorf("full zip upload: %w", err)
	}
	one := func(metric, unit string, v float64, bar string) result {
		r := summarize(metric, unit, []float64{v})
		r.Bar = bar
		return r
	}
	peer := "full zip upload (Jets)"
	withPeer := func(r result, v float64) result {
		r.Peer, r.PeerMedian = peer, v
		return r
	}
	sent1 := withPeer(one("first run, 10,000 files / 200 MB: sent", "MB", float64(v1.BytesSent)/1e6, ""), float64(z1.bytes)/1e6)
	sent1.Note = "peer: the zip's size (" + z1.tool + "; random content does not compress)"
	wall1 := withPeer(one("first run: wall", "ms", ms(took1), ""), ms(z1.wall()))
	wall1.Note = "hangar: scan, upload, build, exit; peer: zip and PutObject only"
	return []result{
		sent1,
		wall1,
		one("  first run: scan", "ms", v1.Timings["scan"], ""),
		one("  first run: upload", "ms", v1.Timings["upload"], ""),
		one("  first run: follow (build)", "ms", v1.Timings["follow"], ""),
		one("  full zip upload, first run: zip", "ms", ms(z1.zip), ""),
		one("  full zip upload, first run: PutObject", "ms", ms(z1.upload), ""),
		withPeer(one("second run, one file changed: sent", "MB", float64(v2.BytesSent)/1e6, "≤ 1 MB"), float64(z2.bytes)/1e6),
		withPeer(one("second run: wall", "ms", ms(took2), ""), ms(z2.wall())),
		one("  second run: scan", "ms", v2.Timings["scan"], ""),
		one("  second run: list blobs", "ms", v2.Timings["list"], ""),
		one("  second run: upload", "ms", v2.Timings["upload"], ""),
		one("  second run: follow (build)", "ms", v2.Timings["follow"], ""),
		one("  full zip upload, second run: zip", "ms", ms(z2.zip), ""),
		one("  full zip upload, second run: PutObject", "ms", ms(z2.upload), ""),
	}, nil
}
