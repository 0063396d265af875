package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/openai"
)

// embeddedSim configure the simulator that --provider sim starts in
// process.
type embeddedSim struct {
	latency string
	faults  string
	rpm     int64
	tpm     int64
	seed    uint64
	stats   io.Writer // where to print the simulator's counts at the end; nil: nowhere
}

func addSimFlags(fl *pflag.FlagSet, o *embeddedSim) {
	fl.StringVar(&o.latency, "sim-latency", "20ms..120ms", "--provider sim: latency of a call (\"50ms\", \"10ms..90ms\", \"p50=200ms,p99=2s\")")
	fl.StringVar(&o.faults, "sim-faults", "", "--provider sim: fault rates, e.g. \"429=0.05,500=0.05,reset=0.02\"")
	fl.Int64Var(&o.rpm, "sim-rpm", 0, "--provider sim: the simulator's own requests-per-minute limit (0: none)")
	fl.Int64Var(&o.tpm, "sim-tpm", 0, "--provider sim: the simulator's own tokens-per-minute limit (0: none)")
	fl.Uint64Var(&o.seed, "sim-seed", 1, "--provider sim: seed of the simulator's faults and latencies")
}

// addSim registers --provider sim: the simulator on a loopback port, called
// with the OpenAI strategy, so that the CLI runs on a machine without a key.
func addSim(r registry) {
	r["sim"] = provider{
		Name:         "sim",
		Prices:       "openai",
		DefaultModel: "gpt-4o-mini",
		RawBodies:    true,
		MaxStop:      openai.MaxStop,
		Build:        buildSim,
	}
}

func buildSim(ctx context.Context, o providerOptions) (strategy, func() error, error) {
	lat, err := llmsim.ParseLatency(o.Sim.latency)
	if err != nil {
		return nil, nil, fmt.Errorf("--sim-latency: %w", err)
	}
	faults, err := llmsim.ParseFaults(o.Sim.faults)
	if err != nil {
		return nil, nil, fmt.Errorf("--sim-faults: %w", err)
	}
	sim, err := llmsim.Start(llmsim.Config{
		Seed:   o.Sim.seed,
		OpenAI: llmsim.ProviderConfig{RPM: o.Sim.rpm, TPM: o.Sim.tpm, Latency: lat, Faults: faults},
	})
	if err != nil {
		return nil, nil, err
	}
	o.BaseURL = sim.OpenAIBaseURL()
	o.APIKey = "sim-key"
	s, _, err := buildOpenAI(ctx, o)
	if err != nil {
		sim.Close()
		return nil, nil, err
	}
	release := func() error {
		if w := o.Sim.stats; w != nil {
			st := sim.Totals().OpenAI // not Stats: its per-request counts are as large as the run
			fmt.Fprintf(w, "batchllm: simulator: %d request(s), %d distinct, %d duplicate(s), %d fault(s) injected, %d rate-limited\n",
				st.Requests, st.DistinctRequests, st.DuplicateRequests, st.FaultsInjected, st.RateLimited)
		}
		return sim.Close()
	}
	return s, release, nil
}
