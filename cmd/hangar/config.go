package main

import (
	"github.com/spf13/cobra"
)

func newConfigCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration and where each value comes from",
		Long: `Print every effective value of hangar.yml, its overlay, HANGAR_* variables
and flags, each with its source (file:line, env HANGAR_X, flag, default or
derived). A bad file is reported as file:line: key: problem (exit code 2).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig(cmd)
			if err != nil {
				return err
			}
			return cfg.Render(cmd.OutOrStdout())
		},
	}
}
