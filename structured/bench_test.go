package structured_test

import (
	"context"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/structured"
)

// fixed is an inner strategy that always gives the same answer.
func fixed(answer string) batchllm.Strategy[batchllm.Prompt, string] {
	return batchllm.StrategyFunc[batchllm.Prompt, string](func(context.Context, batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		return batchllm.Response[string]{Output: answer, Usage: usage}, nil
	})
}

// BenchmarkCallValid measures the overhead of one attempt whose answer is
// valid: building the prompt, extracting, checking each field against the
// schema, decoding, and Validate.
func BenchmarkCallValid(b *testing.B) {
	s, err := structured.New[Person](fixed("```json\n" + valid + "\n```"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	in := batchllm.Text(prompt)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Call(ctx, batchllm.Request[batchllm.Prompt]{ItemID: "a", Input: in, Attempt: 1, State: &batchllm.RetryState{}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallReask measures an invalid first answer followed by a
// partial re-ask: two attempts, with feedback and a subset schema.
func BenchmarkCallReask(b *testing.B) {
	n := 0
	inner := batchllm.StrategyFunc[batchllm.Prompt, string](func(context.Context, batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		n++
		if n%2 == 1 {
			return batchllm.Response[string]{Output: badTwo, Usage: usage}, nil
		}
		return batchllm.Response[string]{Output: `{"age":34,"email":"ann@example.com"}`, Usage: usage}, nil
	})
	s, err := structured.New[Person](inner, structured.PartialRecovery())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	in := batchllm.Text(prompt)
	b.ReportAllocs()
	for b.Loop() {
		st := &batchllm.RetryState{}
		if _, err := s.Call(ctx, batchllm.Request[batchllm.Prompt]{ItemID: "a", Input: in, Attempt: 1, State: st}); err == nil {
			b.Fatal("first answer passed")
		}
		if _, err := s.Call(ctx, batchllm.Request[batchllm.Prompt]{ItemID: "a", Input: in, Attempt: 2, State: st}); err != nil {
			b.Fatal(err)
		}
	}
}
