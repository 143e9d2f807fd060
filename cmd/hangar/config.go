package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newConfigCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "(not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return &exitError{code: exitUsage, err: errors.New("config is not built yet")}
		},
	}
}
