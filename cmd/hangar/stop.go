package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newStopCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "stop",
		Short: "(not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return &exitError{code: exitUsage, err: errors.New("stop is not built yet")}
		},
	}
}
