package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/batchllm/batchllm/internal/testing/ratebench"
)

// newBenchCommand is "batchllm bench": the rate-limiting scenarios against
// an in-process simulator, as a table.
func newBenchCommand() *cobra.Command {
	var scale float64
	var runs int
	var only []string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run the rate-limit and fault scenarios against the built-in simulator and print a table",
		Long: `bench runs named load scenarios of the processor, a provider strategy and the
rate limiter against an in-process simulator (loopback only) and prints, for
each, the wall time against the ideal, the share of the simulator's limits
used, the share of requests answered 429, and the scenario's target.

The ideal counts the simulator's opening allowance (its buckets start full):
only what is charged beyond it waits for the refill, and "% limit" is the
rate achieved beyond the allowance as a share of the refill rate. With
--runs N each scenario runs N times and the run of median wall time is shown.

At --scale 1 the whole set takes about seven minutes per run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if scale <= 0 {
				return fmt.Errorf("--scale must be > 0, got %v", scale)
			}
			if runs < 1 {
				return fmt.Errorf("--runs must be >= 1, got %d", runs)
			}
			all := ratebench.Scenarios(scale)
			scs := all
			if len(only) > 0 {
				scs = nil
				for _, sc := range all {
					// A baseline runs with the scenario that needs it.
					if slices.Contains(only, sc.Name) || slices.ContainsFunc(all, func(o ratebench.Scenario) bool {
						return o.BaselineOf == sc.Name && slices.Contains(only, o.Name)
					}) {
						scs = append(scs, sc)
					}
				}
				if len(scs) == 0 {
					names := make([]string, len(all))
					for i, sc := range all {
						names[i] = sc.Name
					}
					return fmt.Errorf("--only %s matches no scenario (have %s)", strings.Join(only, ","), strings.Join(names, ", "))
				}
			}
			rs, err := ratebench.RunAll(cmd.Context(), scs, runs, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return ratebench.WriteTable(cmd.OutOrStdout(), rs)
		},
	}
	cmd.Flags().Float64Var(&scale, "scale", 1, "multiply every scenario's number of items by this")
	cmd.Flags().IntVar(&runs, "runs", 1, "run each scenario this many times and show the run of median wall time")
	cmd.Flags().StringSliceVar(&only, "only", nil, "run only these scenarios (comma-separated)")
	return cmd
}
