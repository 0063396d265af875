// Command model-escalation asks a cheap model first and a stronger, dearer
// model only for the items whose cheap answer did not validate. Rate limits,
// timeouts and server errors never escalate: the strong model would fail
// the same way, at a higher price.
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

var schema = &batchllm.Schema{Name: "person", JSON: json.RawMessage(`{"type":"object",
	"properties":{"name":{"type":"string"},"age":{"type":"integer"}},
	"required":["name","age"],"additionalProperties":false}`)}

// validated checks the answer against the schema's required fields and
// prints which model each attempt used and whether its answer validated.
func validated(next batchllm.Strategy[batchllm.Prompt, string]) batchllm.Strategy[batchllm.Prompt, string] {
	return batchllm.StrategyFunc[batchllm.Prompt, string](func(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		r, err := next.Call(ctx, req)
		if err != nil {
			return r, err
		}
		var v struct {
			Name *string `json:"name"`
			Age  *int    `json:"age"`
		}
		if err := json.Unmarshal([]byte(r.Output), &v); err != nil || v.Name == nil || v.Age == nil {
			fmt.Printf("%s attempt %d: %s: invalid\n", req.ItemID, req.Attempt, r.Model)
			return r, batchllm.Classified(fmt.Errorf("answer %q misses name or age", r.Output), batchllm.ClassInvalidOutput, 0)
		}
		fmt.Printf("%s attempt %d: %s: valid\n", req.ItemID, req.Attempt, r.Model)
		return r, nil
	})
}

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	ep, err := simenv.ForConfig(simenv.OpenAI, llmsim.Config{Seed: 1, OpenAI: llmsim.ProviderConfig{
		Faults: map[llmsim.Fault]float64{llmsim.FaultInvalid: 0.4},
	}})
	if err != nil {
		return err
	}
	defer ep.Close()
	var steps []batchllm.Strategy[batchllm.Prompt, string]
	for _, model := range []string{"gpt-4o-mini", "gpt-4o"} {
		s, err := openai.New(openai.Config{Model: model, APIKey: ep.APIKey, BaseURL: ep.BaseURL})
		if err != nil {
			return err
		}
		steps = append(steps, validated(s))
	}
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
		Strategy: escalate.Models(steps...), Workers: 1, Retry: batchllm.RetryPolicy{MaxAttempts: 4},
	})
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	for i, t := range []string{"John Smith, 32", "Ana Silva, aged 41", "Li Wei (29)", "Olu Ade, 55 years"} {
		in := batchllm.Text("Extract the person: " + t)
		in.Schema = schema
		if err := p.Add(ctx, batchllm.Item[batchllm.Prompt, string, struct{}]{ID: fmt.Sprintf("p%d", i+1), Input: in}); err != nil {
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
