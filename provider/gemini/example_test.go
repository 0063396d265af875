package gemini_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/gemini"
)

// A RAG batch over one context cache: the processor prepares the strategy
// (creating the cache), every item reads the documents from it, and Close
// deletes it. The example talks to the llmsim simulator; drop APIKey and
// BaseURL to use Gemini with $GEMINI_API_KEY.
func ExampleNewCached() {
	sim, _ := llmsim.Start(llmsim.Config{})
	defer sim.Close()

	s, err := gemini.NewCached(gemini.CachedConfig{
		Config: gemini.Config{
			Model:   "gemini-2.5-flash",
			APIKey:  "sim-key",
			BaseURL: sim.GeminiBaseURL(),
			System:  "Answer from the documents.",
		},
		Documents: []string{strings.Repeat("Saturn has rings of ice. ", 200)},
		Tags:      map[string]string{"corpus": "planets"},
	})
	if err != nil {
		panic(err)
	}
	p, _ := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
		Strategy: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	for _, q := range []string{"What are the rings made of?", "Which planet is it?"} {
		p.Add(context.Background(), batchllm.Item[batchllm.Prompt, string, struct{}]{ID: q, Input: batchllm.Text(q)})
	}
	p.Finish()
	sum, _ := p.Run(context.Background())
	p.Close(context.Background()) // deletes the cache
	fmt.Println(s.DisplayName())
	fmt.Printf("%d succeeded, cache hit rate %.2f, caches created %d\n",
		sum.Stats.Succeeded, sum.Stats.Usage.CacheHitRate(), s.Stats().Creates)
	// Output:
	// batchllm/gemini-2.5-flash/b8f9346c6aaf5d61/b16e8a06
	// 2 succeeded, cache hit rate 0.99, caches created 1
}
