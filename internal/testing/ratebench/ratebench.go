// Package ratebench runs named load scenarios of the processor, the OpenAI
// strategy and the rate limiter against an in-process llmsim, and reports
// how close each comes to the simulator's limits. The batchllm bench
// command prints its table.
package ratebench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/gemini"
	"github.com/batchllm/batchllm/provider/openai"
	"github.com/batchllm/batchllm/ratelimit"
)

// Scenario is one load test against the simulator's OpenAI (or Gemini)
// endpoint.
type Scenario struct {
	Name        string
	Description string
	// Gemini runs the scenario against the simulated Gemini, which sends no
	// rate-limit headers, instead of OpenAI.
	Gemini  bool
	Items   int
	Workers int
	// PromptWords is the length of each prompt; MaxTokens the max output.
	PromptWords int
	MaxTokens   int
	// Window is the simulator's (and, when told, the limiter's) window.
	Window time.Duration
	// Sim configures the simulated OpenAI: limits, latency, faults.
	Sim llmsim.ProviderConfig
	// Told gives the limiter the simulator's limits; otherwise it must learn
	// them from headers and 429s.
	Told bool
	// NoLimiter runs with the processor's default gate only.
	NoLimiter bool
	Retry     batchllm.RetryPolicy
	// BaselineOf names the scenario whose wall time this one is compared
	// with (the same load without faults).
	BaselineOf string
}

// Result is what one scenario achieved.
type Result struct {
	Scenario  string
	Items     int
	Succeeded int64
	Wall      time.Duration
	// Ideal is the shortest possible wall time: the larger of the
	// rate-limit bound and the latency bound.
	Ideal time.Duration
	// Requests is what the simulator received; Responses429 how many it
	// refused for rate limits.
	Requests     int64
	Responses429 int64
	// RequestPct and TokenPct are the achieved request and token rates as
	// a percentage of the simulator's limits (NaN when unlimited).
	RequestPct float64
	TokenPct   float64
	// VsBaseline is Wall over the baseline scenario's Wall, or NaN.
	VsBaseline float64
}

// Scenarios returns the named scenarios, scaled by scale (1 is the
// documented size, about 15–25 s each; tests use less).
func Scenarios(scale float64) []Scenario {
	n := func(x int) int { return max(1, int(math.Round(float64(x)*scale))) }
	second := time.Second
	fast := batchllm.RetryPolicy{InitialWait: 100 * time.Millisecond, MaxWait: 2 * time.Second, MaxAttempts: 5}
	return []Scenario{
		{
			Name: "told-rpm", Description: "RPM-bound, limits told to the client",
			Items: n(3000), Workers: 64, PromptWords: 20, MaxTokens: 40, Window: second, Told: true,
			Sim: llmsim.ProviderConfig{RPM: 200, TPM: 1_000_000, Latency: llmsim.Latency{Fixed: 50 * time.Millisecond}},
		},
		{
			Name: "told-tpm", Description: "TPM-bound mix, limits told to the client",
			Items: n(2000), Workers: 64, PromptWords: 150, MaxTokens: 100, Window: second, Told: true,
			Sim: llmsim.ProviderConfig{RPM: 10_000, TPM: 30_000, Latency: llmsim.Latency{Fixed: 50 * time.Millisecond}},
		},
		{
			Name: "learned-rpm", Description: "RPM-bound, limits learned from headers and 429s",
			Items: n(3000), Workers: 64, PromptWords: 20, MaxTokens: 40, Window: second,
			Sim: llmsim.ProviderConfig{RPM: 200, TPM: 1_000_000, Latency: llmsim.Latency{Fixed: 50 * time.Millisecond}},
		},
		{
			Name: "learned-tpm", Description: "TPM-bound mix, limits learned from headers and 429s",
			Items: n(2000), Workers: 64, PromptWords: 150, MaxTokens: 100, Window: second,
			Sim: llmsim.ProviderConfig{RPM: 10_000, TPM: 30_000, Latency: llmsim.Latency{Fixed: 50 * time.Millisecond}},
		},
		{
			Name: "learned-429s", Description: "RPM-bound Gemini: no headers, limits learned from 429s alone", Gemini: true,
			Items: n(3000), Workers: 64, PromptWords: 20, MaxTokens: 40, Window: second,
			Sim: llmsim.ProviderConfig{RPM: 200, TPM: 1_000_000, Latency: llmsim.Latency{Fixed: 50 * time.Millisecond}},
		},
		{
			Name: "clean", Description: "latency-bound, no faults (baseline)",
			Items: n(10000), Workers: 50, PromptWords: 20, MaxTokens: 40, Window: second, NoLimiter: true, Retry: fast,
			Sim: llmsim.ProviderConfig{Latency: llmsim.Latency{Fixed: 100 * time.Millisecond}},
		},
		{
			Name: "faults", Description: "5% 5xx, 2% connection resets, 1% 10× slow",
			Items: n(10000), Workers: 50, PromptWords: 20, MaxTokens: 40, Window: second, NoLimiter: true, Retry: fast, BaselineOf: "clean",
			Sim: llmsim.ProviderConfig{Latency: llmsim.Latency{Fixed: 100 * time.Millisecond},
				Faults: map[llmsim.Fault]float64{"500": 0.02, "502": 0.01, "503": 0.02, llmsim.FaultReset: 0.02, llmsim.FaultSlow: 0.01}},
		},
	}
}

// Run runs one scenario on a fresh simulator.
func Run(ctx context.Context, sc Scenario) (Result, error) {
	simCfg := llmsim.Config{Window: sc.Window, Seed: 1}
	if sc.Gemini {
		simCfg.Gemini = sc.Sim
	} else {
		simCfg.OpenAI = sc.Sim
	}
	sim, err := llmsim.Start(simCfg)
	if err != nil {
		return Result{}, err
	}
	defer sim.Close()
	var strat batchllm.Strategy[batchllm.Prompt, string]
	if sc.Gemini {
		strat, err = gemini.New(gemini.Config{BaseURL: sim.GeminiBaseURL(), APIKey: "bench-key", Model: "gemini-2.5-flash", MaxTokens: sc.MaxTokens})
	} else {
		strat, err = openai.New(openai.Config{BaseURL: sim.OpenAIBaseURL(), APIKey: "sk-bench", Model: "gpt-4o-mini", MaxTokens: sc.MaxTokens})
	}
	if err != nil {
		return Result{}, err
	}
	var gate batchllm.Gate
	if !sc.NoLimiter {
		lim := ratelimit.Limits{Window: sc.Window, OutputChargedAtMax: true}
		if sc.Told {
			lim.Requests, lim.Tokens = sc.Sim.RPM, sc.Sim.TPM
		}
		l, err := ratelimit.New(ratelimit.Config{Default: lim})
		if err != nil {
			return Result{}, err
		}
		gate = l
	}
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
		Strategy: strat, Workers: sc.Workers, Gate: gate, Retry: sc.Retry,
		AttemptTimeout: 30 * time.Second,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return Result{}, err
	}
	defer p.Close(ctx)
	words := strings.Repeat("lorem ipsum ", sc.PromptWords/2)
	for i := range sc.Items {
		p.Add(ctx, batchllm.Item[batchllm.Prompt, string, struct{}]{ID: fmt.Sprint(i), Input: batchllm.Text(fmt.Sprintf("item %d: %s", i, words))})
	}
	start := time.Now()
	sum, err := p.Run(ctx)
	wall := time.Since(start)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", sc.Name, err)
	}
	st := sim.Stats().OpenAI
	if sc.Gemini {
		st = sim.Stats().Gemini
	}
	r := Result{
		Scenario: sc.Name, Items: sc.Items, Succeeded: sum.Stats.Succeeded, Wall: wall,
		Requests: st.Requests, Responses429: st.Responses["429"],
		RequestPct: math.NaN(), TokenPct: math.NaN(), VsBaseline: math.NaN(),
	}
	perWindow := func(n int64) float64 { return float64(n) / wall.Seconds() * sc.Window.Seconds() }
	// Latency bound: every item once, Workers at a time.
	r.Ideal = time.Duration(float64(sc.Items) / float64(sc.Workers) * float64(sc.Sim.Latency.Fixed))
	if sc.Sim.RPM > 0 {
		r.RequestPct = 100 * perWindow(int64(sc.Items)) / float64(sc.Sim.RPM)
		r.Ideal = max(r.Ideal, time.Duration(float64(sc.Items)/float64(sc.Sim.RPM)*float64(sc.Window)))
	}
	if sc.Sim.TPM > 0 {
		// OpenAI counts the prompt and max_tokens at admission.
		charged := sum.Stats.Usage.InputTokens + int64(sc.MaxTokens)*sum.Stats.Succeeded
		r.TokenPct = 100 * perWindow(charged) / float64(sc.Sim.TPM)
		r.Ideal = max(r.Ideal, time.Duration(float64(charged)/float64(sc.Sim.TPM)*float64(sc.Window)))
	}
	return r, nil
}

// RunAll runs the scenarios in order and fills in the baseline ratios.
func RunAll(ctx context.Context, scs []Scenario, progress io.Writer) ([]Result, error) {
	var out []Result
	wall := map[string]time.Duration{}
	for _, sc := range scs {
		if progress != nil {
			fmt.Fprintf(progress, "running %s: %s…\n", sc.Name, sc.Description)
		}
		r, err := Run(ctx, sc)
		if err != nil {
			return out, err
		}
		if b, ok := wall[sc.BaselineOf]; ok {
			r.VsBaseline = float64(r.Wall) / float64(b)
		}
		wall[sc.Name] = r.Wall
		out = append(out, r)
	}
	return out, nil
}

// WriteTable prints results as an aligned table.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\titems\tok\twall\tideal\treq % limit\ttok % limit\trequests\t429s\t429 %\tvs baseline\t")
	pct := func(v float64) string {
		if math.IsNaN(v) {
			return "-"
		}
		return fmt.Sprintf("%.1f", v)
	}
	for _, r := range rs {
		ratio := "-"
		if !math.IsNaN(r.VsBaseline) {
			ratio = fmt.Sprintf("%.3f×", r.VsBaseline)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2fs\t%.2fs\t%s\t%s\t%d\t%d\t%.2f\t%s\t\n", r.Scenario, r.Items, r.Succeeded,
			r.Wall.Seconds(), r.Ideal.Seconds(), pct(r.RequestPct), pct(r.TokenPct), r.Requests, r.Responses429,
			100*float64(r.Responses429)/float64(max(r.Requests, 1)), ratio)
	}
	return tw.Flush()
}
