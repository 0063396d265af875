// Command openai runs a small batch on OpenAI's chat completions: plain
// questions and one with structured output, through batchllm's processor.
//
// With OPENAI_API_KEY set it calls OpenAI; otherwise (or with
// BATCHLLM_SIM=1) it starts the llmsim simulator in process, and with
// BATCHLLM_SIM_URL it uses a running `batchllm sim`.
package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/examples/internal/simenv"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/openai"
)

func main() { simenv.Main(simenv.OpenAI, llmsim.Config{}, run) }

// run sends the requests to ep: the provider itself when its API key is
// set, the simulator otherwise.
func run(ctx context.Context, ep simenv.Endpoint) error {
	s, err := openai.New(openai.Config{
		Model:     "gpt-4o-mini",
		APIKey:    ep.APIKey,
		BaseURL:   ep.BaseURL,
		System:    "Answer in one short sentence.",
		MaxTokens: 100,
	})
	if err != nil {
		return err
	}
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, string]{Strategy: s, Workers: 4})
	if err != nil {
		return err
	}
	defer p.Close(ctx)

	questions := map[string]string{
		"capital": "What is the capital of France?",
		"colour":  "What colour is the sky on a clear day?",
	}
	for id, q := range questions {
		if err := p.Add(ctx, batchllm.Item[batchllm.Prompt, string, string]{ID: id, Input: batchllm.Text(q), Context: q}); err != nil {
			return err
		}
	}
	// Structured output: the answer is JSON that validates against the schema.
	city := batchllm.Text("Give the largest city of Japan and its population.")
	city.Schema = &batchllm.Schema{Name: "city", JSON: json.RawMessage(`{"type":"object",
		"properties":{"name":{"type":"string"},"population":{"type":"integer"}},
		"required":["name","population"],"additionalProperties":false}`)}
	if err := p.Add(ctx, batchllm.Item[batchllm.Prompt, string, string]{ID: "city", Input: city, Context: "structured"}); err != nil {
		return err
	}
	p.Finish()

	sum, err := p.Run(ctx)
	if err != nil {
		return err
	}
	for _, id := range []string{"capital", "colour", "city"} {
		r := sum.ByID()[id]
		if r.Err != nil {
			fmt.Printf("%s: failed: %v\n", id, r.Err)
			continue
		}
		if id == "city" {
			var c struct {
				Name       string `json:"name"`
				Population int64  `json:"population"`
			}
			if err := json.Unmarshal([]byte(r.Output), &c); err != nil {
				return fmt.Errorf("city: %w", err)
			}
			fmt.Printf("%s: structured name=%q\n", id, c.Name)
			continue
		}
		fmt.Printf("%s: %s\n", id, r.Output)
	}
	u := sum.Stats.Usage
	fmt.Printf("done: %d succeeded, %d input tokens (%d cached), %d output tokens\n",
		sum.Stats.Succeeded, u.InputTokens, u.CachedInputTokens, u.OutputTokens)
	return nil
}
