package anthropic_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/anthropic"
)

// Shared context in the prompt cache: the first call writes it, the second
// reads it. Usage counts both inside InputTokens. The example talks to the
// llmsim simulator; drop APIKey and BaseURL to use Anthropic with
// $ANTHROPIC_API_KEY.
func Example_promptCaching() {
	sim, _ := llmsim.Start(llmsim.Config{})
	defer sim.Close()

	s, err := anthropic.New(anthropic.Config{
		Model:    "claude-sonnet-4-5", // caches prefixes of 1,024 tokens or more
		APIKey:   "sim-key",
		BaseURL:  sim.AnthropicBaseURL(),
		System:   "Answer from the manual.",
		Context:  strings.Repeat("The red button stops the machine. ", 150),
		CacheTTL: 5 * time.Minute,
	})
	if err != nil {
		panic(err)
	}
	for _, q := range []string{"What stops the machine?", "Which button is red?"} {
		r, err := s.Call(context.Background(), batchllm.Request[batchllm.Prompt]{Input: batchllm.Text(q), Attempt: 1, State: &batchllm.RetryState{}})
		if err != nil {
			panic(err)
		}
		u := r.Usage
		fmt.Printf("input %d = cache write %d + cache read %d + %d new\n",
			u.InputTokens, u.CacheWriteTokens, u.CachedInputTokens, u.InputTokens-u.CacheWriteTokens-u.CachedInputTokens)
	}
	// Output:
	// input 1293 = cache write 1286 + cache read 0 + 7 new
	// input 1292 = cache write 0 + cache read 1286 + 6 new
}
