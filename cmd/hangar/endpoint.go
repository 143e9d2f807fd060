package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hangarci/hangar/internal/target"
)

// endpointInfo is what `hangar endpoint --json` prints.
type endpointInfo struct {
	Target          string            `json:"target"`
	Endpoint        string            `json:"endpoint,omitempty"`
	CredentialsFile string            `json:"credentialsFile,omitempty"`
	Region          string            `json:"region"`
	Env             map[string]string `json:"env"`
	Unset           []string          `json:"unset,omitempty"`
}

func newEndpointCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "endpoint",
		Short: "Print the settings the aws CLI needs to talk to the runner",
		Long: `Print, as shell exports, what the aws CLI (and boto3, the SDKs, Terraform)
needs to talk to the runner this configuration uses, starting the embedded
runner if it is not running:

    eval "$(hangar endpoint)"
    aws codebuild list-projects

--json prints the same as a JSON object.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig(cmd)
			if err != nil {
				return err
			}
			t, err := g.openTarget(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			info := endpointInfo{Target: t.Kind, Endpoint: t.Endpoint, CredentialsFile: t.CredentialsFile, Region: t.Config.Region, Env: map[string]string{}}
			var comment string
			switch t.Kind {
			case target.Embedded:
				// The runner's own key, whatever else the shell has set.
				info.Env["AWS_ENDPOINT_URL"] = t.Endpoint
				info.Env["AWS_SHARED_CREDENTIALS_FILE"] = t.CredentialsFile
				info.Env["AWS_PROFILE"] = "default"
				info.Unset = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
				comment = "# the embedded hangar runner; it stops when idle, and `hangar endpoint` starts it again"
			case target.Server:
				info.Env["AWS_ENDPOINT_URL"] = t.Endpoint
				comment = "# a hangar server; use an access key it issued (hangar server writes one to <state>/credentials)"
			default:
				comment = "# target aws: the aws CLI uses your own AWS credentials"
			}
			// The SDKs read AWS_REGION, the aws CLI AWS_DEFAULT_REGION.
			info.Env["AWS_REGION"] = info.Region
			info.Env["AWS_DEFAULT_REGION"] = info.Region
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			fmt.Fprintln(out, comment)
			for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
				if v, ok := info.Env[k]; ok {
					fmt.Fprintf(out, "export %s=%s\n", k, shellQuote(v))
				}
			}
			if len(info.Unset) > 0 {
				fmt.Fprintf(out, "unset %s\n", strings.Join(info.Unset, " "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@%+=,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
