// Command gemini-direct runs a batch on Gemini's generateContent, once with
// plain text output and once with the detailed output that carries the
// finish reason and safety ratings.
//
// With GEMINI_API_KEY (or GOOGLE_API_KEY) set it calls Gemini; otherwise
// (or with BATCHLLM_SIM=1) it starts the llmsim simulator in process, and
// with BATCHLLM_SIM_URL it uses a running `batchllm sim`.
package main

import (
	"context"
	"fmt"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/examples/internal/simenv"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/gemini"
)

func main() { simenv.Main(simenv.Gemini, llmsim.Config{}, run) }

// run sends the requests to ep: the provider itself when its API key is
// set, the simulator otherwise.
func run(ctx context.Context, ep simenv.Endpoint) error {
	temp := 0.2
	s, err := gemini.New(gemini.Config{
		Model:       "gemini-2.5-flash",
		APIKey:      ep.APIKey,
		BaseURL:     ep.BaseURL,
		System:      "You are a concise assistant.",
		Temperature: &temp,
		MaxTokens:   256,
	})
	if err != nil {
		return err
	}
	words := []string{"serendipity", "ephemeral", "ubiquitous"}

	// Plain text output.
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{Strategy: s})
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	for _, w := range words {
		if err := p.Add(ctx, batchllm.Item[batchllm.Prompt, string, struct{}]{ID: w, Input: batchllm.Text("Define " + w)}); err != nil {
			return err
		}
	}
	p.Finish()
	sum, err := p.Run(ctx)
	if err != nil {
		return err
	}
	for _, w := range words {
		r := sum.ByID()[w]
		fmt.Printf("%s: %s (err %v)\n", w, r.Output, r.Err)
	}

	// Detailed output: the same strategy, with the answer's metadata.
	d, err := batchllm.New(batchllm.Config[batchllm.Prompt, gemini.Response, struct{}]{Strategy: s.Detailed()})
	if err != nil {
		return err
	}
	defer d.Close(ctx)
	if err := d.Add(ctx, batchllm.Item[batchllm.Prompt, gemini.Response, struct{}]{ID: "detailed", Input: batchllm.Text("Define serendipity")}); err != nil {
		return err
	}
	d.Finish()
	dsum, err := d.Run(ctx)
	if err != nil {
		return err
	}
	r := dsum.ByID()["detailed"]
	if r.Err != nil {
		return r.Err
	}
	fmt.Printf("detailed: finish=%s safety ratings=%d model=%s\n", r.Output.FinishReason, len(r.Output.SafetyRatings), r.Output.Raw.ModelVersion)
	fmt.Printf("done: %d input tokens, %d output tokens\n", sum.Stats.Usage.InputTokens+dsum.Stats.Usage.InputTokens, sum.Stats.Usage.OutputTokens+dsum.Stats.Usage.OutputTokens)
	return nil
}
