package cost_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
)

func ExampleTable_Cost() {
	prices := cost.Default()
	// An Anthropic attempt: 1,000 uncached prompt tokens, 20,000 read from
	// the cache and 5,000 written to it, all counted in InputTokens.
	u := batchllm.Usage{InputTokens: 26_000, CachedInputTokens: 20_000, CacheWriteTokens: 5_000, OutputTokens: 800}
	c, err := prices.Cost("claude-sonnet-4-5-20250929", u, false)
	if err != nil {
		panic(err)
	}
	fmt.Println(c)
	// The same on the Message Batches API.
	c, _ = prices.Cost("claude-sonnet-4-5-20250929", u, true)
	fmt.Println(c)
	_, err = prices.Cost("gpt-9", u, false)
	fmt.Println(errors.Is(err, cost.ErrUnknownModel))
	// Output:
	// $0.03975
	// $0.019875
	// true
}

func ExampleForecast() {
	f := cost.Forecast{Prices: cost.Default()}
	for range 1000 {
		if err := f.Add(batchllm.Estimate{Model: "gpt-4o-mini", InputTokens: 1200, MaxOutputTokens: 300}); err != nil {
			panic(err)
		}
	}
	fmt.Printf("%d requests, %d prompt tokens, cost between %v and %v\n",
		f.Total.Requests, f.Total.InputTokens, f.Total.Cost.Min, f.Total.Cost.Max)
	// Output:
	// 1000 requests, 1200000 prompt tokens, cost between $0.18 and $0.36
}

func ExampleBudget() {
	// A $1 cap around the default cooldown gate. In a processor:
	// batchllm.Config[In, Out, C]{Gate: budget}.
	budget, err := cost.NewBudget(cost.Dollar, cost.BudgetOptions{})
	if err != nil {
		panic(err)
	}
	e := batchllm.Estimate{Model: "gpt-4o-mini", InputTokens: 100_000, MaxOutputTokens: 1_000_000}
	for i := 1; ; i++ {
		permit, err := budget.Admit(context.Background(), e)
		if errors.Is(err, cost.ErrBudgetExhausted) {
			fmt.Printf("attempt %d refused: %v spent\n", i, budget.Spent())
			return
		}
		// ... the call ..., which used less than its worst case:
		permit.Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 100_000, OutputTokens: 400_000}})
	}
	// Output:
	// attempt 3 refused: $0.51 spent
}
