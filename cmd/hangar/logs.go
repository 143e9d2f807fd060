package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newLogsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "logs",
		Short: "(not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return &exitError{code: exitUsage, err: errors.New("logs is not built yet")}
		},
	}
}
