package llmsim

// OpenAI chat completions streaming ("stream": true), as documented at
// https://platform.openai.com/docs/api-reference/chat/streaming and read by
// openai-go's packages/ssestream (a stream ends at "data: [DONE]") and
// ChatCompletionAccumulator (streamaccumulator.go):
//
//	data: {"id":"chatcmpl-…","object":"chat.completion.chunk","created":…,"model":…,
//	       "choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}
//	data: {… "choices":[{"index":0,"delta":{"content":"llmsim 3f2a "},"logprobs":null,"finish_reason":null}]}
//	data: {… "choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}
//	data: {… "choices":[],"usage":{"prompt_tokens":…}}       (only with stream_options.include_usage)
//	data: [DONE]
//
// With stream_options {"include_usage": true}, every chunk carries
// "usage": null and one more chunk with an empty choices array and the
// whole request's usage comes before [DONE]; "If the stream is
// interrupted, you may not receive the final usage chunk"
// (https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options).

type openAIChunk struct {
	ID                string              `json:"id"`
	Object            string              `json:"object"`
	Created           int64               `json:"created"`
	Model             string              `json:"model"`
	ServiceTier       string              `json:"service_tier"`
	SystemFingerprint string              `json:"system_fingerprint"`
	Choices           []openAIChunkChoice `json:"choices"`
	Usage             *openAIUsage        `json:"usage,omitempty"`
}

type openAIChunkChoice struct {
	Index        int         `json:"index"`
	Delta        openAIDelta `json:"delta"`
	Logprobs     *struct{}   `json:"logprobs"`
	FinishReason *string     `json:"finish_reason"`
}

type openAIDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
	Refusal *string `json:"refusal,omitempty"`
}

// openAIChunkWithUsage marshals a chunk with "usage": null, as the API
// sends every chunk but the last when include_usage is set.
type openAIChunkWithUsage struct {
	openAIChunk
	Usage *openAIUsage `json:"usage"`
}

// streamOpenAI sends a finished completion as chunks: for each choice a
// role chunk, its content in pieces and a finish chunk, then the usage
// chunk if asked, then [DONE].
func (c *call) streamOpenAI(full openAICompletion, includeUsage bool) {
	if !c.firstTokenDelay() {
		return
	}
	pieces := make([][]string, len(full.Choices))
	n := 0
	for i, ch := range full.Choices {
		pieces[i] = streamPieces(ch.Message.Content)
		n += len(pieces[i])
	}
	s := c.startSSE(n)
	// A server error mid-stream is a data line holding only an error
	// object, the stream left without [DONE] (a recorded OpenAI stream:
	// coder/coder aibridge/fixtures/openai/chatcompletions/stream_error.txtar);
	// openai-go's ssestream turns any event with a top-level "error" into a
	// stream error.
	s.errEvent = func() (string, any) {
		return "", map[string]any{"error": map[string]any{"message": "The server had an error while processing your request. Sorry about that!", "type": "server_error", "param": nil, "code": nil}}
	}
	chunk := func(choices ...openAIChunkChoice) any {
		ch := openAIChunk{ID: full.ID, Object: "chat.completion.chunk", Created: full.Created, Model: full.Model,
			ServiceTier: full.ServiceTier, SystemFingerprint: full.SystemFingerprint, Choices: choices}
		if includeUsage {
			return openAIChunkWithUsage{openAIChunk: ch}
		}
		return ch
	}
	empty := ""
	for i, ch := range full.Choices {
		if !s.event("", chunk(openAIChunkChoice{Index: i, Delta: openAIDelta{Role: "assistant", Content: &empty}})) {
			return
		}
		for _, p := range pieces[i] {
			if !s.delta("", chunk(openAIChunkChoice{Index: i, Delta: openAIDelta{Content: &p}}), tokens(p)) {
				return
			}
		}
		finish := ch.FinishReason
		if !s.end("", chunk(openAIChunkChoice{Index: i, FinishReason: &finish})) {
			return
		}
	}
	if includeUsage {
		u := full.Usage
		last := openAIChunk{ID: full.ID, Object: "chat.completion.chunk", Created: full.Created, Model: full.Model,
			ServiceTier: full.ServiceTier, SystemFingerprint: full.SystemFingerprint, Choices: []openAIChunkChoice{}, Usage: &u}
		if !s.end("", last) {
			return
		}
	}
	s.raw("", []byte("[DONE]"))
}
