package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newBootstrapCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "bootstrap",
		Short: "(not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return &exitError{code: exitUsage, err: errors.New("bootstrap is not built yet")}
		},
	}
}
