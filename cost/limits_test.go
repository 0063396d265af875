package cost_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/batchllm/batchllm/cost"
)

// TestCatalogueComplete: every model in the embedded catalogue has its
// limits, a source URL and a date, and limits that make sense together.
func TestCatalogueComplete(t *testing.T) {
	tab := cost.Default()
	for _, m := range tab.Models() {
		p, err := tab.Lookup(m)
		if err != nil {
			t.Fatal(err)
		}
		l := p.Limits
		switch {
		case l.ContextWindow <= 0 || l.MaxOutput <= 0 || l.CacheMinTokens <= 0:
			t.Errorf("%s: missing limits %+v", m, l)
		case l.MaxOutput >= l.ContextWindow:
			t.Errorf("%s: max output %d not below the context window %d", m, l.MaxOutput, l.ContextWindow)
		case !strings.HasPrefix(p.Source, "https://") || len(p.AsOf) != len("2026-12-01"):
			t.Errorf("%s: source %q, as_of %q; want a URL and a date", m, p.Source, p.AsOf)
		case l.API != "" && l.API != cost.APIResponses:
			t.Errorf("%s: api %q", m, l.API)
		}
		if p.Provider == "anthropic" && !l.FixedTemperature {
			t.Errorf("%s: Anthropic's API version of SDK v2 rejects temperature", m)
		}
		if lc := p.LongContext; lc != nil && lc.AboveInputTokens >= l.ContextWindow {
			t.Errorf("%s: long-context tier above %d cannot be reached in a %d window", m, lc.AboveInputTokens, l.ContextWindow)
		}
	}
}

// TestCatalogueFigures pins the figures the review found wrong or missing.
func TestCatalogueFigures(t *testing.T) {
	tab := cost.Default()
	for _, c := range []struct {
		model         string
		ctx, out, min int64
		fixed         bool
		api           string
	}{
		{"claude-haiku-4-5-20251001", 200_000, 64_000, 4096, true, ""},
		{"claude-opus-4-5", 200_000, 64_000, 4096, true, ""},
		{"claude-sonnet-4-6", 1_000_000, 128_000, 2048, true, ""},
		{"claude-sonnet-4-5", 1_000_000, 64_000, 1024, true, ""},
		{"claude-3-5-haiku", 200_000, 8192, 2048, true, ""},
		{"gemini-2.5-pro", 1_048_576, 65_536, 2048, false, ""},
		{"models/gemini-2.5-flash", 1_048_576, 65_536, 1024, false, ""},
		{"gpt-4o-mini-2024-07-18", 128_000, 16_384, 1024, false, ""},
		{"gpt-5-mini", 400_000, 128_000, 1024, true, ""},
		{"o3-pro", 200_000, 100_000, 1024, true, cost.APIResponses},
		{"gpt-5-pro", 400_000, 272_000, 1024, true, cost.APIResponses},
	} {
		l, err := tab.Limits(c.model)
		if err != nil {
			t.Fatal(err)
		}
		if l.ContextWindow != c.ctx || l.MaxOutput != c.out || l.CacheMinTokens != c.min || l.FixedTemperature != c.fixed || l.API != c.api {
			t.Errorf("%s: limits %+v", c.model, l)
		}
	}
	for _, m := range []string{"gpt-5.4-nano", "gpt-5.5", "o3-pro", "gpt-5-pro"} {
		if _, err := tab.Lookup(m); err != nil {
			t.Errorf("%s missing: %v", m, err)
		}
	}
	if n := tab.MaxOutput("gpt-4o"); n != 16_384 {
		t.Errorf("MaxOutput(gpt-4o) = %d", n)
	}
	if n := tab.MaxOutput("no-such-model"); n != 0 {
		t.Errorf("MaxOutput(unknown) = %d, want 0", n)
	}
	if _, err := tab.Limits("no-such-model"); !errors.Is(err, cost.ErrUnknownModel) {
		t.Errorf("Limits(unknown) err = %v", err)
	}
}

// TestCheckInput: a prompt that fills the context window is refused before
// it is sent; an unknown model or one that fits passes.
func TestCheckInput(t *testing.T) {
	tab := cost.Default()
	err := tab.CheckInput("gpt-4o-mini", 2_500_000)
	var ce *cost.ContextError
	if !errors.As(err, &ce) || ce.ContextWindow != 128_000 || ce.InputTokens != 2_500_000 || !strings.Contains(err.Error(), "128000-token context window of gpt-4o-mini") {
		t.Fatalf("CheckInput(2.5M) = %v", err)
	}
	if err := tab.CheckInput("gpt-4o-mini", 128_000); err == nil {
		t.Error("a prompt as long as the window leaves no room for an answer, yet passed")
	}
	for _, c := range []struct {
		model string
		n     int64
	}{{"gpt-4o-mini", 127_999}, {"gemini-2.5-pro", 1_000_000}, {"no-such-model", 1 << 40}} {
		if err := tab.CheckInput(c.model, c.n); err != nil {
			t.Errorf("CheckInput(%s, %d) = %v", c.model, c.n, err)
		}
	}
}

// TestLimitsOverride: a user's catalogue file changes a model's limits as
// it changes prices.
func TestLimitsOverride(t *testing.T) {
	tab := cost.Default()
	o, err := cost.Parse([]byte(`{"models": {"gpt-4o-mini": {"provider": "openai", "input": 0.15, "output": 0.6, "context_window": 1000, "max_output": 100, "cache_min_tokens": 1024, "source": "https://example.com", "as_of": "2026-12-01"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	tab.Merge(o)
	if l, _ := tab.Limits("gpt-4o-mini"); l.ContextWindow != 1000 || l.MaxOutput != 100 {
		t.Errorf("override ignored: %+v", l)
	}
	if _, err := cost.Parse([]byte(`{"models": {"x": {"provider": "openai", "input": 1, "output": 2, "context_windw": 5}}}`)); err == nil {
		t.Error("a misspelt limit was accepted")
	}
}

// TestCheckEstimateMargin: an approximate count is refused only beyond
// ApproxMargin × the window; an exact one at the window.
func TestCheckEstimateMargin(t *testing.T) {
	tab := cost.Default()
	if err := tab.CheckEstimate("claude-haiku-4-5", 280_000, false); err != nil {
		t.Errorf("approximate 280k on a 200k window (within 1.5×): %v", err)
	}
	err := tab.CheckEstimate("claude-haiku-4-5", 310_000, false)
	var ce *cost.ContextError
	if !errors.As(err, &ce) || ce.InputTokens != 310_000 {
		t.Errorf("approximate 310k: %v", err)
	}
	if err := tab.CheckEstimate("claude-haiku-4-5", 200_000, true); err == nil {
		t.Error("exact 200k on a 200k window passed")
	}
}
