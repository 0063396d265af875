package tokens_test

import (
	"fmt"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/tokens"
)

func Example() {
	p := batchllm.Prompt{
		System:   "Answer in one word.",
		Messages: []batchllm.Message{{Role: batchllm.RoleUser, Content: "What colour is the sky?"}},
	}
	// Exact for OpenAI models, approximate for others.
	fmt.Println(tokens.EstimatePrompt("gpt-4o-mini", p))
	fmt.Println(tokens.EstimatePrompt("claude-sonnet-4-5", p))
	// Output:
	// 22
	// 26
}
