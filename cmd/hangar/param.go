package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newParamCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "param",
		Short: "(not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return &exitError{code: exitUsage, err: errors.New("param is not built yet")}
		},
	}
}
