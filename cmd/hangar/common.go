package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangarci/hangar/internal/config"
	"github.com/hangarci/hangar/internal/target"
)

// globals are the flags every command takes.
type globals struct {
	env      string
	target   string
	endpoint string
	region   string
	dir      string
	state    string
	verbose  bool
}

func (g *globals) register(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&g.env, "env", "", "environment (HANGAR_ENV; default dev): picks hangar.<env>.yml and names the namespace")
	f.StringVar(&g.target, "target", "", "embedded, server or aws (HANGAR_TARGET)")
	f.StringVar(&g.endpoint, "endpoint", "", "URL of a hangar server for --target server (HANGAR_ENDPOINT)")
	f.StringVar(&g.region, "region", "", "region (HANGAR_REGION)")
	f.StringVarP(&g.dir, "dir", "C", "", "run as if started in this directory")
	f.StringVar(&g.state, "state", "", "state dir of the embedded runner (default $XDG_STATE_HOME/hangar)")
	f.BoolVarP(&g.verbose, "verbose", "v", false, "say more about what happens")
}

// flags turns the global flags that were set into config flags.
func (g *globals) flags(cmd *cobra.Command) []config.Flag {
	var out []config.Flag
	add := func(name, key, value string) {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			out = append(out, config.Flag{Name: "--" + name, Key: key, Value: value})
		}
	}
	add("env", "env", g.env)
	add("target", "target", g.target)
	add("endpoint", "endpoint", g.endpoint)
	add("region", "region", g.region)
	return out
}

// loadConfig loads hangar.yml with the command's flags on top. extra are
// the command's own flags that set config keys.
func (g *globals) loadConfig(cmd *cobra.Command, extra ...config.Flag) (*config.Config, error) {
	cfg, err := config.Load(config.Options{
		Dir:     g.dir,
		Environ: os.Environ(),
		Flags:   append(g.flags(cmd), extra...),
	})
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "hangar: warning:", w)
	}
	return cfg, nil
}

// openTarget reaches the runner the configuration names, starting the
// embedded one if needed. Failing to reach it is exit code 125.
func (g *globals) openTarget(ctx context.Context, cfg *config.Config) (*target.Target, error) {
	opts := target.Options{
		Kind:     string(cfg.Target),
		Endpoint: cfg.Endpoint,
		Region:   cfg.Region,
		StateDir: g.state,
	}
	// How long a started embedded runner waits with nothing to do before it
	// stops (default 15m); tests shorten it.
	if v := os.Getenv("HANGAR_EMBEDDED_IDLE_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("HANGAR_EMBEDDED_IDLE_TIMEOUT: %w", err)}
		}
		opts.IdleTimeout = d
	}
	t, err := target.Open(ctx, opts)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, &exitError{code: exitRunner, err: err}
	}
	return t, nil
}
