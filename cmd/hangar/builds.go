package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newBuildsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "builds",
		Short: "(not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return &exitError{code: exitUsage, err: errors.New("builds is not built yet")}
		},
	}
}
