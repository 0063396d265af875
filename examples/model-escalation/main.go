// Command model-escalation asks a cheap model first and a stronger, dearer
// model only for the items whose cheap answer did not validate. Rate limits,
// timeouts and server errors never escalate: the strong model would fail
// the same way, at a higher price.
//
// Package structured validates the answers (an invalid one fails its
// attempt as invalid_output and is re-asked with feedback); escalate.Models,
// under it, picks the model by the number of invalid answers so far.
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

// Person is the answer each item asks for.
type Person struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
}

// attempts prints which model each attempt used and whether its answer
// validated.
type attempts struct{}

func (attempts) OnEvent(e batchllm.Event) {
	switch e.Kind {
	case batchllm.EventAttemptFailed:
		fmt.Printf("%s attempt %d: %s: %s\n", e.ItemID, e.Attempt, e.Model, e.Class)
	case batchllm.EventItemCompleted:
		fmt.Printf("%s attempt %d: %s: valid\n", e.ItemID, e.Attempt, e.Model)
	}
}

func main() {
	simenv.Main(simenv.OpenAI, llmsim.Config{Seed: 1, OpenAI: llmsim.ProviderConfig{
		Faults: map[llmsim.Fault]float64{llmsim.FaultInvalid: 0.4},
	}}, run)
}

// run sends the requests to ep: the provider itself when its API key is
// set, the simulator otherwise.
func run(ctx context.Context, ep simenv.Endpoint) error {
	// One strategy per model, cheapest first.
	var steps []batchllm.Strategy[batchllm.Prompt, string]
	for _, model := range []string{"gpt-4o-mini", "gpt-4o"} {
		s, err := openai.New(openai.Config{Model: model, APIKey: ep.APIKey, BaseURL: ep.BaseURL})
		if err != nil {
			return err
		}
		steps = append(steps, s)
	}
	s, err := structured.New[Person](escalate.Models(steps...))
	if err != nil {
		return err
	}
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, Person, struct{}]{
		Strategy: s, Workers: 1, Retry: batchllm.RetryPolicy{MaxAttempts: 4},
		Observers: []batchllm.Observer{attempts{}},
	})
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	for i, t := range []string{"John Smith, 32", "Ana Silva, aged 41", "Li Wei (29)", "Olu Ade, 55 years"} {
		in := batchllm.Text("Extract the person: " + t)
		if err := p.Add(ctx, batchllm.Item[batchllm.Prompt, Person, struct{}]{ID: fmt.Sprintf("p%d", i+1), Input: in}); err != nil {
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
