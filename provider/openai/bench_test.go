package openai

import (
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
)

// BenchmarkCall measures one chat completion through the SDK against the
// simulator on loopback: the cost of the SDK, JSON and HTTP per call, which
// bounds the calls one process can make per second.
func BenchmarkCall(b *testing.B) {
	sim, err := llmsim.Start(llmsim.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	s, err := New(Config{Model: "gpt-4o-mini", APIKey: "k", BaseURL: sim.OpenAIBaseURL(), MaxTokens: 20})
	if err != nil {
		b.Fatal(err)
	}
	r := batchllm.Request[batchllm.Prompt]{Input: batchllm.Text("hello"), State: &batchllm.RetryState{}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Call(b.Context(), r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEstimate measures the token estimate the admission gate asks for
// before every attempt.
func BenchmarkEstimate(b *testing.B) {
	s, _ := New(Config{Model: "gpt-4o-mini", APIKey: "k", System: "You are a careful assistant."})
	r := batchllm.Request[batchllm.Prompt]{Input: batchllm.Text("Summarise the following paragraph in one sentence: the quick brown fox jumps over the lazy dog.")}
	b.ReportAllocs()
	for b.Loop() {
		s.Estimate(r)
	}
}
