// Command anthropic runs a batch on Anthropic's Messages API with a system
// prompt, a shared context block in the prompt cache, and one item sent to
// a different model, and prints how many input tokens came from the cache.
//
// With ANTHROPIC_API_KEY set it calls Anthropic; otherwise (or with
// BATCHLLM_SIM=1) it starts the llmsim simulator in process, and with
// BATCHLLM_SIM_URL it uses a running `batchllm sim`.
package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/examples/internal/simenv"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/anthropic"
)

// handbook stands for a long shared document: Claude Haiku 4.5 caches a
// prefix of at least 4,096 tokens (the model catalogue's cache_min_tokens;
// Sonnet 4.5 needs 1,024). A shorter one is sent and billed in full, and
// not cached.
var handbook = strings.Repeat("Employees may work from home on Fridays. Expenses need a receipt. ", 260)

func main() { simenv.Main(simenv.Anthropic, llmsim.Config{}, run) }

// run sends the requests to ep: the provider itself when its API key is
// set, the simulator otherwise.
func run(ctx context.Context, ep simenv.Endpoint) error {
	s, err := anthropic.New(anthropic.Config{
		Model:     "claude-haiku-4-5",
		APIKey:    ep.APIKey,
		BaseURL:   ep.BaseURL,
		System:    "Answer questions about the handbook below in one sentence.",
		Context:   handbook,
		CacheTTL:  5 * time.Minute, // cache_control on the handbook block
		MaxTokens: 200,
	})
	if err != nil {
		return err
	}
	// One worker, so that the first item writes the cache before the others
	// read it; with more workers the first few may all write it.
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{Strategy: s, Workers: 1})
	if err != nil {
		return err
	}
	defer p.Close(ctx)

	questions := []string{"Can I work from home?", "Do expenses need a receipt?", "Is Friday special?"}
	for i, q := range questions {
		in := batchllm.Text(q)
		if i == 2 {
			// A per-item model override. Caches are per model, so this item
			// writes its own.
			in.Model = "claude-sonnet-4-5"
		}
		if err := p.Add(ctx, batchllm.Item[batchllm.Prompt, string, struct{}]{ID: fmt.Sprintf("q%d", i+1), Input: in}); err != nil {
			return err
		}
	}
	p.Finish()
	sum, err := p.Run(ctx)
	if err != nil {
		return err
	}
	for i := range questions {
		id := fmt.Sprintf("q%d", i+1)
		r := sum.ByID()[id]
		if r.Err != nil {
			fmt.Printf("%s: failed: %v\n", id, r.Err)
			continue
		}
		fmt.Printf("%s: %s (input %d, cache read %d, cache write %d)\n",
			id, r.Output, r.Usage.InputTokens, r.Usage.CachedInputTokens, r.Usage.CacheWriteTokens)
	}
	u := sum.Stats.Usage
	fmt.Printf("done: %d succeeded, cache hit rate %.0f%%\n", sum.Stats.Succeeded, 100*u.CacheHitRate())
	return nil
}
