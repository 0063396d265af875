package ratelimit_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/ratelimit"
)

func Example() {
	gate, err := ratelimit.New(ratelimit.Config{
		Scopes: map[string]ratelimit.Limits{
			// Anthropic limits input and output tokens separately, and does
			// not count cache reads toward the input limit.
			"anthropic/claude-sonnet": {Requests: 50, InputTokens: 30_000, OutputTokens: 8_000, CachedInputExempt: true},
		},
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	// What a processor does around each attempt.
	e := batchllm.Estimate{Scope: "anthropic/claude-sonnet", InputTokens: 1200, MaxOutputTokens: 500}
	p, err := gate.Admit(ctx, e)
	if err != nil {
		panic(err)
	}
	// … the call …
	p.Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 1200, CachedInputTokens: 1000, OutputTokens: 120}})

	// The burst is 5 s of each limit. The attempt reserved 1200 input
	// tokens; only the 200 uncached ones count, so 1000 came back. (The
	// bucket refills by 500 tokens a second: round down to hundreds.)
	st, _ := gate.Stats().Scope("anthropic/claude-sonnet")
	fmt.Printf("burst %d input tokens, about %d left\n", st.InputTokens.Capacity, st.InputTokens.Available/100*100)

	// An attempt that no window could ever hold fails at once.
	_, err = gate.Admit(ctx, batchllm.Estimate{Scope: "anthropic/claude-sonnet", InputTokens: 40_000})
	var tooLarge *ratelimit.TooLargeError
	fmt.Println(errors.As(err, &tooLarge), batchllm.DefaultClassifier.Classify(err).Class)
	// Output:
	// burst 2500 input tokens, about 2300 left
	// true fatal_item
}
