package gemini

import (
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"github.com/batchllm/batchllm/llmsim"
)

// streamed returns a streaming strategy on sim with the given limits.
func streamed(t *testing.T, sim *llmsim.Server, fault llmsim.Fault, firstToken, stall time.Duration, maxTokens int) *Strategy {
	cfg := simConfig(sim, string(fault))
	cfg.Stream, cfg.FirstTokenTimeout, cfg.StallTimeout, cfg.MaxTokens = true, firstToken, stall, maxTokens
	return newStrategy(t, cfg)
}

func TestStreamAssemblesLikeNonStreamed(t *testing.T) {
	sim := startSim(t, llmsim.Config{Gemini: llmsim.ProviderConfig{OutputTokens: 60}})
	for _, maxTokens := range []int{0, 10} { // whole, then cut by maxOutputTokens
		cfg := simConfig(sim, "")
		cfg.MaxTokens = maxTokens
		plain := newStrategy(t, cfg)
		stream := streamed(t, sim, "", time.Minute, time.Minute, maxTokens)
		p := batchllm.Text("tell me a long story")
		want, werr := plain.Call(t.Context(), req(p))
		got, gerr := stream.Call(t.Context(), req(p))
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("max %d: streamed err %v, plain err %v", maxTokens, gerr, werr)
		}
		if got.Output != want.Output || got.Usage != want.Usage || got.Model != want.Model ||
			got.FinishReason != want.FinishReason || got.RawFinishReason != want.RawFinishReason {
			t.Errorf("max %d: streamed %+v\nplain %+v", maxTokens, got, want)
		}
		wantFinish := map[int]string{0: "STOP", 10: "MAX_TOKENS"}[maxTokens]
		if got.RawFinishReason != wantFinish || (maxTokens == 10) != (batchllm.DefaultClassifier.Classify(gerr).Class == batchllm.ClassTruncated) {
			t.Errorf("max %d: finishReason %q err %v, want %q (truncated when cut)", maxTokens, got.RawFinishReason, gerr, wantFinish)
		}
		if maxTokens == 0 && (got.Usage.OutputTokens < 60 || !strings.Contains(got.Output, " pad pad")) {
			t.Errorf("usage %+v output %q: want the whole padded answer", got.Usage, got.Output)
		}
	}
}

func TestStreamFaults(t *testing.T) {
	sim := startSim(t, llmsim.Config{Gemini: llmsim.ProviderConfig{OutputTokens: 40}})
	simtest.StreamFaults(t, "gemini: ", func(t *testing.T, fault llmsim.Fault, firstToken, stall time.Duration) batchllm.Strategy[batchllm.Prompt, string] {
		return streamed(t, sim, fault, firstToken, stall, 0)
	}, func() llmsim.ProviderStats { return sim.Stats().Gemini })
}

// TestStreamErrorEvent: a 500 INTERNAL sent as a data line mid-stream (as
// genai reads one) fails the call as transient, naming the status.
func TestStreamErrorEvent(t *testing.T) {
	sim := startSim(t, llmsim.Config{Gemini: llmsim.ProviderConfig{OutputTokens: 40}})
	resp, err := streamed(t, sim, llmsim.FaultStreamError, time.Minute, time.Minute, 0).Call(t.Context(), req(batchllm.Text("hi")))
	if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassTransient || !strings.Contains(err.Error(), "500 INTERNAL") {
		t.Fatalf("class %v err %v, want a transient 500 INTERNAL", c.Class, err)
	}
	if resp.Output != "" || sim.Stats().Gemini.Faults[string(llmsim.FaultStreamError)] != 1 {
		t.Errorf("output %q, faults %v: want no answer and one stream error", resp.Output, sim.Stats().Gemini.Faults)
	}
}

func TestStreamRateLimitedBeforeStreaming(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	simtest.RateLimitedBeforeStreaming(t, streamed(t, sim, "429", time.Minute, time.Minute, 0))
}

func TestNewRejectsNegativeStreamLimits(t *testing.T) {
	if _, err := New(Config{Model: "m", APIKey: testKey, FirstTokenTimeout: -time.Second}); err == nil || !strings.Contains(err.Error(), "must be >= 0") {
		t.Errorf("err %v", err)
	}
}
