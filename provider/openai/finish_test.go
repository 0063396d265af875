package openai

import (
	"errors"
	"strings"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/childtest"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/tokens"
)

func TestFinishReasonMapping(t *testing.T) {
	for raw, want := range map[string]batchllm.FinishReason{
		"stop": batchllm.FinishStop, "length": batchllm.FinishLength, "content_filter": batchllm.FinishContentFilter,
		"tool_calls": batchllm.FinishToolUse, "function_call": batchllm.FinishToolUse, "": batchllm.FinishUnknown, "eos": batchllm.FinishOther,
	} {
		if got := FinishReason(raw); got != want {
			t.Errorf("FinishReason(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestSimFinishLength: an answer cut off by max_completion_tokens fails
// with class truncated by default, is returned with its finish reason when
// accepted, and is retried with a doubled limit under retry-larger.
func TestSimFinishLength(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	p := batchllm.Text("tell me a long story")

	s := simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 3 })
	resp, err := s.Call(t.Context(), req(p))
	if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassTruncated {
		t.Fatalf("class %v (err %v), want truncated", c.Class, err)
	}
	if resp.FinishReason != batchllm.FinishLength || resp.RawFinishReason != "length" || resp.Usage.OutputTokens != 3 || resp.Usage.InputTokens == 0 {
		t.Errorf("response %+v", resp)
	}
	if te, ok := errors.AsType[*batchllm.TruncatedError](err); !ok || te.MaxTokens != 3 || !strings.Contains(err.Error(), "output limit was 3 tokens") {
		t.Errorf("error %v", err)
	}

	s = simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 3; c.OnTruncated = batchllm.TruncatedAccept })
	resp, err = s.Call(t.Context(), req(p))
	if err != nil || resp.FinishReason != batchllm.FinishLength || len(resp.Output) == 0 {
		t.Errorf("accepted: %+v, %v", resp, err)
	}

	// Retry-larger: 3 → 6 → 12 → 24 tokens, each attempt retried at once
	// (invalid_output) until the answer fits.
	s = simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 3; c.OnTruncated = batchllm.TruncatedRetryLarger })
	r := req(p)
	var limits []int64
	for attempt := 1; attempt <= 8; attempt++ {
		r.Attempt = attempt
		limits = append(limits, s.Estimate(r).MaxOutputTokens)
		resp, err = s.Call(t.Context(), r)
		if err == nil {
			break
		}
		if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassInvalidOutput {
			t.Fatalf("attempt %d: class %v, want invalid_output (retried at once)", attempt, c.Class)
		}
	}
	if err != nil || resp.FinishReason != batchllm.FinishStop {
		t.Fatalf("never completed: %v (limits %v)", err, limits)
	}
	for i := 1; i < len(limits); i++ {
		if limits[i] != 2*limits[i-1] {
			t.Errorf("limits %v do not double", limits)
		}
	}
	if limits[0] != 3 || len(limits) < 2 {
		t.Errorf("limits %v", limits)
	}
}

// TestRetryLargerStopsAtModelMax: the limit never grows past the model's
// maximum output in the catalogue; at the maximum the answer is truncated.
func TestRetryLargerStopsAtModelMax(t *testing.T) {
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{OutputTokens: 20_000}})
	s := simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 10_000; c.OnTruncated = batchllm.TruncatedRetryLarger })
	r := req(batchllm.Text("q"))
	_, err := s.Call(t.Context(), r)
	if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassInvalidOutput {
		t.Fatalf("first: %v", err)
	}
	if got := s.Estimate(r).MaxOutputTokens; got != 16_384 { // gpt-4o-mini's maximum, not 20,000
		t.Fatalf("grown limit %d, want 16384", got)
	}
	_, err = s.Call(t.Context(), r)
	if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassTruncated {
		t.Fatalf("at the maximum: class %v (%v), want truncated", c.Class, err)
	}
}

// TestContextWindowRefused: a prompt longer than the model's context window
// fails its item before anything is sent.
func TestContextWindowRefused(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := simStrategy(t, sim, "", nil)
	_, err := s.Call(t.Context(), req(batchllm.Text(strings.Repeat("lorem ipsum ", 130_000))))
	if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassFatalItem || !strings.Contains(err.Error(), "context window of gpt-4o-mini") {
		t.Fatalf("class %v err %v", c.Class, err)
	}
	if n := sim.Stats().OpenAI.Requests; n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestContextWindowCountedPastTheBytes: a prompt whose bytes exceed the
// context window but whose tokens do not is counted with the tokenizer, and
// sent.
func TestContextWindowCountedPastTheBytes(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := simStrategy(t, sim, "", nil)
	// 180,000 bytes, about 30,000 tokens; gpt-4o-mini's window is 128,000.
	if _, err := s.Call(t.Context(), req(batchllm.Text(strings.Repeat("hello ", 30_000)))); err != nil {
		t.Fatal(err)
	}
	if n := sim.Stats().OpenAI.Requests; n != 1 {
		t.Errorf("%d requests sent, want 1", n)
	}
}

// TestShortPromptLeavesTheVocabularyUnloaded: a prompt whose bytes fit the
// context window is checked without the tokenizer, so the vocabulary is
// first loaded by a later Count. It runs in a child process, where nothing
// has loaded it yet.
func TestShortPromptLeavesTheVocabularyUnloaded(t *testing.T) {
	if !childtest.Run(t) {
		return
	}
	sim := startSim(t, llmsim.Config{})
	s := simStrategy(t, sim, "", nil)
	if _, err := s.Call(t.Context(), req(batchllm.Text("a short prompt"))); err != nil {
		t.Fatal(err)
	}
	c, _ := tokens.OpenAI("gpt-4o-mini")
	if n := childtest.Allocated(func() { c.Count("hello") }); n < 4<<20 {
		t.Errorf("the first Count after the call allocated %d bytes; want the vocabulary loaded only then", n)
	}
}

// TestTemperatureRefused: a reasoning model's fixed temperature is checked
// at construction and per prompt; 1 (the default) passes.
func TestTemperatureRefused(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	half, one := 0.5, 1.0
	if _, err := New(Config{Model: "gpt-5-mini", APIKey: "k", BaseURL: sim.OpenAIBaseURL(), Temperature: &half}); err == nil || !strings.Contains(err.Error(), "Config.Temperature") {
		t.Errorf("New with temperature 0.5 on gpt-5-mini: %v", err)
	}
	s := simStrategy(t, sim, "", func(c *Config) { c.Model = "gpt-5-mini" })
	p := batchllm.Text("q")
	p.Temperature = &half
	_, err := s.Call(t.Context(), req(p))
	if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassFatalItem {
		t.Errorf("prompt temperature 0.5: %v", err)
	}
	p.Temperature = &one
	if _, err := s.Call(t.Context(), req(p)); err != nil {
		t.Errorf("temperature 1: %v", err)
	}
	if n := sim.Stats().OpenAI.Requests; n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}
