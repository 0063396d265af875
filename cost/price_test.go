package cost_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
)

// micro returns n micro-dollars, to write expected costs as whole numbers.
func micro(n int64) cost.Amount { return cost.Amount(n) * cost.Microdollar }

func mustCost(t *testing.T, tab *cost.Table, model string, u batchllm.Usage, batch bool) cost.Amount {
	t.Helper()
	c, err := tab.Cost(model, u, batch)
	if err != nil {
		t.Fatalf("Cost(%s, %+v): %v", model, u, err)
	}
	return c
}

// TestCostOpenAISubsetConvention: OpenAI reports cached tokens as a subset of
// prompt_tokens; the uncached rest is billed at the input price.
func TestCostOpenAISubsetConvention(t *testing.T) {
	tab := cost.Default()
	// prompt_tokens 10000 of which cached 4000, completion 500, gpt-4o-mini
	// ($0.15 in, $0.075 cached, $0.60 out per 1M):
	// 6000×0.15 + 4000×0.075 + 500×0.60 = 900 + 300 + 300 µ$.
	u := batchllm.Usage{InputTokens: 10000, CachedInputTokens: 4000, OutputTokens: 500}
	if got, want := mustCost(t, tab, "gpt-4o-mini-2024-07-18", u, false), micro(1500); got != want {
		t.Errorf("gpt-4o-mini cost = %v, want %v", got, want)
	}
	if got, want := mustCost(t, tab, "gpt-4o-mini", u, true), micro(750); got != want {
		t.Errorf("gpt-4o-mini batch cost = %v, want %v", got, want)
	}
	// gpt-5: cached input at 10%: 1000×1.25 + 9000×0.125 + 100×10 = 1250+1125+1000.
	u = batchllm.Usage{InputTokens: 10000, CachedInputTokens: 9000, OutputTokens: 100}
	if got, want := mustCost(t, tab, "gpt-5-2025-08-07", u, false), micro(3375); got != want {
		t.Errorf("gpt-5 cost = %v, want %v", got, want)
	}
}

// TestCostAnthropicAdditiveConvention: Anthropic reports input_tokens,
// cache_read_input_tokens and cache_creation_input_tokens separately; the
// strategy adds them into InputTokens, and the cost splits them back.
func TestCostAnthropicAdditiveConvention(t *testing.T) {
	tab := cost.Default()
	wireInput, wireRead, wireWrite := int64(1000), int64(20000), int64(5000)
	u := batchllm.Usage{InputTokens: wireInput + wireRead + wireWrite, CachedInputTokens: wireRead, CacheWriteTokens: wireWrite, OutputTokens: 800}
	// claude-sonnet-4-5: 1000×3 + 20000×0.30 + 5000×3.75 (5-minute write) + 800×15.
	want := micro(3000 + 6000 + 18750 + 12000)
	if got := mustCost(t, tab, "claude-sonnet-4-5-20250929", u, false); got != want {
		t.Errorf("sonnet 4.5 cost = %v, want %v", got, want)
	}
	// Message Batches: 50% off everything, cache reads and writes included.
	if got := mustCost(t, tab, "claude-sonnet-4-5", u, true); got != want/2 {
		t.Errorf("sonnet 4.5 batch cost = %v, want %v", got, want/2)
	}
	// One-hour cache writes cost 2× input: 5000×6 instead of 5000×3.75.
	u.CacheWrite1hTokens = wireWrite
	if got, want := mustCost(t, tab, "claude-sonnet-4-5", u, false), micro(3000+6000+30000+12000); got != want {
		t.Errorf("sonnet 4.5 cost with 1h writes = %v, want %v", got, want)
	}
	// The review's repro: 100,000 tokens written to the 1h cache on Sonnet
	// (the 5m price would be $0.375) plus 45 input tokens at $3/M.
	hour := batchllm.Usage{InputTokens: 100_045, CacheWriteTokens: 100_000, CacheWrite1hTokens: 100_000}
	if got, want := mustCost(t, tab, "claude-sonnet-4-5", hour, false), micro(600_135); got != want {
		t.Errorf("1h write cost = %v, want %v ($0.600135)", got, want)
	}
	// A mixed usage: 2000 five-minute and 3000 one-hour writes.
	u.CacheWrite1hTokens = 3000
	if got, want := mustCost(t, tab, "claude-sonnet-4-5", u, false), micro(3000+6000+2000*3.75+3000*6+12000); got != want {
		t.Errorf("mixed writes = %v, want %v", got, want)
	}
	u.CacheWrite1hTokens = wireWrite + 1
	if _, err := tab.Cost("claude-sonnet-4-5", u, false); !errors.Is(err, cost.ErrInvalidUsage) {
		t.Errorf("1h writes above writes: err %v, want ErrInvalidUsage", err)
	}
	u.CacheWrite1hTokens = 0
	// Opus 4 (dated) is the old $15 price; Opus 4.5 the new $5 one.
	u = batchllm.Usage{InputTokens: 1_000_000}
	if got := mustCost(t, tab, "claude-opus-4-20250514", u, false); got != 15*cost.Dollar {
		t.Errorf("opus 4 = %v, want $15", got)
	}
	if got := mustCost(t, tab, "claude-opus-4-5-20251101", u, false); got != 5*cost.Dollar {
		t.Errorf("opus 4.5 = %v, want $5", got)
	}
}

// TestCostGeminiLongContext: Gemini 2.5 Pro bills a whole request at higher
// rates when its prompt passes 200,000 tokens.
func TestCostGeminiLongContext(t *testing.T) {
	tab := cost.Default()
	short := batchllm.Usage{InputTokens: 200_000, CachedInputTokens: 100_000, OutputTokens: 1000}
	// 100000×1.25 + 100000×0.125 + 1000×10.
	if got, want := mustCost(t, tab, "models/gemini-2.5-pro", short, false), micro(125_000+12_500+10_000); got != want {
		t.Errorf("short prompt = %v, want %v", got, want)
	}
	long := batchllm.Usage{InputTokens: 300_000, OutputTokens: 1000}
	// 300000×2.50 + 1000×15.
	if got, want := mustCost(t, tab, "gemini-2.5-pro", long, false), micro(750_000+15_000); got != want {
		t.Errorf("long prompt = %v, want %v", got, want)
	}
	// Gemini thinking tokens arrive in OutputTokens and cost output.
	if got, want := mustCost(t, tab, "gemini-2.5-flash", batchllm.Usage{InputTokens: 1000, OutputTokens: 2000}, true), micro((300+5000)/2); got != want {
		t.Errorf("flash batch = %v, want %v", got, want)
	}
}

// TestCostBatchRoundsUp: a discount that leaves half a picodollar rounds up,
// so that costs are never under-counted.
func TestCostBatchRoundsUp(t *testing.T) {
	p := cost.Price{Rates: cost.Rates{Input: 3, Output: 7, CachedInput: 3, CacheWrite: 3}, BatchDiscountPercent: 50}
	c, err := p.Cost(batchllm.Usage{InputTokens: 1}, true)
	if err != nil {
		t.Fatal(err)
	}
	if c != 2 {
		t.Errorf("half of 3 picodollars = %d, want 2", c)
	}
	c, err = p.Cost(batchllm.Usage{InputTokens: 1, OutputTokens: 1}, true)
	if err != nil || c != 5 {
		t.Errorf("half of 10 picodollars = %d, %v; want 5", c, err)
	}
}

func TestCostInvalidUsage(t *testing.T) {
	tab := cost.Default()
	for _, u := range []batchllm.Usage{
		{InputTokens: 10, CachedInputTokens: 8, CacheWriteTokens: 3},
		{InputTokens: -1},
		{OutputTokens: -5},
	} {
		if _, err := tab.Cost("gpt-5", u, false); !errors.Is(err, cost.ErrInvalidUsage) {
			t.Errorf("Cost(%+v) error = %v, want ErrInvalidUsage", u, err)
		}
	}
	// Overflow is an error, not a wrapped-around amount.
	p := cost.Price{Rates: cost.Rates{Input: cost.PerMillion(1e6), Output: 1}}
	if _, err := p.Cost(batchllm.Usage{InputTokens: 1 << 50}, false); err == nil {
		t.Error("overflowing cost gave no error")
	}
}

func TestLookup(t *testing.T) {
	tab := cost.Default()
	for model, want := range map[string]string{
		"gpt-4o-mini-2024-07-18":              "gpt-4o-mini",
		"gpt-4o-2024-08-06":                   "gpt-4o",
		"GPT-4.1-MINI":                        "gpt-4.1-mini",
		"o3-2025-04-16":                       "o3",
		"o3-mini-2025-01-31":                  "o3-mini",
		"openai/gpt-5-mini":                   "gpt-5-mini",
		"claude-haiku-4-5-20251001":           "claude-haiku-4-5",
		"claude-3-5-haiku-latest":             "claude-3-5-haiku",
		"claude-sonnet-4@20250514":            "claude-sonnet-4",
		"models/gemini-2.5-flash":             "gemini-2.5-flash",
		"gemini-2.5-flash-lite-preview-06-17": "gemini-2.5-flash-lite",
		"gemini-2.5-flash-preview-09-2025":    "gemini-2.5-flash",
		"gemini-3-pro-preview":                "gemini-3-pro",
	} {
		got, err := tab.Lookup(model)
		if err != nil {
			t.Errorf("Lookup(%q): %v", model, err)
			continue
		}
		exp, err := tab.Lookup(want)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", want, err)
		}
		if got != exp {
			t.Errorf("Lookup(%q) = %+v, want the price of %s %+v", model, got, want, exp)
		}
	}
	for _, model := range []string{"", "gpt-6", "claude-opus-4-9", "o3-pro-max", "gpt-5-chat-latest", "gpt-4o-mini-", "gemini-2.5-flash-image", "gpt-5-1"} {
		_, err := tab.Lookup(model)
		if !errors.Is(err, cost.ErrUnknownModel) {
			t.Errorf("Lookup(%q) error = %v, want ErrUnknownModel", model, err)
		}
		if _, err := tab.Cost(model, batchllm.Usage{InputTokens: 1}, false); !errors.Is(err, cost.ErrUnknownModel) {
			t.Errorf("Cost(%q) error = %v, want ErrUnknownModel", model, err)
		}
	}
}

// TestDefaultTableConsistent guards the embedded prices against typos: the
// relations every provider publishes must hold for every model.
func TestDefaultTableConsistent(t *testing.T) {
	tab := cost.Default()
	if src, asOf := tab.Source(); !strings.Contains(src, "https://") || asOf == "" {
		t.Errorf("Source() = %q, %q; want a URL and a date", src, asOf)
	}
	models := tab.Models()
	if len(models) < 30 {
		t.Errorf("default table has %d models, want >= 30", len(models))
	}
	for _, m := range models {
		p, err := tab.Lookup(m)
		if err != nil {
			t.Fatal(err)
		}
		check := func(r cost.Rates, what string) {
			noCache := p.API == cost.APIResponses && r.CachedInput == r.Input // the -pro models have no cache discount
			if r.Input <= 0 || r.Output <= r.Input || r.CachedInput <= 0 || (r.CachedInput >= r.Input && !noCache) {
				t.Errorf("%s%s: implausible rates %+v", m, what, r)
			}
			switch p.Provider {
			case "anthropic":
				if r.CacheWrite*4 != r.Input*5 || r.CacheWrite1h != 2*r.Input || r.CachedInput*10 != r.Input {
					t.Errorf("%s%s: Anthropic multipliers (1.25×, 2×, 0.1×) broken: %+v", m, what, r)
				}
			case "openai", "gemini":
				if r.CacheWrite != r.Input || r.CacheWrite1h != 0 {
					t.Errorf("%s%s: cache writes should cost input: %+v", m, what, r)
				}
			default:
				t.Errorf("%s: unknown provider %q", m, p.Provider)
			}
		}
		check(p.Rates, "")
		if lc := p.LongContext; lc != nil {
			check(lc.Rates, " (long context)")
			if lc.Input <= p.Input || lc.Output <= p.Output {
				t.Errorf("%s: long-context rates not higher than base", m)
			}
		}
		if p.BatchDiscountPercent != 50 {
			t.Errorf("%s: batch discount %d%%, want 50%%", m, p.BatchDiscountPercent)
		}
	}
	// Default returns copies: changing one does not change the next.
	if err := tab.Set("gpt-5", cost.Price{}); err != nil {
		t.Fatal(err)
	}
	if p, _ := cost.Default().Lookup("gpt-5"); p.Input != cost.PerMillion(1.25) {
		t.Errorf("Default() shares state between calls: gpt-5 input %v", p.Input)
	}
}

func TestParseAndOverride(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "prices.json")
	file := `{"source": "our contract", "as_of": "2026-12-01", "unit": "USD per 1M tokens",
	  "models": {"gpt-4o-mini": {"provider": "openai", "input": 0.1, "output": 0.4},
	             "my-finetune": {"provider": "openai", "input": 0.300001, "cached_input": 0.15, "output": 1.2, "batch_discount_percent": 25}}}`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	over, err := cost.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tab := cost.Default()
	tab.Merge(over)
	if src, asOf := tab.Source(); !strings.HasSuffix(src, " Overridden by: our contract") || !strings.HasPrefix(src, "Published list prices") || asOf != "2026-12-01" {
		t.Errorf("Source after Merge = %q %q", src, asOf)
	}
	p, err := tab.Lookup("gpt-4o-mini-2024-07-18")
	if err != nil {
		t.Fatal(err)
	}
	// A missing cached_input and cache_write cost as much as input.
	want := cost.Rates{Input: 100_000, Output: 400_000, CachedInput: 100_000, CacheWrite: 100_000}
	if p.Rates != want || p.BatchDiscountPercent != 0 {
		t.Errorf("overridden gpt-4o-mini = %+v, want %+v and no batch discount", p, want)
	}
	// Six decimals are exact: 0.300001 is 300001 picodollars per token.
	u := batchllm.Usage{InputTokens: 1_000_000, CachedInputTokens: 0, OutputTokens: 0}
	if got := mustCost(t, tab, "my-finetune", u, false); got != 300_001*cost.Microdollar {
		t.Errorf("my-finetune = %v, want $0.300001", got)
	}
	// 25% off 1M tokens at $0.300001/M = $0.22500075.
	if got := mustCost(t, tab, "my-finetune", u, true); got != 225_000_750_000 {
		t.Errorf("my-finetune batch = %v, want $0.22500075", got)
	}
	// Models the override did not mention keep their defaults.
	if _, err := tab.Lookup("claude-haiku-4-5"); err != nil {
		t.Error(err)
	}
	// Set in code.
	if err := tab.Set("Local-Llama", cost.Price{Provider: "self", Rates: cost.Rates{Input: 1, Output: 2, CachedInput: 1, CacheWrite: 1}}); err != nil {
		t.Fatal(err)
	}
	if got := mustCost(t, tab, "local-llama", batchllm.Usage{InputTokens: 10, OutputTokens: 10}, false); got != 30 {
		t.Errorf("local-llama = %d picodollars, want 30", got)
	}
	if err := tab.Set("x", cost.Price{BatchDiscountPercent: 101}); err == nil {
		t.Error("Set accepted a 101% discount")
	}
	if err := tab.Set(" ", cost.Price{}); err == nil {
		t.Error("Set accepted an empty name")
	}
	if _, err := cost.Load(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for name, file := range map[string]string{
		"no output":        `{"models": {"m": {"input": 1}}}`,
		"seven decimals":   `{"models": {"m": {"input": 0.0000001, "output": 1}}}`,
		"negative":         `{"models": {"m": {"input": -1, "output": 1}}}`,
		"exponent":         `{"models": {"m": {"input": 1e-3, "output": 1}}}`,
		"unknown field":    `{"models": {"m": {"input": 1, "output": 1, "cahced_input": 0.5}}}`,
		"wrong unit":       `{"unit": "USD per 1K tokens", "models": {}}`,
		"discount":         `{"models": {"m": {"input": 1, "output": 1, "batch_discount_percent": 150}}}`,
		"long no output":   `{"models": {"m": {"input": 1, "output": 1, "long_context": {"above_input_tokens": 5, "input": 2}}}}`,
		"long no boundary": `{"models": {"m": {"input": 1, "output": 1, "long_context": {"input": 2, "output": 3}}}}`,
		"not json":         `{`,
	} {
		if _, err := cost.Parse([]byte(file)); err == nil {
			t.Errorf("%s: Parse accepted %s", name, file)
		}
	}
}

func TestAmountAndRateFormat(t *testing.T) {
	for a, want := range map[cost.Amount]string{
		0:                           "$0.00",
		cost.Dollar + 50*cost.Cent:  "$1.50",
		375 * cost.Picodollar * 1e3: "$0.000000375",
		-2 * cost.Dollar:            "-$2.00",
		cost.MaxAmount:              "$9223372.036854775807",
	} {
		if got := a.String(); got != want {
			t.Errorf("Amount(%d).String() = %q, want %q", int64(a), got, want)
		}
	}
	a, err := cost.Dollars(12.34)
	if err != nil || a != 1234*cost.Cent {
		t.Errorf("Dollars(12.34) = %v, %v", a, err)
	}
	if a.Dollars() != 12.34 {
		t.Errorf("Amount.Dollars() = %v", a.Dollars())
	}
	for _, bad := range []float64{-1, 1e7} {
		if _, err := cost.Dollars(bad); err == nil {
			t.Errorf("Dollars(%v) gave no error", bad)
		}
	}
	r := cost.PerMillion(0.075)
	if r != 75_000 || r.String() != "$0.075/Mtok" || r.PerMillion() != 0.075 {
		t.Errorf("PerMillion(0.075) = %d %q", int64(r), r)
	}
	b, err := json.Marshal(cost.Rates{Input: r, Output: 2_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"input":0.075,"output":2,"cached_input":0,"cache_write":0}`; string(b) != want {
		t.Errorf("Rates JSON = %s, want %s", b, want)
	}
}

func TestForecast(t *testing.T) {
	f := cost.Forecast{Prices: cost.Default(), Batch: true, DefaultMaxOutputTokens: 1000}
	for _, e := range []batchllm.Estimate{
		{Model: "gpt-4.1", InputTokens: 2000, MaxOutputTokens: 500},
		{Model: "gpt-4.1", InputTokens: 2000},                                 // default max output
		{Model: "claude-sonnet-4-5", InputTokens: 1000, MaxOutputTokens: 100}, // worst case: 1h writes at 6
	} {
		if err := f.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	before := f.Total
	if err := f.Add(batchllm.Estimate{Model: "nope", MaxOutputTokens: 1}); !errors.Is(err, cost.ErrUnknownModel) {
		t.Errorf("Add(unknown) = %v", err)
	}
	if err := f.Add(batchllm.Estimate{InputTokens: 5}); !errors.Is(err, cost.ErrNoEstimate) {
		t.Errorf("Add(no model) = %v", err)
	}
	if f.Total != before || len(f.ByModel) != 2 {
		t.Errorf("failed Adds changed the forecast: %+v", f)
	}
	g := f.ByModel["gpt-4.1"]
	// Batch gpt-4.1: min 4000×2/2, max (4000×2 + 1500×8)/2 µ$.
	if g.Requests != 2 || g.InputTokens != 4000 || g.MaxOutputTokens != 1500 || g.Cost.Min != micro(4000) || g.Cost.Max != micro(10000) {
		t.Errorf("gpt-4.1 line = %+v", g)
	}
	s := f.ByModel["claude-sonnet-4-5"]
	// min 1000×3/2, max (1000×6 + 100×15)/2 µ$.
	if s.Cost.Min != micro(1500) || s.Cost.Max != micro(3750) {
		t.Errorf("sonnet line = %+v", s)
	}
	if f.Total.Requests != 3 || f.Total.Cost.Max != g.Cost.Max+s.Cost.Max || f.Total.Cost.Min != g.Cost.Min+s.Cost.Min {
		t.Errorf("total = %+v", f.Total)
	}
	if err := (&cost.Forecast{}).Add(batchllm.Estimate{Model: "gpt-5", MaxOutputTokens: 1}); err == nil {
		t.Error("Forecast without prices accepted a request")
	}
}

// TestPricerIsTableCost: a Ledger priced by the table's Pricer totals what
// Cost says each item costs, at the batch price when asked, and counts a
// model the table does not know as unpriced.
func TestPricerIsTableCost(t *testing.T) {
	tab := cost.Default()
	u := batchllm.Usage{InputTokens: 1000, CachedInputTokens: 200, OutputTokens: 100}
	for _, batch := range []bool{false, true} {
		l := batchllm.NewLedger(tab.Pricer(batch))
		l.Add(batchllm.LedgerEntry{Model: "gpt-4o-mini", Usage: u})
		l.Add(batchllm.LedgerEntry{Model: "claude-sonnet-4-5", Usage: u, Class: batchllm.ClassTransient})
		l.Add(batchllm.LedgerEntry{Model: "gpt-9", Usage: u})
		want := mustCost(t, tab, "gpt-4o-mini", u, batch) + mustCost(t, tab, "claude-sonnet-4-5", u, batch)
		got := l.Totals()
		if cost.Amount(got.Cost) != want || got.Unpriced != 1 || got.ByModel["gpt-9"].Unpriced != 1 {
			t.Errorf("batch %v: cost %v unpriced %d, want %v and 1", batch, cost.Amount(got.Cost), got.Unpriced, want)
		}
	}
}
