package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/hangarci/hangar/internal/remote"
)

// profileDir (-profile DIR): the logs benchmark starts its runner with
// --pprof and saves a CPU profile of the runner and of this client during
// its first run, to find where the time of a 100 MB log goes.
var profileDir = flag.String("profile", "", "save runner and client CPU profiles of the first 100 MB log run here")

const (
	// logLines lines of 100 bytes (99 digits and "\n"): 100 MB (10^8 bytes).
	// seq writes them at ~140 MB/s on one core here, faster than the bar,
	// and numbered lines make the checksum prove their order.
	logLines   = 1_000_000
	logBytes   = logLines * 100
	logCommand = "seq -f %099g 1 1000000"
	logRuns    = 3
)

// benchLogs times a build printing 100 MB, followed from its start the way
// `hangar run` and `hangar logs --follow` do (internal/remote's Follower:
// BatchGetBuilds for the phase, GetLogEvents pages by forward token), until
// the build is complete and the client holds every line. The client checks
// the line count and a SHA-256 of the build's lines against the same
// command run locally, while the runner's VmRSS is sampled every 20 ms.
//
// The floor is the same command writing into the same checking sink through
// a local pipe.
func benchLogs(ctx context.Context, e *env) ([]result, error) {
	if *profileDir != "" {
		pe, err := startEnv(ctx, *hangarPath, "--pprof", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer pe.close()
		e = pe
	}
	// The local run first: it is the floor and gives the expected sum.
	var floor, genCPU []float64
	var want string
	for range logRuns {
		sink := newLineSink()
		cmd := exec.CommandContext(ctx, "bash", "-c", logCommand)
		cmd.Stdout = sink
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("local %s: %w", logCommand, err)
		}
		floor = append(floor, mbps(logBytes, time.Since(t0)))
		genCPU = append(genCPU, ms(cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()))
		want = sink.sum()
		if sink.lines != logLines || sink.bytes != logBytes {
			return nil, fmt.Errorf("local run printed %d lines, %d bytes; want %d, %d", sink.lines, sink.bytes, logLines, logBytes)
		}
	}

	if err := e.project(ctx, "logs", "version: 0.2\nphases:\n  build:\n    commands:\n      - "+logCommand+"\n"); err != nil {
		return nil, err
	}
	pid := e.cmd.Process.Pid
	var cliRates, rates, streamRates, builds, lags, peaks, runnerCPUs, clientCPUs, cliCPUs []float64
	for i := range logRuns {
		// The CLI as users run it, then the same follower in this process,
		// where its CPU can be told apart from the runner's.
		progress("logs: run %d of %d, hangar logs --follow", i+1, logRuns)
		sampler := sampleRSS(pid, 20*time.Millisecond)
		cli, err := followLogCLI(ctx, e)
		peak, serr := sampler.Stop()
		if err != nil {
			return nil, err
		}
		if serr != nil {
			return nil, fmt.Errorf("sample runner RSS: %w", serr)
		}
		if err := cli.check(want); err != nil {
			return nil, err
		}
		cliRates = append(cliRates, mbps(logBytes, cli.wall))
		cliCPUs = append(cliCPUs, ms(cli.clientCPU))
		peaks = append(peaks, peak)

		progress("logs: run %d of %d, follower in process", i+1, logRuns)
		var stopProfile func() error
		if i == 0 && *profileDir != "" {
			if stopProfile, err = startProfiles(e, *profileDir); err != nil {
				return nil, err
			}
		}
		runnerCPU0, err := procCPU(pid)
		if err != nil {
			return nil, err
		}
		clientCPU0 := selfCPU()
		sampler = sampleRSS(pid, 20*time.Millisecond)
		run, err := followLogBuild(ctx, e)
		peak, serr = sampler.Stop()
		clientCPU := selfCPU() - clientCPU0
		runnerCPU, cerr := procCPU(pid)
		if stopProfile != nil {
			if err := stopProfile(); err != nil {
				return nil, err
			}
		}
		if err != nil {
			return nil, err
		}
		if err := errors.Join(serr, cerr); err != nil {
			return nil, err
		}
		if err := run.check(want); err != nil {
			return nil, err
		}
		runnerCPUs = append(runnerCPUs, ms(runnerCPU-runnerCPU0))
		clientCPUs = append(clientCPUs, ms(clientCPU))
		rates = append(rates, mbps(logBytes, run.wall))
		streamRates = append(streamRates, mbps(logBytes, run.wall-run.firstLine))
		builds = append(builds, ms(run.build))
		lags = append(lags, ms(run.wall-run.buildEnd))
		peaks = append(peaks, peak)
	}
	hwm, err := procStatusMB(pid, "VmHWM")
	if err != nil {
		return nil, err
	}
	floorMedian := summarize("", "", floor).Median
	c := summarize("logs: 100 MB build output, `hangar logs --follow`", "MB/s", cliRates)
	c.Peer, c.PeerMedian = "local pipe (floor)", floorMedian
	c.Bar = "≥ 50 MB/s"
	c.Note = "StartBuild sent → CLI exited; every line arrived once, in order (count + SHA-256)"
	cc0 := summarize("  CLI CPU", "ms", cliCPUs)
	r := summarize("  the same, follower in the benchmark process", "MB/s", rates)
	r.Peer, r.PeerMedian = "local pipe (floor)", floorMedian
	s := summarize("    from the first line to the last", "MB/s", streamRates)
	b := summarize("    of which: the build printing (runner side)", "ms", builds)
	l := summarize("    of which: client behind after the build ended", "ms", lags)
	// Where the CPU goes: everything shares the same cores, and the client
	// waits for each page before it asks for the next.
	rc := summarize("    runner CPU (storing and serving the log)", "ms", runnerCPUs)
	cc := summarize("    client CPU (SDK decoding, follower, checksum)", "ms", clientCPUs)
	gc := summarize("    the build's own CPU (seq, measured locally)", "ms", genCPU)
	m := summarize("logs: runner peak RSS during the 100 MB build", "MB", peaks)
	m.Bar = "< 150 MB"
	m.Note = fmt.Sprintf("VmRSS sampled every 20 ms over %d builds; VmHWM after them: %.0f MB", 2*logRuns, hwm["VmHWM"])
	return []result{c, cc0, r, s, b, l, rc, cc, gc, m}, nil
}

// check compares what the client got with what the build printed.
func (run logRun) check(want string) error {
	if run.sum != want || run.lines != logLines || run.bytes != logBytes {
		return fmt.Errorf("build %s: client got %d lines, %d bytes, sha256 %s; want %d, %d, %s",
			run.id, run.lines, run.bytes, run.sum, logLines, logBytes, want)
	}
	return nil
}

// followLogCLI starts a build and follows it with `hangar logs --follow`,
// reaching the runner as a user would (target server, its credentials
// file), the CLI's stdout checked by a lineSink.
func followLogCLI(ctx context.Context, e *env) (logRun, error) {
	sink := newLineSink()
	t0 := time.Now()
	out, err := e.codebuild().StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("logs")})
	if err != nil {
		return logRun{}, err
	}
	id := aws.ToString(out.Build.Id)
	cmd := exec.CommandContext(ctx, *hangarPath, "logs", "--follow", "--target", "server", "--endpoint", e.endpoint, id)
	cmd.Dir = e.state // no hangar.yml there: defaults only
	cmd.Env = append(cleanEnv(), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(e.state, "credentials"), "AWS_CONFIG_FILE=/dev/null", "AWS_PROFILE=default")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = sink, &stderr
	if err := cmd.Run(); err != nil {
		return logRun{}, fmt.Errorf("hangar logs --follow %s: %v: %s", id, err, lastLine(stderr.String()))
	}
	return logRun{id: id, wall: time.Since(t0), lines: sink.lines, bytes: sink.bytes, sum: sink.sum(),
		clientCPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}, nil
}

// cleanEnv is this process's environment without HANGAR_* and AWS
// credential settings, so that only what followLogCLI sets reaches the CLI.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "HANGAR_") || strings.HasPrefix(k, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// logRun is what one followed build showed the client.
type logRun struct {
	id                  string
	wall                time.Duration // StartBuild sent → Follow returned
	firstLine, buildEnd time.Duration // since StartBuild was sent
	build               time.Duration // the BUILD phase, by the runner's clock
	lines, bytes        int
	sum                 string
	clientCPU           time.Duration // the CLI's, when it was the client
}

func followLogBuild(ctx context.Context, e *env) (logRun, error) {
	cb := e.codebuild()
	sink := newLineSink()
	f := &remote.Follower{Builds: cb, Logs: e.logs(), Out: sink, Status: io.Discard, Poll: remote.HangarPoll()}
	t0 := time.Now()
	out, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("logs")})
	if err != nil {
		return logRun{}, err
	}
	id := aws.ToString(out.Build.Id)
	b, stats, err := f.Follow(ctx, id)
	wall := time.Since(t0)
	if err != nil {
		return logRun{}, fmt.Errorf("follow %s: %w", id, err)
	}
	if b.BuildStatus != types.StatusTypeSucceeded {
		return logRun{}, fmt.Errorf("build %s ended %s", id, b.BuildStatus)
	}
	run := logRun{id: id, wall: wall, firstLine: stats.FirstLine.Sub(t0), lines: sink.lines, bytes: sink.bytes, sum: sink.sum()}
	for _, p := range b.Phases {
		if p.PhaseType == types.BuildPhaseTypeBuild && p.EndTime != nil {
			run.build = remote.PhaseDuration(p)
			run.buildEnd = p.EndTime.Sub(t0)
		}
	}
	return run, nil
}

// lineSink counts and hashes the lines written to it, leaving out the
// runner's own "[Container] …" agent lines (the build's are all digits).
type lineSink struct {
	h       hash.Hash
	partial []byte
	lines   int
	bytes   int
}

func newLineSink() *lineSink { return &lineSink{h: sha256.New()} }

func (s *lineSink) Write(p []byte) (int, error) {
	n := len(p)
	if len(s.partial) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.partial = append(s.partial, p...)
			return n, nil
		}
		s.partial = append(s.partial, p[:i+1]...)
		s.line(s.partial)
		s.partial = s.partial[:0]
		p = p[i+1:]
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.partial = append(s.partial, p...)
			break
		}
		s.line(p[:i+1])
		p = p[i+1:]
	}
	return n, nil
}

func (s *lineSink) line(l []byte) {
	if bytes.HasPrefix(l, []byte("[Container] ")) {
		return
	}
	s.h.Write(l)
	s.lines++
	s.bytes += len(l)
}

// sum is the SHA-256 of the lines so far, an unfinished one included.
func (s *lineSink) sum() string {
	h := s.h
	if len(s.partial) > 0 {
		s.line(s.partial)
		s.partial = s.partial[:0]
	}
	return hex.EncodeToString(h.Sum(nil))
}

// progress says on stderr what is being measured: a long run should not
// look hung.
func progress(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "  … "+format+"\n", a...)
}

// mbps is a rate in MB/s (10^6 bytes).
func mbps(n int, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }

// startProfiles starts a CPU profile of this process and asks the runner
// for one of profileSeconds; the returned func saves both into dir.
func startProfiles(e *env, dir string) (func() error, error) {
	if e.pprof == "" {
		return nil, fmt.Errorf("the runner was not started with --pprof")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	client, err := os.Create(filepath.Join(dir, "client.cpu.pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(client); err != nil {
		client.Close()
		return nil, err
	}
	// The runner's profile covers a fixed time, so it is asked for the
	// length of a run at the bar's pace, and the run waits for it.
	const profileSeconds = 3
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("%sprofile?seconds=%d", e.pprof, profileSeconds))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(filepath.Join(dir, "runner.cpu.pprof"))
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, resp.Body)
		done <- errors.Join(err, f.Close())
	}()
	return func() error {
		pprof.StopCPUProfile()
		cerr := client.Close()
		return errors.Join(<-done, cerr)
	}, nil
}
