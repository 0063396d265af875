// Package ratebench runs named load scenarios of the processor, a provider
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
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/anthropic"
	"github.com/batchllm/batchllm/provider/gemini"
	"github.com/batchllm/batchllm/provider/openai"
	"github.com/batchllm/batchllm/ratelimit"
)

// The providers a scenario can run against.
const (
	OpenAI    = "openai"
	Anthropic = "anthropic"
	Gemini    = "gemini"
)

// Scenario is one load test against one simulated provider.
type Scenario struct {
	Name        string
	Description string
	// Provider is OpenAI (the default, with x-ratelimit-* headers),
	// Anthropic (anthropic-ratelimit-* headers with RFC 3339 resets) or
	// Gemini (no headers; QuotaFailure and RetryInfo in its 429s).
	Provider string
	Items    int
	Workers  int
	// PromptWords is the length of each prompt; MaxTokens the max output.
	PromptWords int
	MaxTokens   int
	// Window is the simulator's window; when Told, or unless LearnWindow,
	// the limiter is given it too.
	Window time.Duration
	// Sim configures the simulated provider: limits, latency, faults,
	// token counting, the share of its limits spent at the start.
	Sim llmsim.ProviderConfig
	// Told gives the limiter the simulator's limits; otherwise it must learn
	// them from headers and 429s.
	Told bool
	// LearnWindow leaves the limiter's window at its default (a minute),
	// so that it must learn the window from the reset headers as well.
	LearnWindow bool
	// NoLimiter runs with the processor's default gate only.
	NoLimiter bool
	Retry     batchllm.RetryPolicy
	// BaselineOf names the scenario whose wall time this one is compared
	// with (the same load without faults).
	BaselineOf string
	// Target is what the scenario should achieve (issue 11).
	Target Target
}

// Target is what a scenario should achieve; zero fields are not checked.
// Every item must succeed whatever the target.
type Target struct {
	// LimitPct is the least share of the binding limit to use, in percent.
	LimitPct float64
	// Max429Pct is the most requests to be answered 429, in percent; set
	// Zero429 to demand none.
	Max429Pct float64
	Zero429   bool
	// BaselineFactor and BaselineSlack bound the wall time by the
	// baseline's: Wall ≤ BaselineFactor × baseline + BaselineSlack.
	BaselineFactor float64
	BaselineSlack  time.Duration
}

func (t Target) String() string {
	var parts []string
	if t.LimitPct > 0 {
		parts = append(parts, fmt.Sprintf("≥%g%% limit", t.LimitPct))
	}
	switch {
	case t.Zero429:
		parts = append(parts, "0 429")
	case t.Max429Pct > 0:
		parts = append(parts, fmt.Sprintf("≤%g%% 429", t.Max429Pct))
	}
	if t.BaselineFactor > 0 {
		parts = append(parts, fmt.Sprintf("≤%g×base+%v", t.BaselineFactor, t.BaselineSlack))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// Result is what one scenario achieved.
type Result struct {
	Scenario  string
	Items     int
	Succeeded int64
	Wall      time.Duration
	// Ideal is the shortest possible wall time: the larger of the
	// rate-limit bound and the latency bound. The rate-limit bound counts
	// the provider's opening allowance (its buckets start full, less
	// Sim.StartUsed): only what is charged beyond it waits for the refill.
	Ideal time.Duration
	// Requests is what the simulator received; Responses429 how many it
	// answered 429, for its limits or by injected faults.
	Requests     int64
	Responses429 int64
	// RequestPct and TokenPct are the request and token rates achieved
	// beyond the opening allowance, as a percentage of the simulator's
	// refill rate (NaN when unlimited, or when the allowance covered the
	// whole run).
	RequestPct float64
	TokenPct   float64
	// VsBaseline is Wall over the baseline scenario's Wall, or NaN;
	// BaselineWall is that wall.
	VsBaseline   float64
	BaselineWall time.Duration
	// Runs is the number of runs this result is the median of (by Wall);
	// WallMin and WallMax are the fastest and slowest.
	Runs             int
	WallMin, WallMax time.Duration
	// Target is the scenario's.
	Target Target
}

// Pct429 is the share of requests answered 429, in percent.
func (r Result) Pct429() float64 {
	return 100 * float64(r.Responses429) / float64(max(r.Requests, 1))
}

// LimitPct is the share of the binding limit used: the higher of
// RequestPct and TokenPct, or NaN when neither is known.
func (r Result) LimitPct() float64 {
	switch {
	case math.IsNaN(r.RequestPct):
		return r.TokenPct
	case math.IsNaN(r.TokenPct):
		return r.RequestPct
	}
	return max(r.RequestPct, r.TokenPct)
}

// Met reports whether the result meets its target.
func (r Result) Met() bool {
	t := r.Target
	switch {
	case int(r.Succeeded) != r.Items:
		return false
	case t.LimitPct > 0 && !(r.LimitPct() >= t.LimitPct):
		return false
	case t.Zero429 && r.Responses429 > 0:
		return false
	case t.Max429Pct > 0 && r.Pct429() > t.Max429Pct:
		return false
	case t.BaselineFactor > 0 && (r.BaselineWall == 0 ||
		r.Wall > time.Duration(t.BaselineFactor*float64(r.BaselineWall))+t.BaselineSlack):
		return false
	}
	return true
}

// Scenarios returns the named scenarios, scaled by scale (1 is the
// documented size, about 10–25 s each; tests use less).
func Scenarios(scale float64) []Scenario {
	n := func(x int) int { return max(1, int(math.Round(float64(x)*scale))) }
	second := time.Second
	fast := batchllm.RetryPolicy{InitialWait: 100 * time.Millisecond, MaxWait: 2 * time.Second, MaxAttempts: 5}
	tpm := func(name, desc string, factor float64, told bool) Scenario {
		return Scenario{
			Name: name, Description: desc,
			Items: n(1000), Workers: 64, PromptWords: 150, MaxTokens: 100, Window: second, Told: told,
			Sim:    llmsim.ProviderConfig{RPM: 10_000, TPM: 30_000, TokenFactor: factor, Latency: llmsim.Latency{Fixed: 50 * time.Millisecond}},
			Target: Target{LimitPct: 95, Max429Pct: 1},
		}
	}
	// tpmCharged is tpm against a server that reports the tokenizer's
	// count in its usage but charges its limit with an estimate a factor
	// off it, as OpenAI does (llmsim.ProviderConfig.LimitTokenFactor):
	// only the remaining-tokens headers show the difference.
	tpmCharged := func(name, desc string, factor float64, told bool) Scenario {
		sc := tpm(name, desc, 1, told)
		sc.Sim.TokenFactor, sc.Sim.LimitTokenFactor = 0, factor
		return sc
	}
	// window is a request limit of 20 a second counted over w, learned
	// from the reset headers, with an opening allowance of 100 requests (5
	// seconds of refill) or, for a 1 s window, its 20.
	window := func(name string, provider string, w time.Duration) Scenario {
		limit := int64(20 * w / time.Second)
		used := 0.0
		if limit > 100 {
			used = 1 - 100/float64(limit)
		}
		return Scenario{
			Name: name, Description: fmt.Sprintf("20 requests/s counted over %v (limit %d), learned from %s's reset headers", w, limit, provider),
			Provider: provider, Items: n(600), Workers: 50, PromptWords: 20, MaxTokens: 40, Window: w, LearnWindow: true,
			Sim:    llmsim.ProviderConfig{RPM: limit, StartUsed: used, Latency: llmsim.Latency{Fixed: 50 * time.Millisecond}},
			Target: Target{LimitPct: 95, Max429Pct: 1},
		}
	}
	capacity := llmsim.ProviderConfig{Latency: llmsim.Latency{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}}
	capacity429 := capacity
	capacity429.Faults = map[llmsim.Fault]float64{"429": 0.05}
	sliding := llmsim.ProviderConfig{RPM: 20, Latency: llmsim.Latency{Fixed: 50 * time.Millisecond}}
	rolling := sliding
	rolling.RollingWindow = true
	// twenty is 600 items against a limit of 20 requests per 1 s counted
	// as how says, told to the client or learned from the headers.
	twenty := func(name, how string, sim llmsim.ProviderConfig, told bool) Scenario {
		sc := Scenario{Name: name, Items: n(600), Workers: 50, PromptWords: 20, MaxTokens: 40, Window: second, Sim: sim}
		if told {
			sc.Description = "20 requests per 1 s, " + how + "; limits told"
			sc.Told, sc.Target = true, Target{LimitPct: 97, Zero429: true}
		} else {
			sc.Description = "20 requests per 1 s, " + how + "; limits and window learned from headers"
			sc.LearnWindow, sc.Target = true, Target{LimitPct: 93, Max429Pct: 2}
		}
		return sc
	}
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
			Name: "learned-429s", Description: "RPM-bound Gemini: no headers, limits learned from 429s alone", Provider: Gemini,
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
		{
			Name: "capacity-clean", Description: "latency-bound, no limit told or reported (baseline)",
			Items: n(3000), Workers: 64, PromptWords: 20, MaxTokens: 40, Window: second, Sim: capacity,
		},
		{
			Name: "capacity-429s", Description: "5% bare 429s at random (retry-after 1 s, no rate-limit headers), no limit told",
			Items: n(3000), Workers: 64, PromptWords: 20, MaxTokens: 40, Window: second, Sim: capacity429, BaselineOf: "capacity-clean",
			Target: Target{BaselineFactor: 2, BaselineSlack: 5 * time.Second},
		},
		twenty("sliding-told", "refilled continuously", sliding, true),
		twenty("sliding-learned", "refilled continuously", sliding, false),
		twenty("rolling-told", "counted over any rolling second (a gateway's log, not a bucket)", rolling, true),
		twenty("rolling-learned", "counted over any rolling second (a gateway's log, not a bucket)", rolling, false),
		tpm("tpm+25-told", "TPM-bound, the server counts 25% more prompt tokens; limits told", 1.25, true),
		tpm("tpm-25-told", "TPM-bound, the server counts 25% fewer prompt tokens; limits told", 0.75, true),
		tpm("tpm+25-learned", "TPM-bound, the server counts 25% more prompt tokens; limits learned", 1.25, false),
		tpm("tpm-25-learned", "TPM-bound, the server counts 25% fewer prompt tokens; limits learned", 0.75, false),
		tpmCharged("tpm-charged+25-told", "TPM-bound, usage exact but the limit charged 25% more prompt tokens; limits told", 1.25, true),
		tpmCharged("tpm-charged-25-told", "TPM-bound, usage exact but the limit charged 25% fewer prompt tokens; limits told", 0.75, true),
		tpmCharged("tpm-charged+25-learned", "TPM-bound, usage exact but the limit charged 25% more prompt tokens; limits learned", 1.25, false),
		tpmCharged("tpm-charged-25-learned", "TPM-bound, usage exact but the limit charged 25% fewer prompt tokens; limits learned", 0.75, false),
		window("window-1s", OpenAI, time.Second),
		window("window-10s", OpenAI, 10*time.Second),
		window("window-60s", OpenAI, time.Minute),
		window("window-60s-anthropic", Anthropic, time.Minute),
		window("window-1d", OpenAI, 24*time.Hour),
		window("window-1d-anthropic", Anthropic, 24*time.Hour),
	}
}

// Run runs one scenario on a fresh simulator.
func Run(ctx context.Context, sc Scenario) (Result, error) {
	simCfg := llmsim.Config{Window: sc.Window, Seed: 1}
	switch sc.Provider {
	case Gemini:
		simCfg.Gemini = sc.Sim
	case Anthropic:
		simCfg.Anthropic = sc.Sim
	default:
		simCfg.OpenAI = sc.Sim
	}
	sim, err := llmsim.Start(simCfg)
	if err != nil {
		return Result{}, err
	}
	defer sim.Close()
	var strat batchllm.Strategy[batchllm.Prompt, string]
	switch sc.Provider {
	case Gemini:
		strat, err = gemini.New(gemini.Config{BaseURL: sim.GeminiBaseURL(), APIKey: "bench-key", Model: "gemini-2.5-flash", MaxTokens: sc.MaxTokens})
	case Anthropic:
		strat, err = anthropic.New(anthropic.Config{BaseURL: sim.AnthropicBaseURL(), APIKey: "bench-key", Model: "claude-haiku-4-5", MaxTokens: sc.MaxTokens})
	default:
		strat, err = openai.New(openai.Config{BaseURL: sim.OpenAIBaseURL(), APIKey: "sk-bench", Model: "gpt-4o-mini", MaxTokens: sc.MaxTokens})
	}
	if err != nil {
		return Result{}, err
	}
	var gate batchllm.Gate
	if !sc.NoLimiter {
		lim := ratelimit.Limits{OutputChargedAtMax: true}
		if sc.Told || !sc.LearnWindow {
			lim.Window = sc.Window
		}
		if sc.Told {
			// A rolling window is told like the limits; not told, the
			// limiter finds it in the headers (see ratelimit.Limits.Rolling).
			lim.Requests, lim.Tokens, lim.Rolling = sc.Sim.RPM, sc.Sim.TPM, sc.Sim.RollingWindow
		}
		l, err := ratelimit.New(ratelimit.Config{Default: lim, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
	var st llmsim.ProviderStats
	switch sc.Provider {
	case Gemini:
		st = sim.Stats().Gemini
	case Anthropic:
		st = sim.Stats().Anthropic
	default:
		st = sim.Stats().OpenAI
	}
	r := Result{
		Scenario: sc.Name, Items: sc.Items, Succeeded: sum.Stats.Succeeded, Wall: wall,
		Requests: st.Requests, Responses429: st.Responses["429"],
		RequestPct: math.NaN(), TokenPct: math.NaN(), VsBaseline: math.NaN(), Runs: 1, WallMin: wall, WallMax: wall,
		Target: sc.Target,
	}
	lat := meanLatency(sc.Sim.Latency)
	// Latency bound: every item once, Workers at a time.
	r.Ideal = time.Duration(float64(sc.Items) / float64(sc.Workers) * float64(lat))
	// charged is what the provider charged its limit over the run; the
	// part beyond its opening allowance waits for the refill, at limit per
	// Window, and the last answer takes its latency after that.
	bound := func(charged, limit int64) (pct float64) {
		allowance := float64(limit) - math.Round(float64(limit)*sc.Sim.StartUsed)
		beyond := float64(charged) - allowance
		if beyond <= 0 {
			return math.NaN()
		}
		rate := float64(limit) / sc.Window.Seconds()
		r.Ideal = max(r.Ideal, time.Duration(beyond/rate*float64(time.Second))+lat)
		if busy := (wall - lat).Seconds(); busy > 0 {
			return 100 * beyond / rate / busy
		}
		return math.NaN()
	}
	if sc.Sim.RPM > 0 {
		r.RequestPct = bound(sum.Stats.Succeeded, sc.Sim.RPM)
	}
	if sc.Sim.TPM > 0 {
		// The provider's own count of the prompts (TokenFactor included,
		// and LimitTokenFactor, which scales the charge and not the
		// usage) and, but for Gemini, max_tokens, charged at admission.
		charged := st.InputTokens
		if f := sc.Sim.LimitTokenFactor; f > 0 {
			charged = int64(math.Round(float64(charged) * f))
		}
		if sc.Provider != Gemini {
			charged += int64(sc.MaxTokens) * sum.Stats.Succeeded
		}
		r.TokenPct = bound(charged, sc.Sim.TPM)
	}
	return r, nil
}

// meanLatency is the mean of a fixed or uniform latency.
func meanLatency(l llmsim.Latency) time.Duration {
	if l.Max > 0 {
		return (l.Min + l.Max) / 2
	}
	return l.Fixed
}

// RunAll runs each scenario runs times, in order, keeps the run of median
// wall time, and fills in the baseline ratios.
func RunAll(ctx context.Context, scs []Scenario, runs int, progress io.Writer) ([]Result, error) {
	runs = max(runs, 1)
	var out []Result
	wall := map[string]time.Duration{}
	for _, sc := range scs {
		var rs []Result
		for i := range runs {
			if progress != nil {
				fmt.Fprintf(progress, "running %s (%d/%d): %s…\n", sc.Name, i+1, runs, sc.Description)
			}
			r, err := Run(ctx, sc)
			if err != nil {
				return out, err
			}
			rs = append(rs, r)
		}
		slices.SortFunc(rs, func(a, b Result) int { return int(a.Wall - b.Wall) })
		r := rs[len(rs)/2]
		r.Runs, r.WallMin, r.WallMax = runs, rs[0].Wall, rs[len(rs)-1].Wall
		if b, ok := wall[sc.BaselineOf]; ok {
			r.VsBaseline, r.BaselineWall = float64(r.Wall)/float64(b), b
		}
		wall[sc.Name] = r.Wall
		out = append(out, r)
	}
	return out, nil
}

// WriteTable prints results as an aligned table.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\titems\tok\twall\tideal\treq % limit\ttok % limit\trequests\t429s\t429 %\tvs baseline\ttarget\tmet\t")
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
		met := "-"
		if r.Target != (Target{}) {
			met = map[bool]string{true: "yes", false: "NO"}[r.Met()]
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2fs\t%.2fs\t%s\t%s\t%d\t%d\t%.2f\t%s\t%s\t%s\t\n", r.Scenario, r.Items, r.Succeeded,
			r.Wall.Seconds(), r.Ideal.Seconds(), pct(r.RequestPct), pct(r.TokenPct), r.Requests, r.Responses429,
			r.Pct429(), ratio, r.Target, met)
	}
	return tw.Flush()
}
