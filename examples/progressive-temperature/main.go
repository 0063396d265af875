// Command progressive-temperature raises the sampling temperature after
// each invalid answer: the first attempt is deterministic (temperature 0),
// and when its answer does not validate, the retry samples more freely
// instead of repeating the same invalid answer. A retry after a network
// error or a rate limit keeps the temperature it had.
//
// The simulator is started with 40% of structured answers invalid. With
// OPENAI_API_KEY set it calls OpenAI instead.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/escalate"
	"github.com/batchllm/batchllm/examples/internal/simenv"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/openai"
)

var schema = &batchllm.Schema{Name: "keywords", JSON: json.RawMessage(`{"type":"object",
	"properties":{"keywords":{"type":"array","items":{"type":"string"}}},
	"required":["keywords"],"additionalProperties":false}`)}

// validated checks that the answer has the schema's required field, and
// prints the temperature each attempt used.
func validated(next batchllm.Strategy[batchllm.Prompt, string]) batchllm.Strategy[batchllm.Prompt, string] {
	return batchllm.StrategyFunc[batchllm.Prompt, string](func(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		fmt.Printf("%s attempt %d: temperature %.1f\n", req.ItemID, req.Attempt, *req.Input.Temperature)
		r, err := next.Call(ctx, req)
		if err != nil {
			return r, err
		}
		var v struct {
			Keywords *[]string `json:"keywords"`
		}
		if err := json.Unmarshal([]byte(r.Output), &v); err != nil || v.Keywords == nil {
			return r, batchllm.Classified(fmt.Errorf("answer %q lacks keywords", r.Output), batchllm.ClassInvalidOutput, 0)
		}
		return r, nil
	})
}

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	ep, err := simenv.ForConfig(simenv.OpenAI, llmsim.Config{Seed: 5, OpenAI: llmsim.ProviderConfig{
		Faults: map[llmsim.Fault]float64{llmsim.FaultInvalid: 0.4},
	}})
	if err != nil {
		return err
	}
	defer ep.Close()
	llm, err := openai.New(openai.Config{Model: "gpt-4o-mini", APIKey: ep.APIKey, BaseURL: ep.BaseURL})
	if err != nil {
		return err
	}
	// Temperatures wraps the validating strategy: after n invalid answers
	// the item gets temperature n (0-based), and past the list the last one.
	s := escalate.Temperatures(validated(llm), 0, 0.4, 0.8)
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
		Strategy: s, Workers: 1, Retry: batchllm.RetryPolicy{MaxAttempts: 4},
	})
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	for i, t := range []string{"Go channels and goroutines", "Rate limits and retries", "Context caching for RAG"} {
		in := batchllm.Text("Give three keywords for: " + t)
		in.Schema = schema
		if err := p.Add(ctx, batchllm.Item[batchllm.Prompt, string, struct{}]{ID: fmt.Sprintf("t%d", i+1), Input: in}); err != nil {
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
