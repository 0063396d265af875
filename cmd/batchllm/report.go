package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/batchllm/batchllm/report"
)

// newReportCmd is `batchllm report JOURNAL -o report.html`.
func newReportCmd() *cobra.Command {
	var out, title string
	cmd := &cobra.Command{
		Use:   "report [flags] JOURNAL",
		Short: "Write one self-contained HTML page that shows how a run went, from its journal",
		Long: `Report reads the journal of a run (batchllm run --journal FILE) and writes one
HTML file that opens anywhere without network access: the chart library, the
page and the data are inline.

The page shows the items done, failed and left, with the rate and ETA;
throughput against the rate limits in force (told or learned), with 429s
and cooldowns marked; tokens (input, cached, output) per minute against the
token limit; results per minute; cost over time against the projected total
and the estimate; item and call latency percentiles and a histogram;
attempts per item; failed attempts (retries) by class; failed items by
class and finish reasons; the failures grouped by class and message, with
example item ids, searchable; the latest cooldowns; the limits in force; and
each run's configuration (never a key).

A journal written before attempt records existed, or compacted, has only the
items' results: the page shows what they hold and says what it cannot show.

The journal may belong to a run that is still going (report takes no lock);
for a view that updates itself, use 'batchllm run --ui 127.0.0.1:PORT'.`,
		Example: `  batchllm report run.journal -o report.html
  batchllm report --title "nightly eval" run.journal -o - > nightly.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if _, err := os.Stat(path); err != nil {
				return usageErr("%v", err)
			}
			if title == "" {
				title = "batchllm run · " + filepath.Base(path)
			}
			b := report.NewBuilder(report.Options{Title: title, Source: path})
			if err := b.FromJournal(path); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			var buf bytes.Buffer
			if err := report.Render(&buf, b.Data()); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if out == "-" {
				_, err := cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "batchllm: report written to %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "report.html", `HTML file to write ("-": standard output)`)
	cmd.Flags().StringVar(&title, "title", "", "the page's title (default: the journal's file name)")
	return cmd
}
