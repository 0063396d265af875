package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/batchllm/batchllm/llmsim"
	"github.com/spf13/cobra"
)

// simOptions are the flags of batchllm sim.
type simOptions struct {
	addr        string
	allowRemote bool
	rpm, tpm    int64
	latency     string
	faults      string
	seed        uint64
	maxConc     int
	window      time.Duration
	tokenFactor float64
	limitFactor float64
	rolling     bool
	batchStep   time.Duration
	batchPerReq time.Duration
}

func newSimCommand() *cobra.Command {
	var o simOptions
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Serve a local OpenAI, Anthropic and Gemini simulator",
		Long: `sim serves the llmsim provider simulator until SIGINT or SIGTERM.

On start it prints one line each on standard output:
  openai_base_url=URL      (for openai-go option.WithBaseURL)
  anthropic_base_url=URL   (for anthropic-sdk-go option.WithBaseURL)
  gemini_base_url=URL      (for genai HTTPOptions.BaseURL)
and on standard error, for each provider, a ready "batchllm run" command
line with the fake API key the provider's client needs and --base-url, e.g.
  OPENAI_API_KEY=sim-key batchllm run --provider openai --base-url URL INPUT.jsonl
The simulator takes any key.

--latency takes a Go duration ("50ms", fixed), "min..max" (uniform), or
key=duration pairs: p50, p99 (log-normal), min, max, fixed, per_token,
e.g. "p50=200ms,p99=2s,per_token=1ms".
--faults takes kind=rate pairs; kinds are HTTP statuses (429, 500, 502,
503, 529, ...) and reset, truncate, badjson, hang, invalid, quota, slow, stall, e.g.
"429=0.05,500=0.05,503=0.03,reset=0.02". GET /_sim/stats shows counters.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runSim(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:0", "listen address (loopback only unless --allow-remote)")
	f.BoolVar(&o.allowRemote, "allow-remote", false, "allow a non-loopback --addr")
	f.Int64Var(&o.rpm, "rpm", 0, "requests per minute, per provider (0 = unlimited)")
	f.Int64Var(&o.tpm, "tpm", 0, "tokens per minute, per provider (0 = unlimited)")
	f.StringVar(&o.latency, "latency", "", `service time: "50ms", "10ms..90ms" or "p50=200ms,p99=2s"`)
	f.StringVar(&o.faults, "faults", "", `fault rates: "429=0.05,500=0.05,reset=0.02"`)
	f.Uint64Var(&o.seed, "seed", 1, "seed for faults and latency")
	f.IntVar(&o.maxConc, "max-concurrent", 0, "concurrent requests per provider (0 = unlimited)")
	f.DurationVar(&o.window, "window", time.Minute, "the window that --rpm and --tpm count in (reset headers say so)")
	f.Float64Var(&o.tokenFactor, "token-factor", 1, "count prompt tokens this many times the client tokenizer's (usage and --tpm)")
	f.BoolVar(&o.rolling, "rolling-window", false, "OpenAI and Anthropic: count --rpm and --tpm over a rolling --window, as some gateways do, not a refilled bucket")
	f.Float64Var(&o.limitFactor, "limit-token-factor", 1, "OpenAI: charge --tpm this many times the prompt tokens the usage reports, as OpenAI's limiter estimates from characters")
	f.DurationVar(&o.batchStep, "batch-step", 0, "time a batch job spends validating and finalizing")
	f.DurationVar(&o.batchPerReq, "batch-per-request", 0, "time a batch job spends on each request")
	return cmd
}

// runSim serves until ctx is done. It prints the base URLs on out and the
// run command lines on hints.
func runSim(ctx context.Context, o simOptions, out, hints io.Writer) error {
	if err := checkLoopback(o.addr, o.allowRemote); err != nil {
		return err
	}
	lat, err := llmsim.ParseLatency(o.latency)
	if err != nil {
		return err
	}
	faults, err := llmsim.ParseFaults(o.faults)
	if err != nil {
		return err
	}
	if !(o.tokenFactor > 0) {
		return fmt.Errorf("--token-factor must be > 0, got %v", o.tokenFactor)
	}
	if !(o.limitFactor > 0) {
		return fmt.Errorf("--limit-token-factor must be > 0, got %v", o.limitFactor)
	}
	pc := llmsim.ProviderConfig{RPM: o.rpm, TPM: o.tpm, MaxConcurrent: o.maxConc, Latency: lat, Faults: faults, TokenFactor: o.tokenFactor, LimitTokenFactor: o.limitFactor, RollingWindow: o.rolling}
	cfg := llmsim.Config{Seed: o.seed, Window: o.window, OpenAI: pc, Anthropic: pc, Gemini: pc,
		Batch: llmsim.BatchConfig{StepDelay: o.batchStep, PerRequest: o.batchPerReq}}
	sim, err := llmsim.StartAddr(cfg, o.addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "openai_base_url=%s\nanthropic_base_url=%s\ngemini_base_url=%s\n",
		sim.OpenAIBaseURL(), sim.AnthropicBaseURL(), sim.GeminiBaseURL())
	fmt.Fprintln(hints, "batchllm sim: serving; run a file of prompts against it with one of:")
	for _, c := range simRunCommands(sim) {
		fmt.Fprintln(hints, "  "+c)
	}
	<-ctx.Done()
	if err := sim.Close(); err != nil {
		return fmt.Errorf("sim: close: %w", err)
	}
	return nil
}

// checkLoopback refuses a listen address off the loopback interface
// unless allowed: the simulator has no authentication.
func checkLoopback(addr string, allowRemote bool) error {
	if allowRemote {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sim: --addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("sim: --addr %q is not a loopback address; pass --allow-remote to serve it anyway", addr)
}

// simRunCommands returns, for each provider the simulator serves, a
// "batchllm run" command line against it: the clients refuse to send a
// request without a key, so each line sets the provider's key variable to
// a fake one, which the simulator accepts.
func simRunCommands(sim *llmsim.Server) []string {
	line := func(keyEnv, provider, baseURL string) string {
		return fmt.Sprintf("%s=sim-key batchllm run --provider %s --base-url %s INPUT.jsonl", keyEnv, provider, baseURL)
	}
	return []string{
		line("OPENAI_API_KEY", "openai", sim.OpenAIBaseURL()),
		line("ANTHROPIC_API_KEY", "anthropic", sim.AnthropicBaseURL()),
		line("GEMINI_API_KEY", "gemini", sim.GeminiBaseURL()),
	}
}
