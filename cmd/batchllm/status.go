package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchllm/batchllm/queue"
)

func newStatusCmd() *cobra.Command {
	var qf queueFlags
	cmd := &cobra.Command{
		Use:   "status --queue postgres://… [RUN…]",
		Short: "Show each open queued run's counts, spend and workers",
		Long: `Status shows, for each open run of the work queue (or for the runs named),
its items done (ok and failed), queued and in flight, its spend so far, and
the workers working on it with the time each was last seen.`,
		Example: `  batchllm status --queue postgres://batchllm@db.internal:5432/batchllm`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if qf.url == "" {
				return usageErr("--queue is required")
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			q, closeQ, err := openQueue(cmd.Context(), qf, log)
			if err != nil {
				return usageErr("%v", err)
			}
			defer closeQ()
			return printStatus(cmd.Context(), q, args, cmd.OutOrStdout())
		},
	}
	addQueueFlags(cmd.Flags(), &qf, false)
	return cmd
}

// printStatus writes the status of the runs named, or of every open run.
func printStatus(ctx context.Context, q *queue.Queue, ids []string, w io.Writer) error {
	if len(ids) == 0 {
		runs, err := q.OpenRuns(ctx)
		if err != nil {
			return &exitError{code: exitFailed, err: err}
		}
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		if len(ids) == 0 {
			fmt.Fprintln(w, "no open run")
			return nil
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	now := time.Now()
	for i, id := range ids {
		s, err := q.Status(ctx, id)
		if err != nil {
			return &exitError{code: exitFailed, err: err}
		}
		if i > 0 {
			fmt.Fprintln(tw)
		}
		state := "open"
		switch {
		case s.Stopped != "":
			state = "stopped: " + s.Stopped
		case s.Finished:
			state = "finished"
		}
		fmt.Fprintf(tw, "run %s\t%s, created %s\n", s.ID, state, s.CreatedAt.Local().Format(time.DateTime))
		fmt.Fprintf(tw, "  items\t%d: %d done (%d ok, %d failed), %d queued, %d in flight\n", s.Items, s.Done(), s.Succeeded, s.Failed, s.Queued, s.Running)
		fmt.Fprintf(tw, "  spent\t%s (%d tokens in, %d out)\n", s.Spent, s.Usage.InputTokens, s.Usage.OutputTokens)
		if len(s.Workers) == 0 {
			fmt.Fprintf(tw, "  workers\tnone\n")
		}
		for j, wk := range s.Workers {
			label := ""
			if j == 0 {
				label = "workers"
			}
			fmt.Fprintf(tw, "  %s\t%s (host %s, pid %d): %d result(s), seen %s ago\n", label, wk.ID, wk.Host, wk.PID, wk.Results, now.Sub(wk.SeenAt).Round(time.Second))
		}
	}
	return nil
}
