package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangarci/hangar/internal/bootstrap"
	"github.com/hangarci/hangar/internal/envrules"
	"github.com/hangarci/hangar/internal/pack"
	"github.com/hangarci/hangar/internal/remote"
)

type runFlags struct {
	lambda    bool
	compute   string
	image     string
	timeout   string
	fleet     string
	envVars   []string
	buildspec string
	detach    bool
	artifacts string
	output    string
	upload    string
}

func newRunCmd(g *globals) *cobra.Command {
	var rf runFlags
	created := time.Now()
	cmd := &cobra.Command{
		Use:   "run [flags] [-- COMMAND ARGS…]",
		Short: "Run a command (or the tree's buildspec.yml) on the runner, streaming its output",
		Long: `Pack the working tree, ship it to the runner, run COMMAND there (or, with
no COMMAND, the tree's buildspec.yml), stream the output and exit with the
command's exit code: 0 on success, the failing command's status, 124 on
timeout, 143 when stopped, 125 when the runner failed, 2 for usage errors,
130 when Ctrl-C detached (the build goes on).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd, g, &rf, args, created)
		},
	}
	// Everything after the first argument is the command's.
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.BoolVar(&rf.lambda, "lambda", false, "run in the <ns>-remote-lambda project (codebuild.lambda.enable)")
	f.StringVar(&rf.compute, "compute", "", "compute type for this build (e.g. BUILD_GENERAL1_LARGE)")
	f.StringVar(&rf.image, "image", "", "image for this build")
	f.StringVar(&rf.timeout, "timeout", "", "build timeout: minutes, or a duration such as 90m or 2h")
	f.StringVar(&rf.fleet, "fleet", "", "fleet ARN to run on (default: codebuild.fleet_override)")
	f.StringArrayVarP(&rf.envVars, "env-var", "e", nil, "set a build variable KEY=VALUE (repeatable; SSM:/SECRET: values are references)")
	f.StringVar(&rf.buildspec, "buildspec", "", "buildspec file to run when there is no COMMAND (default: the tree's buildspec.yml)")
	f.BoolVar(&rf.detach, "detach", false, "start the build and return at once, printing its id")
	f.StringVar(&rf.artifacts, "artifacts", "", "download the build's artifacts to DIR (not supported yet)")
	f.StringVarP(&rf.output, "output", "o", "text", "text, or json: one JSON object at the end, for scripts")
	f.StringVar(&rf.upload, "upload", "auto", "auto, or archive: one zip as for AWS, even to a Hangar runner")
	f.MarkHidden("upload")
	return cmd
}

func runRun(cmd *cobra.Command, g *globals, rf *runFlags, argv []string, created time.Time) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := checkOutput(rf.output); err != nil {
		return err
	}
	if rf.upload != "auto" && rf.upload != "archive" {
		return &exitError{code: exitUsage, err: fmt.Errorf("--upload: %q is not auto or archive", rf.upload)}
	}
	if rf.artifacts != "" {
		return &exitError{code: exitUsage, err: errors.New("--artifacts: downloading artifacts is not supported yet")}
	}
	explicit, err := parseEnvVars(rf.envVars)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	minutes, err := parseTimeout(rf.timeout)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if rf.buildspec != "" && len(argv) > 0 {
		return &exitError{code: exitUsage, err: errors.New("--buildspec runs a buildspec instead of a COMMAND: give one or the other")}
	}
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return err
	}
	rules, err := envrules.New(cfg.EnvSpec())
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("codebuild.project.env: %w", err)}
	}
	if rf.lambda && !cfg.CodeBuild.Lambda.Enable {
		return &exitError{code: exitUsage, err: errors.New("--lambda needs codebuild.lambda.enable: true in hangar.yml")}
	}
	var spec string
	if len(argv) == 0 {
		if spec, err = readBuildspec(g, cfg.Root, rf.buildspec); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
	}
	fleet := rf.fleet
	if fleet == "" && !rf.lambda {
		// The override is the <ns>-remote project's; Jets also sent it to the
		// Lambda project, which cannot run on it.
		fleet = cfg.CodeBuild.FleetOverride
	}
	log := g.logger(cmd)
	cacheDir := ""
	if d, err := os.UserCacheDir(); err == nil {
		cacheDir = filepath.Join(d, "hangar", "pack")
	}
	last, lastErr := lastDir()
	runnerKey := g.runnerKey(cfg)

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()

	jsonOut := rf.output == "json"
	logOut := stdout
	if jsonOut {
		// stdout is the JSON object's alone.
		logOut = stderr
	}
	tty := isTerminal(stderr)
	opts := remote.RunOptions{
		Root:           cfg.Root,
		Pack:           pack.Options{AlwaysKeep: cfg.Code.Copy.AlwaysKeep, AlwaysRemove: cfg.Code.Copy.AlwaysRemove, CacheDir: cacheDir},
		Argv:           argv,
		Buildspec:      spec,
		EnvRules:       rules,
		Environ:        os.Environ(),
		Explicit:       explicit,
		ComputeType:    rf.compute,
		Image:          rf.image,
		TimeoutMinutes: minutes,
		FleetArn:       fleet,
		Detach:         rf.detach,
		Archive:        rf.upload == "archive",
		Stdout:         logOut,
		Stderr:         stderr,
		TTY:            tty,
		Verbose:        g.verbose,
		Connect: func(ctx context.Context) (*remote.Client, remote.Place, error) {
			began := time.Now()
			t, err := g.openTarget(ctx, cfg)
			if err != nil {
				return nil, remote.Place{}, err
			}
			opened := time.Now()
			res, err := bootstrap.Ensure(ctx, t, cfg, stderr)
			log.Debug("connected", "open", opened.Sub(began), "bootstrap", time.Since(opened))
			if err != nil {
				if ctx.Err() != nil {
					return nil, remote.Place{}, ctx.Err()
				}
				code := remote.ExitRunner
				if errors.Is(err, bootstrap.ErrConfig) {
					code = exitUsage
				}
				return nil, remote.Place{}, &remote.Error{Code: code, Err: fmt.Errorf("bootstrap: %w", err)}
			}
			place := remote.Place{Bucket: res.Bucket, Project: res.Project}
			if rf.lambda {
				place.Project = res.LambdaProject
			}
			return remote.New(t, log), place, nil
		},
		Started: func(id string) {
			if lastErr != nil {
				return
			}
			project, _, _ := strings.Cut(id, ":")
			err := remote.Remember(last, remote.LastBuild{Root: cfg.Root, Runner: runnerKey, BuildID: id, Project: project, Started: time.Now()})
			if err != nil {
				fmt.Fprintln(stderr, "hangar: warning:", err)
			}
		},
	}
	cli := time.Since(created)
	res, err := remote.Run(ctx, opts)
	if err != nil {
		var re *remote.Error
		if errors.As(err, &re) {
			return &exitError{code: re.Code, err: re.Err}
		}
		if ctx.Err() != nil && cmd.Context().Err() == nil {
			fmt.Fprintln(stderr, "\nhangar: interrupted; no build was started")
			return &exitError{code: remote.ExitDetached}
		}
		return apiExit(err)
	}
	res.Timings.CLI = float64(cli.Microseconds()) / 1000
	res.Timings.Total += res.Timings.CLI
	switch {
	case res.Detached && rf.detach:
		if !jsonOut {
			fmt.Fprintln(stdout, res.BuildID)
		}
	case res.Detached:
		detachNote(stderr, res.BuildID)
	}
	if jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return &exitError{code: exitRunner, err: err}
		}
	}
	if g.verbose {
		t := res.Timings
		log.Debug("timings (ms)", "cli", t.CLI, "scan", t.Scan, "git", t.Git, "connect", t.Connect, "list", t.List,
			"upload", t.Upload, "start", t.Start, "firstLine", t.FirstLine, "follow", t.Follow, "total", t.Total)
	}
	if res.ExitCode != 0 {
		return &exitError{code: res.ExitCode}
	}
	return nil
}

// readBuildspec reads --buildspec (relative to -C) or the tree's
// buildspec.yml, to be sent inline.
func readBuildspec(g *globals, root, file string) (string, error) {
	path := filepath.Join(root, "buildspec.yml")
	if file != "" {
		path = file
		if !filepath.IsAbs(path) && g.dir != "" {
			path = filepath.Join(g.dir, path)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if file == "" && errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("no COMMAND given and no buildspec.yml in %s (hangar run -- COMMAND, or --buildspec FILE)", root)
		}
		return "", fmt.Errorf("read buildspec: %w", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return "", fmt.Errorf("buildspec %s is empty", path)
	}
	return string(b), nil
}

// parseEnvVars parses -e KEY=VALUE values.
func parseEnvVars(vals []string) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(vals))
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("-e %q: want KEY=VALUE", v)
		}
		out[k] = val
	}
	return out, nil
}

// parseTimeout reads --timeout as whole minutes or a Go duration (rounded
// up to a minute).
func parseTimeout(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 {
			return 0, fmt.Errorf("--timeout %s: must be at least 1 minute", s)
		}
		return n, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--timeout %q: want minutes (90) or a duration (90m, 2h)", s)
	}
	return int((d + time.Minute - 1) / time.Minute), nil
}
