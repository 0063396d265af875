package openai_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/openai/openai-go/v3/option"

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

// Configurations for OpenAI-compatible servers. Each names its own Scope so
// that the admission gate keeps the server's limits apart from OpenAI's.
func ExampleConfig_compatibleServers() {
	configs := []openai.Config{
		// Ollama
		{BaseURL: "http://localhost:11434/v1/", APIKey: "ollama", Model: "llama3.2", Scope: "ollama/llama3.2"},
		// vLLM
		{BaseURL: "http://localhost:8000/v1/", APIKey: "token-abc", Model: "meta-llama/Llama-3.1-8B-Instruct", Scope: "vllm/llama-3.1-8b"},
		// llama.cpp server
		{BaseURL: "http://localhost:8080/v1/", Model: "local", LegacyMaxTokens: true, Scope: "llamacpp/local"},
		// OpenRouter
		{BaseURL: "https://openrouter.ai/api/v1/", APIKey: "sk-or-...", Model: "anthropic/claude-3.5-haiku", Scope: "openrouter/claude-3.5-haiku"},
		// Azure OpenAI, v1 API: the key goes in an api-key header.
		{BaseURL: "https://my-resource.openai.azure.com/openai/v1/", Model: "my-gpt-4o-deployment", Scope: "azure/my-gpt-4o-deployment",
			RequestOptions: []option.RequestOption{option.WithHeader("api-key", "AZURE_KEY")}},
	}
	for _, c := range configs {
		if _, err := openai.New(c); err != nil {
			panic(err)
		}
	}
}
