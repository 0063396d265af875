// Command progressive-temperature raises the sampling temperature after
// each invalid answer: the first attempt is deterministic (temperature 0),
// and when its answer does not validate, the retry samples more freely
// instead of repeating the same invalid answer. A retry after a network
// error or a rate limit keeps the temperature it had.
//
// Package structured validates the answers (an invalid one fails its
// attempt as invalid_output and is re-asked with feedback);
// escalate.Temperatures, under it, picks the temperature by the number of
// invalid answers so far.
//
// The simulator is started with 40% of structured answers invalid. With
// OPENAI_API_KEY set it calls OpenAI instead.
package main

import (
	"context"
	"fmt"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/escalate"
	"github.com/batchllm/batchllm/examples/internal/simenv"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/openai"
	"github.com/batchllm/batchllm/structured"
)

// Keywords is the answer each item asks for.
type Keywords struct {
	Keywords []string `json:"keywords"`
}

// showTemperature prints the temperature each attempt is sent with.
func showTemperature(next batchllm.Strategy[batchllm.Prompt, string]) batchllm.Strategy[batchllm.Prompt, string] {
	return batchllm.StrategyFunc[batchllm.Prompt, string](func(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		fmt.Printf("%s attempt %d: temperature %.1f\n", req.ItemID, req.Attempt, *req.Input.Temperature)
		return next.Call(ctx, req)
	})
}

func main() {
	simenv.Main(simenv.OpenAI, llmsim.Config{Seed: 5, OpenAI: llmsim.ProviderConfig{
		Faults: map[llmsim.Fault]float64{llmsim.FaultInvalid: 0.4},
	}}, run)
}

// run sends the requests to ep: the provider itself when its API key is
// set, the simulator otherwise.
func run(ctx context.Context, ep simenv.Endpoint) error {
	llm, err := openai.New(openai.Config{Model: "gpt-4o-mini", APIKey: ep.APIKey, BaseURL: ep.BaseURL})
	if err != nil {
		return err
	}
	// After n invalid answers the item gets the n-th temperature (0-based),
	// and past the list the last one.
	s, err := structured.New[Keywords](escalate.Temperatures(showTemperature(llm), 0, 0.4, 0.8))
	if err != nil {
		return err
	}
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, Keywords, struct{}]{
		Strategy: s, Workers: 1, Retry: batchllm.RetryPolicy{MaxAttempts: 4},
	})
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	for i, t := range []string{"Go channels and goroutines", "Rate limits and retries", "Context caching for RAG"} {
		in := batchllm.Text("Give three keywords for: " + t)
		if err := p.Add(ctx, batchllm.Item[batchllm.Prompt, Keywords, struct{}]{ID: fmt.Sprintf("t%d", i+1), Input: in}); err != nil {
			return err
		}
	}
	p.Finish()
	sum, err := p.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("done: %d succeeded, %d failed, %d attempts\n", sum.Stats.Succeeded, sum.Stats.Failed, sum.Stats.Attempts)
	return nil
}
