package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/hangarci/hangar/internal/bytesize"
	"github.com/hangarci/hangar/internal/envrules"
	"github.com/hangarci/hangar/internal/pack"
)

// Place is where a run goes: the bucket its source is uploaded to and the
// project it is built in (what bootstrap made).
type Place struct {
	Bucket  string
	Project string
}

// RunOptions describe one remote run.
type RunOptions struct {
	// Root is the working tree to pack.
	Root string
	Pack pack.Options
	// Argv is the command to run; when empty, Buildspec (YAML, read by the
	// caller from the tree or --buildspec) is run instead.
	Argv      []string
	Buildspec string

	// EnvRules with Environ (os.Environ form) and Explicit (-e) make the
	// build's variable overrides; Hangar adds HANGAR_SOURCE and
	// HANGAR_RUN_ID.
	EnvRules *envrules.Rules
	Environ  []string
	Explicit map[string]string

	ComputeType    string // computeTypeOverride
	Image          string // imageOverride
	TimeoutMinutes int    // timeoutInMinutesOverride; 0 keeps the project's
	FleetArn       string // fleetOverride

	// Archive uploads one zip even to a Hangar runner (the AWS way), so
	// that path can be checked against a runner at hand.
	Archive bool

	// Detach returns as soon as the build is started.
	Detach bool
	// RunID names this run (HANGAR_RUN_ID, the idempotency token); a new
	// one is made when empty.
	RunID string

	// Connect reaches the runner and makes sure its resources exist. Run
	// calls it while it packs the tree. Its errors are returned as they are
	// when they are *Error, else as ExitRunner.
	Connect func(ctx context.Context) (*Client, Place, error)
	// Started is called once the build is started, before it is followed.
	Started func(id string)

	// Stdout gets the build's log, Stderr what hangar says.
	Stdout, Stderr io.Writer
	// TTY: Stderr is a terminal (phase progress in place).
	TTY bool
	// Verbose says more about packing and uploading.
	Verbose bool
	Now     func() time.Time
}

// Error is a failure that maps to an exit code.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func usage(err error) error  { return &Error{Code: ExitUsage, Err: err} }
func runner(err error) error { return &Error{Code: ExitRunner, Err: err} }

// Run packs, uploads, starts and follows one build. The Result is
// complete when the error is nil; when ctx ends while the build runs, Run
// returns a Result with Detached set (exit code 130) and a nil error.
// Errors before a build started are *Error (usage: 2, runner: 125) or ctx's.
func Run(ctx context.Context, o RunOptions) (*Result, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	began := now()
	res := &Result{RunID: o.RunID}
	if res.RunID == "" {
		res.RunID = uuid.NewString()
	}
	spec := o.Buildspec
	if len(o.Argv) > 0 {
		spec = CommandBuildspec(o.Argv)
		res.Command = ShellQuote(o.Argv)
	}
	if spec == "" {
		return nil, usage(errors.New("no command and no buildspec to run"))
	}
	// Check the variables before anything is sent.
	runnerVars := func(src string) map[string]string {
		return map[string]string{envrules.SourceVar: src, envrules.RunIDVar: res.RunID}
	}
	if _, err := o.EnvRules.Overrides(envrules.Input{Environ: o.Environ, Explicit: o.Explicit, Runner: runnerVars("s3://check")}); err != nil {
		return nil, usage(fmt.Errorf("environment variables: %w", err))
	}

	// Pack, read git metadata, and reach the runner (then list its blobs),
	// all at once.
	type scanned struct {
		m   *pack.Manifest
		err error
		d   time.Duration
	}
	type gitted struct {
		info pack.Info
		d    time.Duration
	}
	type connected struct {
		c     *Client
		place Place
		err   error
		d     time.Duration
	}
	type listed struct {
		have map[string]bool
		err  error
		d    time.Duration
	}
	scanc, gitc, connc, listc := make(chan scanned, 1), make(chan gitted, 1), make(chan connected, 1), make(chan listed, 1)
	lctx, stopList := context.WithCancel(ctx)
	defer stopList()
	var scanDone atomic.Bool
	go func() {
		t := now()
		m, err := pack.Scan(ctx, o.Root, o.Pack)
		scanDone.Store(true)
		scanc <- scanned{m, err, now().Sub(t)}
	}()
	go func() {
		t := now()
		info, _ := pack.GitInfo(ctx, o.Root)
		gitc <- gitted{info, now().Sub(t)}
	}()
	go func() {
		var r connected
		t := now()
		r.c, r.place, r.err = o.Connect(ctx)
		r.d = now().Sub(t)
		connc <- r
		// Listing the runner's blobs is only needed when it lacks this
		// tree's manifest. It starts at once while the tree is still being
		// scanned (big trees: the listing is hidden behind the scan);
		// otherwise the manifest is asked for first, and a listing would
		// only compete with that request.
		if r.err != nil || !r.c.Hangar || o.Archive || scanDone.Load() {
			close(listc)
			return
		}
		t = now()
		have, err := r.c.ListBlobs(lctx, r.place.Bucket)
		listc <- listed{have, err, now().Sub(t)}
	}()
	sc, cn := <-scanc, <-connc
	res.Timings.Scan, res.Timings.Connect = ms(sc.d), ms(cn.d)
	// Git metadata is for people (and the AWS archive's name): a Hangar run
	// does not wait for it until the build is started.
	var gi gitted
	gitDone := false
	waitGit := func() pack.Info {
		if !gitDone {
			gi, gitDone = <-gitc, true
			res.Timings.Git = ms(gi.d)
			res.Git = gitResult(gi.info)
		}
		return gi.info
	}
	defer waitGit()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if sc.err != nil {
		return nil, usage(fmt.Errorf("pack %s: %w", o.Root, sc.err))
	}
	if cn.err != nil {
		var e *Error
		if errors.As(cn.err, &e) || errors.Is(cn.err, context.Canceled) {
			return nil, cn.err
		}
		return nil, runner(cn.err)
	}
	c, place, m := cn.c, cn.place, sc.m
	if place.Bucket == "" {
		return nil, runner(errNoBucket)
	}
	if place.Project == "" {
		return nil, usage(errors.New("no project to run in (is codebuild.lambda.enable on for --lambda?)"))
	}
	res.Project = place.Project
	res.Source.Files = m.Report.Files
	res.Source.Bytes = m.Report.Bytes
	res.Source.Hashed = m.Report.Hashed
	for _, w := range m.Report.Warnings {
		fmt.Fprintln(o.Stderr, "hangar: warning:", w)
	}
	packed := func() {
		fmt.Fprintf(o.Stderr, "hangar: packed %s: %d files, %s%s\n", o.Root, m.Report.Files, bytesize.Format(m.Report.Bytes), gitLabel(waitGit()))
	}
	if !c.Hangar {
		packed()
	}

	// Upload.
	t := now()
	var src Source
	var err error
	if c.Hangar && !o.Archive {
		// A manifest is put only after all its blobs: when the runner has
		// this one, it has the whole tree, and the listing is not needed.
		var found bool
		src, found, err = c.HasManifest(ctx, place.Bucket, m)
		if err == nil && found {
			stopList()
			res.Upload = UploadStats{Blobs: len(m.Blobs())}
		} else if err == nil {
			l, ok := <-listc
			if !ok { // not listed ahead: list now
				t := now()
				l.have, l.err = c.ListBlobs(ctx, place.Bucket)
				l.d = now().Sub(t)
			}
			res.Timings.List = ms(l.d)
			if err = l.err; err == nil {
				src, res.Upload, err = c.UploadManifest(ctx, place.Bucket, o.Root, m, l.have)
			}
		}
	} else {
		src, res.Upload, err = c.UploadArchive(ctx, place.Bucket, ArchiveKey(now(), waitGit()), o.Root, m)
	}
	res.Timings.Upload = ms(now().Sub(t))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, runner(err)
	}
	res.Source.Location = src.Location
	res.BytesSent = res.Upload.BytesSent
	if o.Verbose {
		fmt.Fprintf(o.Stderr, "hangar: sent %d of %d blobs, %s in all (%s)\n", res.Upload.BlobsSent, res.Upload.Blobs, bytesize.Format(res.Upload.BytesSent), FormatDuration(now().Sub(t)))
	}

	// Start. A Ctrl-C now must not lose the id of a build that did start.
	vars, err := o.EnvRules.Overrides(envrules.Input{Environ: o.Environ, Explicit: o.Explicit, Runner: runnerVars(src.URI)})
	if err != nil {
		return nil, usage(fmt.Errorf("environment variables: %w", err))
	}
	in := &codebuild.StartBuildInput{
		ProjectName:                  aws.String(place.Project),
		BuildspecOverride:            aws.String(spec),
		SourceTypeOverride:           types.SourceTypeS3,
		SourceLocationOverride:       aws.String(src.Location),
		EnvironmentVariablesOverride: envrules.SDK(vars),
		IdempotencyToken:             aws.String(res.RunID),
	}
	if o.ComputeType != "" {
		in.ComputeTypeOverride = types.ComputeType(o.ComputeType)
	}
	if o.Image != "" {
		in.ImageOverride = aws.String(o.Image)
	}
	if o.TimeoutMinutes > 0 {
		in.TimeoutInMinutesOverride = aws.Int32(int32(o.TimeoutMinutes))
	}
	if o.FleetArn != "" {
		in.FleetOverride = &types.ProjectFleet{FleetArn: aws.String(o.FleetArn)}
	}
	t = now()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	out, err := c.CodeBuild.StartBuild(sctx, in)
	cancel()
	res.Timings.Start = ms(now().Sub(t))
	if err != nil {
		err = fmt.Errorf("start build in project %s: %w", place.Project, err)
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "InvalidInputException" {
			return nil, usage(err)
		}
		return nil, runner(err)
	}
	b := *out.Build
	res.BuildID = aws.ToString(b.Id)
	if o.Started != nil {
		o.Started(res.BuildID)
	}
	if c.Hangar {
		packed()
	}
	if !o.TTY || o.Detach {
		fmt.Fprintf(o.Stderr, "hangar: started %s\n", res.BuildID)
	}
	if o.Detach {
		res.fill(b)
		res.Detached = true
		res.ExitCode = ExitSucceeded
		res.Timings.Total = ms(now().Sub(began))
		return res, nil
	}

	// Follow.
	f := c.Follower()
	f.Out, f.Status, f.TTY, f.Now = o.Stdout, o.Stderr, o.TTY, now
	t = now()
	fb, stats, err := f.Follow(ctx, res.BuildID)
	res.Timings.Follow = ms(now().Sub(t))
	res.Timings.Total = ms(now().Sub(began))
	res.Log = LogStats{Lines: stats.Lines, Bytes: stats.Bytes, Polls: stats.Polls}
	if !stats.FirstLine.IsZero() {
		res.Timings.FirstLine = ms(stats.FirstLine.Sub(began))
	}
	if err != nil {
		if ctx.Err() != nil {
			res.fill(b)
			if fb.Id != nil {
				res.fill(fb)
			}
			res.Detached = true
			res.ExitCode = ExitDetached
			return res, nil
		}
		return res, runner(err)
	}
	res.fill(fb)
	fmt.Fprintln(o.Stderr, "hangar:", Summary(fb))
	if res.Failure != "" {
		fmt.Fprintln(o.Stderr, "hangar:", res.Failure)
	}
	return res, nil
}
