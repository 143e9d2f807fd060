package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

const (
	idleBuilds  = 50
	idleSettle  = 5 * time.Second
	idleSamples = 5
	idleEvery   = 200 * time.Millisecond
)

// benchIdle reads the resident memory of an idle runner: right after it
// starts, right after 50 builds, and once a garbage collection (asked for
// through --pprof's heap?gc=1, standing in for the collection an idle
// runner gets within two minutes anyway) and idleSettle have let the Go
// runtime hand freed memory back. The bar is the runner process's VmRSS; a
// second figure adds its helper processes (prestarted sandbox inits) by
// PSS. The peer is moto_server, idle after start: an API-only emulator of
// the same services, for scale.
func benchIdle(ctx context.Context, _ *env) ([]result, error) {
	e, err := startEnv(ctx, *hangarPath, "--pprof", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer e.close()
	pid := e.cmd.Process.Pid
	time.Sleep(time.Second)
	start, err := rssSeries(pid)
	if err != nil {
		return nil, err
	}

	progress("idle: %d builds", idleBuilds)
	if err := e.project(ctx, "idle", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hello\n"); err != nil {
		return nil, err
	}
	cb := e.codebuild()
	ids := make([]string, 0, idleBuilds)
	for range idleBuilds {
		out, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("idle")})
		if err != nil {
			return nil, err
		}
		ids = append(ids, aws.ToString(out.Build.Id))
	}
	for _, id := range ids {
		b, err := e.wait(ctx, id)
		if err != nil {
			return nil, err
		}
		if b.BuildStatus != types.StatusTypeSucceeded {
			return nil, fmt.Errorf("build %s ended %s%s", id, b.BuildStatus, phaseTrouble(b))
		}
	}
	after, err := rssSeries(pid)
	if err != nil {
		return nil, err
	}
	resp, err := http.Get(e.pprof + "heap?gc=1")
	if err != nil {
		return nil, fmt.Errorf("ask the runner to collect garbage: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	time.Sleep(idleSettle)
	settled, err := rssSeries(pid)
	if err != nil {
		return nil, err
	}
	pss, procs, err := treePSS(pid)
	if err != nil {
		return nil, err
	}
	hwm, err := procStatusMB(pid, "VmHWM")
	if err != nil {
		return nil, err
	}

	r0 := summarize("idle runner RSS, just started", "MB", start)
	r0.Bar = "≤ 40 MB"
	if m, err := startMoto(ctx); err == nil {
		time.Sleep(time.Second)
		if v, err := rssSeries(m.cmd.Process.Pid); err == nil {
			r0.Peer, r0.PeerMedian = "moto_server", summarize("", "", v).Median
		} else {
			r0.Note = "moto_server RSS: " + err.Error()
		}
		m.close()
	} else {
		r0.Note = "no moto_server column: " + err.Error()
		fmt.Fprintln(os.Stderr, "hangarbench: idle:", r0.Note)
	}
	r1 := summarize(fmt.Sprintf("idle runner RSS, right after %d builds", idleBuilds), "MB", after)
	r2 := summarize(fmt.Sprintf("idle runner RSS, after %d builds, a GC and %v", idleBuilds, idleSettle), "MB", settled)
	r2.Bar = "≤ 40 MB"
	r2.Note = fmt.Sprintf("VmHWM %.0f MB", hwm["VmHWM"])
	r3 := summarize(fmt.Sprintf("  with its %d helper processes (PSS)", procs-1), "MB", []float64{pss})
	return []result{r0, r1, r2, r3}, nil
}

// phaseTrouble says why a build failed, from its phases' contexts.
func phaseTrouble(b types.Build) string {
	var s string
	for _, p := range b.Phases {
		for _, c := range p.Contexts {
			if m := aws.ToString(c.Message); m != "" {
				s += fmt.Sprintf("; %s: %s", p.PhaseType, m)
			}
		}
	}
	return s
}

// rssSeries samples a process's VmRSS idleSamples times, idleEvery apart.
func rssSeries(pid int) ([]float64, error) {
	var out []float64
	for i := range idleSamples {
		if i > 0 {
			time.Sleep(idleEvery)
		}
		v, err := rssMB(pid)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
