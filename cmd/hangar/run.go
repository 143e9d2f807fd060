package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newRunCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "(not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return &exitError{code: exitUsage, err: errors.New("run is not built yet")}
		},
	}
}
