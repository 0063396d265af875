// Command batchllm runs large batches of LLM requests within provider rate
// limits and budgets. Each subcommand lives in its own file.
package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:          "batchllm",
		Short:        "Run many LLM requests in parallel within rate limits and budgets",
		SilenceUsage: true,
	}
	root.AddCommand(newSimCommand(), newBenchCommand())
	if err := root.ExecuteContext(context.Background()); err != nil {
		os.Exit(1)
	}
}
