package anthropic

import (
	"strings"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"github.com/batchllm/batchllm/llmsim"
)

// TestSimUnknownModelStopsBatch: a mistyped model costs 3 requests, and the
// 404 not_found_error is marked model-wide.
func TestSimUnknownModelStopsBatch(t *testing.T) {
	sim := startSim(t, llmsim.Config{RejectUnknownModels: true})
	s := simStrategy(t, sim, "", func(c *Config) { c.Model = "claude-haiku-4-6" })
	simtest.UnknownModel(t, s, "model: claude-haiku-4-6", func() int64 { return sim.Stats().Anthropic.Requests }, sim.ResetStats)
}

// TestSimModelLimits: the simulator's per-model context window, output
// limit and cache minimum, with Anthropic's bodies.
func TestSimModelLimits(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	blind, _ := cost.Parse([]byte(`{"models": {}}`))
	s := simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 100_000; c.Catalogue = blind })
	_, err := s.Call(t.Context(), req(batchllm.Text("q")))
	if !strings.Contains(err.Error(), "100000 > 64000, which is the maximum allowed number of output tokens for claude-haiku-4-5") {
		t.Errorf("max_tokens: %v", err)
	}
	s = simStrategy(t, sim, "", func(c *Config) { c.Catalogue = blind })
	_, err = s.Call(t.Context(), req(batchllm.Text(strings.Repeat("abcd", 200_001))))
	if c := batchllm.DefaultClassifier.Classify(err).Class; c != batchllm.ClassFatalItem || !strings.Contains(err.Error(), "prompt is too long: 200") {
		t.Errorf("context: %v %v", c, err)
	}
	// Haiku 4.5 caches 4,096 tokens or more: a 2,000-token context is not
	// cached, a 4,200-token one is.
	for _, c := range []struct {
		n      int
		cached bool
	}{{2000, false}, {4200, true}} {
		s = simStrategy(t, sim, "", func(cfg *Config) { cfg.Context = strings.Repeat("abcd", c.n); cfg.CacheTTL = 300e9 })
		resp, err := s.Call(t.Context(), req(batchllm.Text("q")))
		if err != nil {
			t.Fatal(err)
		}
		if (resp.Usage.CacheWriteTokens > 0) != c.cached {
			t.Errorf("%d-token context: usage %+v, cached %v", c.n, resp.Usage, c.cached)
		}
	}
}
