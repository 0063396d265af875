package openai_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/openai"
)

// A batch of two questions through the processor. The example talks to
// the llmsim simulator; drop APIKey and BaseURL to use OpenAI with
// $OPENAI_API_KEY.
func Example() {
	sim, _ := llmsim.Start(llmsim.Config{})
	defer sim.Close()

	s, err := openai.New(openai.Config{
		Model:     "gpt-4o-mini",
		APIKey:    "sim-key",
		BaseURL:   sim.OpenAIBaseURL(),
		System:    "Answer briefly.",
		MaxTokens: 100,
	})
	if err != nil {
		panic(err)
	}
	p, _ := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
		Strategy: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	defer p.Close(context.Background())
	for _, q := range []string{"hello", "world"} {
		p.Add(context.Background(), batchllm.Item[batchllm.Prompt, string, struct{}]{ID: q, Input: batchllm.Text(q)})
	}
	p.Finish()
	sum, _ := p.Run(context.Background())
	fmt.Println(sum.Stats.Succeeded, "succeeded")
	fmt.Println(sum.ByID()["hello"].Output)
	// Output:
	// 2 succeeded
	// llmsim c5e976d68f716236 re: hello
}
