package gemini

import (
	"strings"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"github.com/batchllm/batchllm/llmsim"
)

// TestSimUnknownModelStopsBatch: a mistyped model costs 3 requests, and the
// 404 NOT_FOUND is marked model-wide.
func TestSimUnknownModelStopsBatch(t *testing.T) {
	sim := startSim(t, llmsim.Config{RejectUnknownModels: true})
	cfg := simConfig(sim, "")
	cfg.Model = "gemini-2.5-flahs"
	simtest.UnknownModel(t, newStrategy(t, cfg), "models/gemini-2.5-flahs is not found", func() int64 { return sim.Stats().Gemini.Requests }, sim.ResetStats)
}

// TestSimContextWindow: the simulator's per-model context window, with
// Gemini's body; the strategy refuses the same prompt before sending.
func TestSimContextWindow(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	cfg := simConfig(sim, "")
	blind, _ := cost.Parse([]byte(`{"models": {}}`))
	cfg.Catalogue = blind
	// 1.7M tokens as the simulator counts them; the strategy's approximate
	// count must pass the window by cost.ApproxMargin to refuse it.
	long := batchllm.Text(strings.Repeat("abcd", 1_700_000))
	_, err := newStrategy(t, cfg).Call(t.Context(), req(long))
	if c := batchllm.DefaultClassifier.Classify(err).Class; c != batchllm.ClassFatalItem || !strings.Contains(err.Error(), "exceeds the maximum number of tokens allowed (1048576)") {
		t.Errorf("sim: %v %v", c, err)
	}
	sim.ResetStats()
	cfg.Catalogue = nil
	_, err = newStrategy(t, cfg).Call(t.Context(), req(long))
	if c := batchllm.DefaultClassifier.Classify(err).Class; c != batchllm.ClassFatalItem || !strings.Contains(err.Error(), "context window of gemini-2.5-flash") || sim.Stats().Gemini.Requests != 0 {
		t.Errorf("strategy: %v %v", c, err)
	}
}
