package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "batchllm",
		Short:         "Run thousands of LLM requests in parallel, within rate limits and budgets",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.AddCommand(newRunCmd(), newEstimateCmd(), newSimCommand(), newBenchCommand(), newReportCmd(), newWorkerCmd(), newStatusCmd())
	os.Exit(execute(root))
}

// execute runs the command tree and turns its error into an exit status:
// an *exitError carries its own; any other error is a usage error (cobra's
// unknown flags and wrong argument counts).
func execute(root *cobra.Command) int {
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return exitOK
	}
	ee, ours := errors.AsType[*exitError](err)
	if !ours { // cobra's own: an unknown flag, a missing argument
		fmt.Fprintf(root.ErrOrStderr(), "batchllm: %v\nRun 'batchllm help' for usage.\n", err)
		return exitUsage
	}
	if ee.err != nil {
		fmt.Fprintf(root.ErrOrStderr(), "batchllm: %s\n", withoutPrefix(ee.err.Error()))
	}
	return ee.code
}

// withoutPrefix drops the "batchllm: " that the library's errors start
// with, so that a message printed after the command's own prefix does not
// say it twice.
func withoutPrefix(msg string) string {
	for strings.HasPrefix(msg, "batchllm: ") {
		msg = strings.TrimPrefix(msg, "batchllm: ")
	}
	return msg
}
