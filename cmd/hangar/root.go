package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// Exit codes shared by every command (DESIGN §3).
const (
	exitUsage  = 2   // config or usage error, nothing started
	exitRunner = 125 // the runner failed or cannot be reached
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "hangar",
		Short:         "Run build and deploy commands on a CodeBuild-compatible runner",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	g := &globals{}
	g.register(root)
	root.AddCommand(
		newServerCmd(),
		// The remote run and its companions.
		newRunCmd(g), newLogsCmd(g), newStopCmd(g), newBuildsCmd(g), newStatusCmd(g), newFleetsCmd(g),
		// Set-up and configuration.
		newBootstrapCmd(g), newConfigCmd(g), newParamCmd(g), newSecretCmd(g), newKeysCmd(g), newEndpointCmd(g),
	)
	return root
}

func run(args []string) int {
	root := newRoot()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "hangar:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "hangar:", err)
	// cobra's own errors (unknown flags, bad args) are usage errors.
	return exitUsage
}
