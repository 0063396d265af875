package dedupe_test

import (
	"context"
	"fmt"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/dedupe"
	"github.com/batchllm/batchllm/journal"
)

func Example() {
	// A strategy standing in for a provider: it answers and reports usage.
	llm := batchllm.StrategyFunc[batchllm.Prompt, string](func(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		return batchllm.Response[string]{Output: "answer to " + req.Input.Text(), Usage: batchllm.Usage{InputTokens: 12, OutputTokens: 30}}, nil
	})

	// Identical prompts (same messages, system, model and parameters) have
	// the same digest, so they are sent once.
	d := dedupe.New[batchllm.Prompt, string](func(p batchllm.Prompt) (string, error) { return journal.Digest(p) }, dedupe.Options{})
	cfg := batchllm.Config[batchllm.Prompt, string, struct{}]{
		Strategy:   llm,
		Middleware: []batchllm.Middleware[batchllm.Prompt, string]{d.Middleware()},
	}

	// The processor applies cfg.Middleware around each attempt; here we do
	// it by hand.
	s := cfg.Middleware[0](cfg.Strategy)
	for i, q := range []string{"capital of France?", "capital of Peru?", "capital of France?"} {
		r, err := s.Call(context.Background(), batchllm.Request[batchllm.Prompt]{ItemID: fmt.Sprint(i), Input: batchllm.Text(q), Attempt: 1, State: &batchllm.RetryState{}})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s → %s (%d tokens)\n", q, r.Output, r.Usage.TotalTokens())
	}
	fmt.Printf("%+v\n", d.Stats())
	// Output:
	// capital of France? → answer to capital of France? (42 tokens)
	// capital of Peru? → answer to capital of Peru? (42 tokens)
	// capital of France? → answer to capital of France? (0 tokens)
	// {Calls:2 Shared:0 Hits:1 Cached:2}
}
