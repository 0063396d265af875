package openai

import (
	"errors"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"github.com/batchllm/batchllm/llmsim"
)

// TestSimUnknownModelStopsBatch: a mistyped model costs 3 requests, and the
// 404 model_not_found is marked model-wide.
func TestSimUnknownModelStopsBatch(t *testing.T) {
	sim := startSim(t, llmsim.Config{RejectUnknownModels: true})
	s := simStrategy(t, sim, "", func(c *Config) { c.Model = "gpt-4o-mni" })
	simtest.UnknownModel(t, s, "The model `gpt-4o-mni` does not exist", func() int64 { return sim.Stats().OpenAI.Requests }, sim.ResetStats)
}

// TestSimModelLimits: the simulator refuses, with OpenAI's own bodies, a
// temperature a reasoning model rejects, a max_tokens above the model's
// output limit and a prompt beyond its context window; the strategy marks
// the first model-wide. (The strategy checks all three itself; a
// catalogue that knows no limits lets the requests through.)
func TestSimModelLimits(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	blind, err := cost.Parse([]byte(`{"models": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	half := 0.5
	s := simStrategy(t, sim, "", func(c *Config) { c.Model = "gpt-5-mini"; c.Catalogue = blind })
	p := batchllm.Text("q")
	p.Temperature = &half
	_, err = s.Call(t.Context(), req(p))
	if mw, ok := errors.AsType[*batchllm.ModelWideError](err); !ok || mw.Cause != "unsupported parameter temperature" || !strings.Contains(err.Error(), "Only the default (1) value is supported") {
		t.Errorf("temperature: %v", err)
	}
	s = simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 20_000; c.Catalogue = blind })
	_, err = s.Call(t.Context(), req(batchllm.Text("q")))
	if c := batchllm.DefaultClassifier.Classify(err).Class; c != batchllm.ClassFatalItem || !strings.Contains(err.Error(), "supports at most 16384 completion tokens") {
		t.Errorf("max_tokens: %v %v", c, err)
	}
	// The API sends this 400 with param max_tokens and a null code.
	if oe, ok := errors.AsType[*oai.Error](err); !ok || oe.Param != "max_tokens" || oe.Code != "" {
		t.Errorf("max_tokens: %+v, want param max_tokens and no code", oe)
	}
	s = simStrategy(t, sim, "", func(c *Config) { c.Catalogue = blind })
	_, err = s.Call(t.Context(), req(batchllm.Text(strings.Repeat("abcd", 130_000))))
	if c := batchllm.DefaultClassifier.Classify(err).Class; c != batchllm.ClassFatalItem || !strings.Contains(err.Error(), "context_length_exceeded") {
		t.Errorf("context: %v %v", c, err)
	}
	if _, ok := errors.AsType[*batchllm.ModelWideError](err); ok {
		t.Errorf("a long prompt is the item's own fault, not model-wide: %v", err)
	}
}
