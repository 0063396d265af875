package openai

import (
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"github.com/batchllm/batchllm/llmsim"
)

// streamed returns a streaming strategy on sim with the given limits.
func streamed(t *testing.T, sim *llmsim.Server, fault string, firstToken, stall time.Duration, mod func(*Config)) *Strategy {
	return simStrategy(t, sim, fault, func(c *Config) {
		c.Stream, c.FirstTokenTimeout, c.StallTimeout = true, firstToken, stall
		if mod != nil {
			mod(c)
		}
	})
}

func TestStreamAssemblesLikeNonStreamed(t *testing.T) {
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{RPM: 6000, TPM: 1_000_000, OutputTokens: 60}})
	for _, maxTokens := range []int{0, 10} { // whole, then cut by the output limit
		plain := simStrategy(t, sim, "", func(c *Config) { c.System = "be brief"; c.MaxTokens = maxTokens })
		stream := streamed(t, sim, "", time.Minute, time.Minute, func(c *Config) { c.System = "be brief"; c.MaxTokens = maxTokens })
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
		wantFinish := map[int]batchllm.FinishReason{0: batchllm.FinishStop, 10: batchllm.FinishLength}[maxTokens]
		if got.FinishReason != wantFinish || (maxTokens == 10) != (batchllm.DefaultClassifier.Classify(gerr).Class == batchllm.ClassTruncated) {
			t.Errorf("max %d: finish %q err %v, want %q (truncated when cut)", maxTokens, got.FinishReason, gerr, wantFinish)
		}
		if got.Limits == nil || got.Limits.Requests.Limit != 6000 {
			t.Errorf("max %d: limits %+v, want the x-ratelimit headers of the stream's response", maxTokens, got.Limits)
		}
	}
}

func TestStreamUsageAndFinishFromStream(t *testing.T) {
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{OutputTokens: 40}})
	s := streamed(t, sim, "", 0, 0, func(c *Config) { c.MaxTokens = 12 })
	cc, err := s.completeStream(t.Context(), s.Params(batchllm.Text("go on")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if fr := cc.Choices[0].FinishReason; fr != "length" {
		t.Errorf("finish_reason %q, want length", fr)
	}
	if len(cc.Choices[0].Message.Content) != 4*12 {
		t.Errorf("content %q has %d bytes, want the 48 of 12 tokens", cc.Choices[0].Message.Content, len(cc.Choices[0].Message.Content))
	}
	st := sim.Stats().OpenAI
	if cc.Usage.PromptTokens != st.InputTokens || cc.Usage.CompletionTokens != 12 || st.OutputTokens != 12 {
		t.Errorf("usage %+v, sim counted in %d out %d", cc.Usage, st.InputTokens, st.OutputTokens)
	}
}

func TestStreamFaults(t *testing.T) {
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{OutputTokens: 40}})
	simtest.StreamFaults(t, "openai: ", func(t *testing.T, fault llmsim.Fault, firstToken, stall time.Duration) batchllm.Strategy[batchllm.Prompt, string] {
		return streamed(t, sim, string(fault), firstToken, stall, nil)
	}, func() llmsim.ProviderStats { return sim.Stats().OpenAI })
}

func TestStreamRateLimitedBeforeStreaming(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	simtest.RateLimitedBeforeStreaming(t, streamed(t, sim, "429", time.Minute, time.Minute, nil))
}

func TestNewRejectsNegativeStreamLimits(t *testing.T) {
	for _, cfg := range []Config{{Model: "m", StallTimeout: -time.Second}, {Model: "m", FirstTokenTimeout: -1}} {
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "must be >= 0") {
			t.Errorf("%+v: err %v", cfg, err)
		}
	}
}

// TestStreamErrorChunk: a chat completions stream that ends with an
// {"error": …} chunk (a server error mid-answer) fails as transient and
// reports no usage, which OpenAI sends only at the end of a stream.
func TestStreamErrorChunk(t *testing.T) {
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{OutputTokens: 40}})
	resp, err := streamed(t, sim, string(llmsim.FaultStreamError), time.Minute, time.Minute, nil).Call(t.Context(), req(batchllm.Text("hi")))
	if c := batchllm.DefaultClassifier.Classify(err).Class; c != batchllm.ClassTransient || !strings.Contains(err.Error(), "server_error") {
		t.Errorf("class %v, err %v", c, err)
	}
	if !resp.Usage.IsZero() || sim.Stats().OpenAI.Faults[string(llmsim.FaultStreamError)] != 1 {
		t.Errorf("usage %+v, faults %v", resp.Usage, sim.Stats().OpenAI.Faults)
	}
}
