package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/openai/openai-go/v3/option"

	"github.com/batchllm/batchllm"
)

// Raw bodies (Prompt.Raw) are described in the package doc, "Request bodies
// as written".

// rawBody is what the strategy reads of a raw body: what it estimates,
// checks and routes by. The rest is sent without being looked at.
type rawBody struct {
	Model               string          `json:"model"`
	Messages            []rawMessage    `json:"messages"`     // chat completions
	Input               json.RawMessage `json:"input"`        // responses: a string or items
	Instructions        string          `json:"instructions"` // responses
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxOutputTokens     *int            `json:"max_output_tokens"` // responses
	Temperature         *float64        `json:"temperature"`
}

// rawMessage is a chat message or a Responses input item, as far as its
// text goes.
type rawMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// View returns the Prompt that p's raw body amounts to for the strategy's
// estimate, checks and scope: the body's messages as text (system and
// developer messages as the system prompt; tool output and the like as
// user turns, which is how they count), its model (else p's), output cap
// and temperature, and p's Raw. It fails if the body is not a request of
// its endpoint as far as those fields go. A Prompt without Raw is
// returned as it is.
func View(p batchllm.Prompt) (batchllm.Prompt, error) {
	if p.Raw == nil {
		return p, nil
	}
	var b rawBody
	if err := json.Unmarshal(p.Raw.Body, &b); err != nil {
		return p, fmt.Errorf("openai: the request body for %s is not a valid request: %s", p.Raw.Endpoint, bodyError(err))
	}
	v := batchllm.Prompt{Raw: p.Raw, Model: p.Model, Temperature: b.Temperature}
	if m := strings.TrimSpace(b.Model); m != "" {
		v.Model = m
	}
	var system []string
	add := func(role string, content json.RawMessage) error {
		text, err := contentText(content)
		if err != nil {
			return err
		}
		switch role {
		case "system", "developer":
			system = append(system, text)
		case batchllm.RoleAssistant:
			v.Messages = append(v.Messages, batchllm.Message{Role: batchllm.RoleAssistant, Content: text})
		default:
			v.Messages = append(v.Messages, batchllm.Message{Role: batchllm.RoleUser, Content: text})
		}
		return nil
	}
	switch p.Raw.Endpoint {
	case batchllm.EndpointChatCompletions:
		for i, m := range b.Messages {
			if err := add(m.Role, m.Content); err != nil {
				return p, fmt.Errorf("openai: messages[%d]: %w", i, err)
			}
		}
		v.MaxTokens = firstSet(b.MaxCompletionTokens, b.MaxTokens)
	case batchllm.EndpointResponses:
		if b.Instructions != "" {
			system = append(system, b.Instructions)
		}
		if err := addInput(b.Input, add); err != nil {
			return p, fmt.Errorf("openai: input: %w", err)
		}
		v.MaxTokens = firstSet(b.MaxOutputTokens)
	default:
		return p, fmt.Errorf("openai: cannot send a request for %q; the endpoints are %s and %s", p.Raw.Endpoint, batchllm.EndpointChatCompletions, batchllm.EndpointResponses)
	}
	v.System = strings.Join(system, "\n\n")
	return v, nil
}

// bodyError says what is wrong with a body in its own terms (the field
// and the JSON kinds), not Go's.
func bodyError(err error) string {
	ute, ok := errors.AsType[*json.UnmarshalTypeError](err)
	if !ok {
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	want := "an object"
	switch ute.Type.Kind() {
	case reflect.String:
		want = "a string"
	case reflect.Int, reflect.Float64:
		want = "a number"
	case reflect.Slice:
		want = "an array"
	}
	if ute.Field == "" {
		return fmt.Sprintf("it must be an object, not %s", ute.Value)
	}
	return fmt.Sprintf("field %q must be %s, not %s", ute.Field, want, ute.Value)
}

// addInput passes each message of a Responses input (a string, or a list
// of items) to add. Items that are not messages (function call outputs,
// say) count by their "output" text.
func addInput(input json.RawMessage, add func(role string, content json.RawMessage) error) error {
	input = bytes.TrimSpace(input)
	if len(input) == 0 || string(input) == "null" {
		return nil
	}
	if input[0] == '"' {
		return add(batchllm.RoleUser, input)
	}
	var items []struct {
		rawMessage
		Output json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(input, &items); err != nil {
		return errors.New("must be a string or a list of items")
	}
	for i, it := range items {
		content := it.Content
		if len(content) == 0 {
			content = it.Output
		}
		if err := add(it.Role, content); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return nil
}

// contentText returns the text of a message's content: a string, or the
// "text" of each of its parts (images and audio carry none that counts).
func contentText(content json.RawMessage) (string, error) {
	content = bytes.TrimSpace(content)
	if len(content) == 0 || string(content) == "null" {
		return "", nil
	}
	if content[0] == '"' {
		var s string
		err := json.Unmarshal(content, &s)
		return s, err
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(content, &parts); err != nil {
		return "", errors.New("content must be a string or a list of parts")
	}
	texts := make([]string, 0, len(parts))
	for _, pt := range parts {
		texts = append(texts, pt.Text)
	}
	return strings.Join(texts, "\n"), nil
}

// firstSet returns the first of vs that is set, or 0.
func firstSet(vs ...*int) int {
	for _, v := range vs {
		if v != nil {
			return *v
		}
	}
	return 0
}

// rawOptions returns the request options that send p's raw body, if it
// has one, in place of the body built from the Prompt: they must come
// before any other option that edits the body. v is View(p).
func (s *Strategy) rawOptions(p, v batchllm.Prompt) []option.RequestOption {
	if p.Raw == nil {
		return nil
	}
	opts := []option.RequestOption{option.WithRequestBody("application/json", []byte(p.Raw.Body))}
	var has struct {
		Model *string `json:"model"`
	}
	if json.Unmarshal(p.Raw.Body, &has) == nil && (has.Model == nil || strings.TrimSpace(*has.Model) == "") {
		opts = append(opts, option.WithJSONSet("model", s.model(v)))
	}
	switch {
	case !s.cfg.Stream:
		// A body that asks for a stream would get one that the
		// non-streaming call cannot parse.
		opts = append(opts, option.WithJSONDel("stream"), option.WithJSONDel("stream_options"))
	case p.Raw.Endpoint == batchllm.EndpointChatCompletions:
		// The SDK sets "stream": true; the usage comes only with this.
		opts = append(opts, option.WithJSONSet("stream_options.include_usage", true))
	}
	return opts
}
