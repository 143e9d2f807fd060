package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newEndpointCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "endpoint",
		Short: "(not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return &exitError{code: exitUsage, err: errors.New("endpoint is not built yet")}
		},
	}
}
