package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newSecretCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "secret",
		Short: "(not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return &exitError{code: exitUsage, err: errors.New("secret is not built yet")}
		},
	}
}
