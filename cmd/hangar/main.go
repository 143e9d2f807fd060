// Command hangar runs build and deploy commands on a remote runner that
// speaks the AWS CodeBuild API, and is that runner (`hangar server`).
package main

import (
	"os"

	"github.com/hangarci/hangar/internal/sandbox"
)

func main() {
	// A sandbox's init process is this binary re-executed; it must not
	// reach the CLI.
	if sandbox.IsInit() {
		sandbox.InitMain()
		return
	}
	os.Exit(run(os.Args[1:]))
}
