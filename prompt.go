package batchllm

import "encoding/json"

// Prompt is the provider-neutral input of a chat call: a system prompt, the
// messages, and the per-item parameters that override a strategy's defaults.
// The provider strategies take a Prompt as input.
type Prompt struct {
	System   string    `json:"system,omitempty"`
	Messages []Message `json:"messages"`

	// Model overrides the strategy's model for this item, if not empty.
	Model string `json:"model,omitempty"`
	// MaxTokens overrides the strategy's maximum output tokens, if > 0.
	MaxTokens int `json:"max_tokens,omitempty"`
	// Temperature overrides the strategy's temperature, if not nil.
	Temperature *float64 `json:"temperature,omitempty"`
	// Stop, if not empty, lists the sequences that end the answer, in place
	// of the strategy's (its Config.Stop). Providers bound their number:
	// OpenAI chat completions take up to 4 ("stop",
	// https://platform.openai.com/docs/api-reference/chat/create), Gemini
	// up to 5 (generationConfig.stopSequences,
	// https://ai.google.dev/api/generate-content#generationconfig),
	// Anthropic sets no number (stop_sequences,
	// https://docs.anthropic.com/en/api/messages). OpenAI's Responses API
	// has none: an item with Stop that goes there fails before it is sent,
	// as does one over its provider's number (an OpenAI-compatible server
	// behind a base URL judges its own).
	Stop []string `json:"stop,omitempty"`
	// Schema, if not nil, asks for an answer in JSON that validates against
	// it, through the provider's native structured-output mode (OpenAI
	// response_format json_schema, Gemini responseSchema, Anthropic tool
	// use). The strategy's output is then the JSON text. Package structured
	// sets it from a Go type and decodes and validates the answer.
	Schema *Schema `json:"schema,omitempty"`
	// Raw, if not nil, is a request body in a provider's own format, sent
	// as written instead of one built from the fields above (see
	// [RawRequest]). A strategy that does not take the format fails the
	// item before sending anything.
	Raw *RawRequest `json:"raw,omitempty"`
}

// RawRequest is a request body written for one endpoint of a provider's
// API, such as a line of an OpenAI Batch API input file. Package
// provider/openai sends the bodies of its two endpoints as written, but
// for the fields it must own (see its package doc); the other providers
// take none.
type RawRequest struct {
	// Endpoint is the API path the body is for, as in an OpenAI batch
	// file's "url": "/v1/chat/completions" or "/v1/responses".
	Endpoint string `json:"endpoint"`
	// Body is the request's JSON object.
	Body json.RawMessage `json:"body"`
}

// OpenAI endpoints of a [RawRequest].
const (
	EndpointChatCompletions = "/v1/chat/completions"
	EndpointResponses       = "/v1/responses"
)

// Schema is a JSON Schema for structured output.
type Schema struct {
	// Name identifies the schema to the provider (OpenAI requires one);
	// letters, digits, '_' and '-' only.
	Name string `json:"name"`
	// Description tells the model what the output is for; optional.
	Description string `json:"description,omitempty"`
	// JSON is the schema document itself.
	JSON json.RawMessage `json:"json"`
}

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"` // RoleUser or RoleAssistant
	Content string `json:"content"`
}

// Message roles.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Text returns a Prompt of one user message.
func Text(s string) Prompt {
	return Prompt{Messages: []Message{{Role: RoleUser, Content: s}}}
}

// Text returns the concatenated content of p's messages, separated by blank
// lines; handy for logging and for strategies that take a single string.
func (p Prompt) Text() string {
	n := 0
	for _, m := range p.Messages {
		n += len(m.Content) + 2
	}
	b := make([]byte, 0, n)
	for i, m := range p.Messages {
		if i > 0 {
			b = append(b, '\n', '\n')
		}
		b = append(b, m.Content...)
	}
	return string(b)
}
