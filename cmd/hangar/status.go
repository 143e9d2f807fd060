package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/hangarci/hangar/internal/remote"
)

func newStatusCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status BUILD",
		Short: "Show a build's status and phases with their durations and contexts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cfg, _, c, err := g.remoteClient(cmd)
			if err != nil {
				return err
			}
			b, err := c.Resolve(cmd.Context(), args[0], cfg.ProjectName(), cfg.LambdaProjectName())
			if err != nil {
				return apiExit(err)
			}
			out := cmd.OutOrStdout()
			dur := remote.BuildDuration(b, time.Now())
			if output == "json" {
				v := struct {
					ID         string               `json:"buildId"`
					Project    string               `json:"project"`
					Status     string               `json:"status"`
					Complete   bool                 `json:"complete"`
					Phase      string               `json:"currentPhase"`
					Start      *time.Time           `json:"startTime,omitempty"`
					End        *time.Time           `json:"endTime,omitempty"`
					DurationMs int64                `json:"durationMs"`
					ExitCode   *int                 `json:"exitCode,omitempty"`
					Phases     []remote.PhaseResult `json:"phases"`
				}{aws.ToString(b.Id), aws.ToString(b.ProjectName), string(b.BuildStatus), b.BuildComplete, aws.ToString(b.CurrentPhase),
					b.StartTime, b.EndTime, dur.Milliseconds(), nil, remote.Phases(b)}
				if b.BuildComplete {
					code := remote.ExitCode(b)
					v.ExitCode = &code
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			fmt.Fprintf(out, "build    %s\n", aws.ToString(b.Id))
			fmt.Fprintf(out, "status   %s", b.BuildStatus)
			if b.BuildComplete {
				fmt.Fprintf(out, " (exit code %d)", remote.ExitCode(b))
			} else {
				fmt.Fprintf(out, " (in %s)", aws.ToString(b.CurrentPhase))
			}
			fmt.Fprintln(out)
			if b.StartTime != nil {
				fmt.Fprintf(out, "started  %s\n", b.StartTime.Local().Format("2006-01-02 15:04:05"))
			}
			fmt.Fprintf(out, "duration %s\n\n", remote.FormatDuration(dur))
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PHASE\tSTATUS\tDURATION\tCONTEXT")
			for _, p := range remote.Phases(b) {
				st := p.Status
				if st == "" {
					st = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Type, st, remote.FormatDuration(time.Duration(p.DurationMs*float64(time.Millisecond))), p.Context)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
