package cost_test

import (
	"errors"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
)

// FuzzParse feeds price files to the parser. Whatever it accepts must give
// prices that cost any valid usage without error or panic, and never at a
// negative amount; whatever it rejects must be an error, not a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"source": "s", "as_of": "2026-01-01", "unit": "USD per 1M tokens", "models": {"m": {"provider": "p", "input": 0.15, "output": 0.6}}}`))
	f.Add([]byte(`{"models": {"m-1": {"input": 1.25, "cached_input": 0.125, "cache_write": 1.5, "cache_write_1h": 2.5, "output": 10, "batch_discount_percent": 50,
		"long_context": {"above_input_tokens": 200000, "input": 2.5, "output": 15}}}}`))
	f.Add([]byte(`{"models": {"m": {"input": 0.0000001, "output": 1}}}`))
	f.Add([]byte(`{"models": {"m": {"input": 99999999999999999999, "output": 1}}}`))
	f.Add([]byte(`{"models": {"": {"input": 1, "output": 1}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := cost.Parse(data)
		if err != nil {
			return
		}
		u := batchllm.Usage{InputTokens: 300_000, CachedInputTokens: 1000, CacheWriteTokens: 2000, OutputTokens: 5000}
		for _, m := range tab.Models() {
			for _, batch := range []bool{false, true} {
				c, err := tab.Cost(m, u, batch)
				if err != nil {
					continue // only overflow may fail a valid usage
				}
				if c < 0 {
					t.Fatalf("%s: negative cost %v", m, c)
				}
				// The worst case of a larger estimate bounds the real cost.
				r, err := tab.Estimate(batchllm.Estimate{Model: m, InputTokens: 2 * u.InputTokens, MaxOutputTokens: u.OutputTokens}, 0, batch)
				if err == nil && r.Max < c {
					t.Fatalf("%s: cost %v above its worst case %v", m, c, r)
				}
			}
		}
		if _, err := tab.Lookup("no-such-model-xyz"); err != nil && !errors.Is(err, cost.ErrUnknownModel) {
			t.Fatalf("Lookup of a missing model: %v, want ErrUnknownModel", err)
		}
	})
}

// FuzzLookup checks that any model name either has a price or gives
// ErrUnknownModel.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"gpt-4o-mini-2024-07-18", "claude-opus-4-9", "models/gemini-2.5-flash", "--", "gpt-5-", "o3@", "a/b/c"} {
		f.Add(s)
	}
	tab := cost.Default()
	f.Fuzz(func(t *testing.T, model string) {
		if _, err := tab.Lookup(model); err != nil && !errors.Is(err, cost.ErrUnknownModel) {
			t.Fatalf("Lookup(%q): %v", model, err)
		}
	})
}
