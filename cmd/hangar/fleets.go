package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
)

func newFleetsCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "fleets",
		Short: "List the runner's fleets: status, machines, builds running and queued",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			_, _, c, err := g.remoteClient(cmd)
			if err != nil {
				return err
			}
			fleets, err := c.Fleets(cmd.Context())
			if err != nil {
				return apiExit(err)
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				type row struct {
					Name        string `json:"name"`
					Arn         string `json:"arn"`
					Status      string `json:"status"`
					Message     string `json:"statusMessage,omitempty"`
					Machines    int32  `json:"machines"`
					Running     *int   `json:"running,omitempty"`
					Queued      *int   `json:"queued,omitempty"`
					Environment string `json:"environmentType"`
					Compute     string `json:"computeType"`
					Overflow    string `json:"overflowBehavior"`
				}
				rows := make([]row, 0, len(fleets))
				for _, fi := range fleets {
					f := fi.Fleet
					r := row{Name: aws.ToString(f.Name), Arn: aws.ToString(f.Arn), Machines: aws.ToInt32(f.BaseCapacity),
						Environment: string(f.EnvironmentType), Compute: string(f.ComputeType), Overflow: string(f.OverflowBehavior)}
					if f.Status != nil {
						r.Status = string(f.Status.StatusCode)
						if !fi.Counted {
							r.Message = aws.ToString(f.Status.Message)
						}
					}
					if fi.Counted {
						r.Running, r.Queued = &fi.Running, &fi.Queued
					}
					rows = append(rows, r)
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			if len(fleets) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "hangar: no fleets")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "FLEET\tSTATUS\tMACHINES\tRUNNING\tQUEUED\tCOMPUTE\tOVERFLOW")
			for _, fi := range fleets {
				f := fi.Fleet
				status, running, queued := "-", "-", "-"
				if f.Status != nil {
					status = string(f.Status.StatusCode)
					if m := aws.ToString(f.Status.Message); m != "" && !fi.Counted {
						status += " (" + m + ")"
					}
				}
				if fi.Counted {
					running, queued = strconv.Itoa(fi.Running), strconv.Itoa(fi.Queued)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s %s\t%s\n", aws.ToString(f.Name), status, aws.ToInt32(f.BaseCapacity),
					running, queued, f.EnvironmentType, f.ComputeType, f.OverflowBehavior)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
