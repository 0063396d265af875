package llmsim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/batchllm/batchllm/llmsim"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func Example() {
	sim, err := llmsim.Start(llmsim.Config{OpenAI: llmsim.ProviderConfig{RPM: 1}})
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	client := openai.NewClient(option.WithBaseURL(sim.OpenAIBaseURL()), option.WithAPIKey("test"), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: "gpt-x", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}}
	resp, err := client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		panic(err)
	}
	// The transcript "user: hello\n" is 12 bytes, so 3 prompt tokens.
	fmt.Println(strings.HasPrefix(resp.Choices[0].Message.Content, "llmsim "), resp.Usage.PromptTokens)

	// The second request within the minute exceeds RPM=1.
	_, err = client.Chat.Completions.New(context.Background(), params)
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Type, apiErr.Response.Header.Get("retry-after"))
	}
	fmt.Println(sim.Stats().OpenAI.Responses)
	// Output:
	// true 3
	// 429 requests 60
	// map[200:1 429:1]
}
