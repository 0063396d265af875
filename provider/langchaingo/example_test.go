package langchaingo_test

import (
	"context"
	"fmt"

	"github.com/tmc/langchaingo/llms"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/provider/langchaingo"
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
