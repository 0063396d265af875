package langchaingo_test

import (
	"context"
	"fmt"

	"github.com/tmc/langchaingo/llms"
	lcopenai "github.com/tmc/langchaingo/llms/openai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/contrib/langchaingo"
	"github.com/batchllm/batchllm/llmsim"
)

// upper is a stand-in llms.Model; any LangChainGo model works the same way.
type upper struct{}

func (upper) GenerateContent(_ context.Context, msgs []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	text := msgs[len(msgs)-1].Parts[0].(llms.TextContent).Text
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{
		Content:        "you said: " + text,
		GenerationInfo: map[string]any{"PromptTokens": 12, "CompletionTokens": 4},
	}}}, nil
}

func (u upper) Call(ctx context.Context, prompt string, opts ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, u, prompt, opts...)
}

func Example() {
	s, _ := langchaingo.New(langchaingo.Config{LLM: upper{}, Model: "stand-in"})
	r, err := s.Call(context.Background(), batchllm.Request[batchllm.Prompt]{Input: batchllm.Text("hi"), State: &batchllm.RetryState{}})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Output, r.Usage.InputTokens, r.Usage.OutputTokens)
	// Output:
	// you said: hi 12 4
}

// ExampleStrategy_openAI runs a batch through LangChainGo's OpenAI client,
// here against the llmsim simulator on loopback; with a real key, drop the
// base URL and token options.
func ExampleStrategy_openAI() {
	sim, err := llmsim.Start(llmsim.Config{})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	llm, err := lcopenai.New(lcopenai.WithModel("gpt-4o-mini"), lcopenai.WithBaseURL(sim.OpenAIBaseURL()), lcopenai.WithToken("sim-key"))
	if err != nil {
		panic(err)
	}
	s, err := langchaingo.New(langchaingo.Config{LLM: llm, Model: "gpt-4o-mini", System: "Summarise the text in five words."})
	if err != nil {
		panic(err)
	}
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{Strategy: s, Workers: 4})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())
	for id, text := range map[string]string{
		"rag":   "Retrieval-augmented generation adds retrieved documents to the prompt.",
		"batch": "Batch processing runs many requests in parallel within rate limits.",
	} {
		p.Add(context.Background(), batchllm.Item[batchllm.Prompt, string, struct{}]{ID: id, Input: batchllm.Text(text)})
	}
	p.Finish()
	sum, err := p.Run(context.Background())
	if err != nil {
		panic(err)
	}
	for _, id := range []string{"batch", "rag"} {
		r := sum.ByID()[id]
		fmt.Printf("%s: ok %v, answered %v\n", id, r.OK(), r.Output != "")
	}
	fmt.Printf("%d succeeded, input tokens counted: %v\n", sum.Stats.Succeeded, sum.Stats.Usage.InputTokens > 0)
	// Output:
	// batch: ok true, answered true
	// rag: ok true, answered true
	// 2 succeeded, input tokens counted: true
}
