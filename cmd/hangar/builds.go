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

func newBuildsCmd(g *globals) *cobra.Command {
	var limit int
	var output string
	cmd := &cobra.Command{
		Use:   "builds",
		Short: "List recent builds of the project (remote and remote-lambda)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if limit < 1 {
				return &exitError{code: exitUsage, err: fmt.Errorf("--limit %d: must be at least 1", limit)}
			}
			cfg, _, c, err := g.remoteClient(cmd)
			if err != nil {
				return err
			}
			builds, err := c.Recent(cmd.Context(), []string{cfg.ProjectName(), cfg.LambdaProjectName()}, limit)
			if err != nil {
				return apiExit(err)
			}
			now := time.Now()
			out := cmd.OutOrStdout()
			if output == "json" {
				type row struct {
					ID         string     `json:"buildId"`
					Project    string     `json:"project"`
					Status     string     `json:"status"`
					Phase      string     `json:"currentPhase"`
					Start      *time.Time `json:"startTime,omitempty"`
					End        *time.Time `json:"endTime,omitempty"`
					DurationMs int64      `json:"durationMs"`
				}
				rows := make([]row, 0, len(builds))
				for _, b := range builds {
					rows = append(rows, row{aws.ToString(b.Id), aws.ToString(b.ProjectName), string(b.BuildStatus), aws.ToString(b.CurrentPhase), b.StartTime, b.EndTime, remote.BuildDuration(b, now).Milliseconds()})
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			if len(builds) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "hangar: no builds yet")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BUILD\tSTATUS\tSTARTED\tDURATION")
			for _, b := range builds {
				started := "-"
				if b.StartTime != nil {
					started = b.StartTime.Local().Format("2006-01-02 15:04:05")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", aws.ToString(b.Id), b.BuildStatus, started, remote.FormatDuration(remote.BuildDuration(b, now)))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "show at most this many builds")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
