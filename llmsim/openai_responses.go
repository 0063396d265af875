package llmsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// OpenAI's Responses API, POST /v1/responses
// (https://platform.openai.com/docs/api-reference/responses/create), as
// openai-go's responses package sends and reads it (responses/response.go:
// ResponseNewParams, Response, ResponseStreamEventUnion). The answer, its
// token counts, the limits, the prompt cache and the faults are those of
// the same prompt sent to chat completions; only the shapes differ.

// responsesMinOutput is the smallest max_output_tokens the API accepts:
// "Invalid 'max_output_tokens': integer below minimum value. Expected a
// value >= 16, but got 3 instead." (code integer_below_min_value; quoted by
// many clients that raise their probes to 16, e.g. the openrouter and
// litellm reports found by searching the message).
const responsesMinOutput = 16

type responsesRequest struct {
	Model           string          `json:"model"`
	Input           json.RawMessage `json:"input"`
	Instructions    *string         `json:"instructions"`
	MaxOutputTokens *int            `json:"max_output_tokens"`
	Temperature     *float64        `json:"temperature"`
	Stream          bool            `json:"stream"`
	PromptCacheKey  string          `json:"prompt_cache_key"`
	Text            *struct {
		Format *struct {
			Type   string          `json:"type"`
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	} `json:"text"`
}

// chatOnlyParams are Chat Completions fields that the Responses API does
// not take; it refuses them as unknown parameters (its structured output
// moved to text.format, its output cap to max_output_tokens, and it has
// no stop sequences: see the create reference's parameter list).
var chatOnlyParams = []string{"messages", "response_format", "max_completion_tokens", "max_tokens", "stop", "n"}

// responsesInputItem is one item of "input" given as a list: a message
// with a role and a string content or a list of content parts
// (input_text, output_text for earlier assistant turns).
type responsesInputItem struct {
	Type    string          `json:"type"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// prepareResponses validates a Responses request and computes its answer
// as an openAIRun, so that chat completions and Responses answer one
// prompt alike.
func prepareResponses(body []byte, fault Fault, minOut int) (*openAIRun, *failure) {
	var req responsesRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest("", "We could not parse the JSON body of your request. ("+err.Error()+")")
	}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(body, &top)
	for _, k := range chatOnlyParams {
		if _, ok := top[k]; ok {
			return nil, &failure{status: http.StatusBadRequest, param: k, code: "unknown_parameter", msg: fmt.Sprintf("Unknown parameter: '%s'.", k)}
		}
	}
	if req.Model == "" {
		return nil, badRequest("model", "Missing required parameter: 'model'.")
	}
	o := &openAIRun{model: req.Model, cacheKey: req.PromptCacheKey, n: 1, stream: req.Stream, temperature: req.Temperature}
	if m := req.MaxOutputTokens; m != nil {
		if *m < responsesMinOutput {
			return nil, &failure{status: http.StatusBadRequest, param: "max_output_tokens", code: "integer_below_min_value",
				msg: fmt.Sprintf("Invalid 'max_output_tokens': integer below minimum value. Expected a value >= %d, but got %d instead.", responsesMinOutput, *m)}
		}
		o.maxOut = *m
	}
	var t transcript
	if req.Instructions != nil && *req.Instructions != "" {
		// instructions: "A system (or developer) message inserted into the
		// model's context" (create reference).
		t.add("system", *req.Instructions)
	}
	if f := addResponsesInput(&t, req.Input); f != nil {
		return nil, f
	}
	o.prompt = t.String()
	o.dig = digest(o.prompt)
	o.promptTokens = tokens(o.prompt)

	var schema map[string]any
	jsonMode := false
	if req.Text != nil && req.Text.Format != nil {
		f := req.Text.Format
		if f.Type == "json_schema" && len(f.Schema) == 0 {
			return nil, badRequest("text.format.schema", "Missing required parameter: 'text.format.schema'.")
		}
		var fail *failure
		if schema, jsonMode, fail = outputFormat(f.Type, f.Name, f.Schema, "text.format", "text.format"); fail != nil {
			return nil, fail
		}
	}
	o.answer(fault, minOut, t.lastUser, schema, jsonMode)
	return o, nil
}

// addResponsesInput adds "input" to the transcript: a string is one user
// message; a list holds messages ({"role", "content"}, "type": "message"
// optional) whose content is a string or a list of parts.
func addResponsesInput(t *transcript, raw json.RawMessage) *failure {
	if len(raw) == 0 || string(raw) == "null" {
		return badRequest("input", "Missing required parameter: 'input'.")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return badRequest("input", err.Error())
		}
		t.add("user", s)
		return nil
	}
	var items []responsesInputItem
	if err := json.Unmarshal(raw, &items); err != nil {
		return badRequest("input", "Invalid type for 'input': expected a string or an array of input items.")
	}
	for i, it := range items {
		if it.Type != "" && it.Type != "message" {
			continue // tool outputs, reasoning items: no text here
		}
		switch it.Role {
		case "user", "assistant", "system", "developer":
		default:
			return badRequest(fmt.Sprintf("input[%d].role", i), fmt.Sprintf("Invalid value: '%s'. Supported values are: 'assistant', 'system', 'developer', and 'user'.", it.Role))
		}
		texts, err := contentTexts(it.Content)
		if err != nil {
			return badRequest(fmt.Sprintf("input[%d].content", i), err.Error())
		}
		for _, x := range texts {
			t.add(it.Role, x)
		}
	}
	return nil
}

// responsesObject is a Response
// (https://platform.openai.com/docs/api-reference/responses/object).
type responsesObject struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	CreatedAt         int64              `json:"created_at"`
	Status            string             `json:"status"`
	Error             *responsesError    `json:"error"`
	IncompleteDetails *responsesReason   `json:"incomplete_details"`
	Instructions      *string            `json:"instructions"`
	MaxOutputTokens   *int               `json:"max_output_tokens"`
	Model             string             `json:"model"`
	Output            []responsesItem    `json:"output"`
	ParallelToolCalls bool               `json:"parallel_tool_calls"`
	Temperature       float64            `json:"temperature"`
	ToolChoice        string             `json:"tool_choice"`
	Tools             []any              `json:"tools"`
	TopP              float64            `json:"top_p"`
	Truncation        string             `json:"truncation"`
	Usage             *responsesUsage    `json:"usage"`
	Text              map[string]any     `json:"text"`
	Metadata          map[string]string  `json:"metadata"`
	Reasoning         map[string]*string `json:"reasoning"`
	ServiceTier       string             `json:"service_tier"`
}

type responsesError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type responsesReason struct {
	Reason string `json:"reason"`
}

// responsesItem is an output item: a "reasoning" item (a reasoning model's
// thinking, its summary empty unless asked for) or a "message" with
// output_text content.
type responsesItem struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Status  string          `json:"status,omitempty"`
	Role    string          `json:"role,omitempty"`
	Content []responsesPart `json:"content,omitempty"`
	Summary *[]any          `json:"summary,omitempty"`
}

type responsesPart struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	Annotations []any  `json:"annotations"`
	Logprobs    []any  `json:"logprobs"`
}

type responsesUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int64 `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int64 `json:"total_tokens"`
}

// response is the Response object of a finished run. An answer cut by
// max_output_tokens is "incomplete" with incomplete_details.reason
// "max_output_tokens", one withheld by the content filter "incomplete" with
// "content_filter" (the object reference's incomplete_details; the
// reasoning guide: "you'll receive a response with a status of incomplete
// and incomplete_details with reason set to max_output_tokens. This might
// occur before any visible output tokens are produced", in which case the
// output holds the reasoning item and no message,
// https://platform.openai.com/docs/guides/reasoning#allocating-space-for-reasoning).
func (o *openAIRun) response(id string, cached int, now time.Time) responsesObject {
	r := responsesObject{
		ID: id, Object: "response", CreatedAt: now.Unix(), Status: "completed", Model: o.model,
		MaxOutputTokens: nil, ParallelToolCalls: true, Temperature: 1, ToolChoice: "auto", Tools: []any{}, TopP: 1,
		Truncation: "disabled", Text: map[string]any{"format": map[string]string{"type": "text"}},
		Metadata: map[string]string{}, Reasoning: map[string]*string{"effort": nil, "summary": nil}, ServiceTier: "default",
	}
	if o.maxOut > 0 {
		r.MaxOutputTokens = &o.maxOut
	}
	if o.temperature != nil {
		r.Temperature = *o.temperature
	}
	msgStatus := "completed"
	switch o.finish {
	case "length":
		r.Status, msgStatus = "incomplete", "incomplete"
		r.IncompleteDetails = &responsesReason{Reason: "max_output_tokens"}
	case "content_filter":
		r.Status, msgStatus = "incomplete", "incomplete"
		r.IncompleteDetails = &responsesReason{Reason: "content_filter"}
	}
	if o.reasoningTokens > 0 {
		r.Output = append(r.Output, responsesItem{Type: "reasoning", ID: "rs_" + o.dig, Summary: &[]any{}})
	}
	if o.content != "" || o.reasoningTokens == 0 {
		r.Output = append(r.Output, responsesItem{Type: "message", ID: "msg_" + o.dig, Status: msgStatus, Role: "assistant",
			Content: []responsesPart{{Type: "output_text", Text: o.content, Annotations: []any{}, Logprobs: []any{}}}})
	}
	u := &responsesUsage{InputTokens: int64(o.promptTokens), OutputTokens: int64(o.outTokens), TotalTokens: int64(o.promptTokens + o.outTokens)}
	u.InputTokensDetails.CachedTokens = int64(cached)
	u.OutputTokensDetails.ReasoningTokens = int64(o.reasoningTokens)
	r.Usage = u
	return r
}

func (s *Server) responses(w http.ResponseWriter, r *http.Request) {
	c := s.begin(s.openai, w, r, true)
	if c == nil {
		return
	}
	defer c.end()
	o, f := prepareResponses(c.body, c.fault, c.p.cfg.OutputTokens)
	if f != nil {
		c.failure(f)
		return
	}
	if !c.admitOpenAI(o) {
		return
	}
	if o.stream {
		c.served(o)
		c.streamResponses(o.response(s.nextID("resp_"+o.dig), o.cached, time.Now()))
		return
	}
	if !c.sleep(o.outTokens) {
		return
	}
	c.served(o)
	c.respond(o.response(s.nextID("resp_"+o.dig), o.cached, time.Now()))
}

// responsesOnlyError answers a chat completion for a model that only the
// Responses API serves, as the API does: 404 invalid_request_error, param
// "model", no code, "This model is only supported in v1/responses and not
// in v1/chat/completions." (reported for o1-pro and o3-pro in
// github.com/sigoden/aichat/pull/1318; the body as crewAI's tests of their
// Responses fall-back reproduce it).
func (c *call) responsesOnlyError() {
	c.openAIError(http.StatusNotFound, "invalid_request_error", "", "model", "This model is only supported in v1/responses and not in v1/chat/completions.")
}

// streamResponses sends a finished response as the Responses API streams
// it (https://platform.openai.com/docs/api-reference/responses-streaming):
// named events, each with a sequence_number —
//
//	event: response.created            {"response": {… "status": "in_progress", "output": [], "usage": null}}
//	event: response.in_progress
//	event: response.output_item.added  (the reasoning item, if any, then its .done; then the message)
//	event: response.content_part.added
//	event: response.output_text.delta  {"item_id", "output_index", "content_index", "delta"}   (repeated)
//	event: response.output_text.done   {"text"}
//	event: response.content_part.done
//	event: response.output_item.done
//	event: response.completed          {"response": … with usage}   (response.incomplete when cut off)
//
// The stream has no [DONE] line. Usage comes only with the last event, so
// a stream cut before it tells the client nothing of what was used.
func (c *call) streamResponses(full responsesObject) {
	if !c.firstTokenDelay() {
		return
	}
	var msg *responsesItem
	msgIndex := 0
	for i := range full.Output {
		if full.Output[i].Type == "message" {
			msg, msgIndex = &full.Output[i], i
		}
	}
	var pieces []string
	if msg != nil {
		pieces = streamPieces(msg.Content[0].Text)
	}
	s := c.startSSE(len(pieces))
	seq := 0
	ev := func(typ string, fields map[string]any) map[string]any {
		fields["type"] = typ
		fields["sequence_number"] = seq
		seq++
		return fields
	}
	// An error mid-stream is an "error" event with a code, a message and
	// a param (ResponseErrorEvent in the streaming reference and in
	// openai-go responses/response.go).
	s.errEvent = func() (string, any) {
		return "error", ev("error", map[string]any{"code": "server_error", "message": "The server had an error while processing your request. Sorry about that!", "param": nil})
	}
	start := full
	start.Status, start.Output, start.Usage, start.IncompleteDetails = "in_progress", []responsesItem{}, nil, nil
	if !s.event("response.created", ev("response.created", map[string]any{"response": start})) ||
		!s.event("response.in_progress", ev("response.in_progress", map[string]any{"response": start})) {
		return
	}
	for i, item := range full.Output {
		if item.Type != "message" {
			if !s.event("response.output_item.added", ev("response.output_item.added", map[string]any{"output_index": i, "item": item})) ||
				!s.event("response.output_item.done", ev("response.output_item.done", map[string]any{"output_index": i, "item": item})) {
				return
			}
		}
	}
	if msg != nil {
		added := *msg
		added.Status, added.Content = "in_progress", []responsesPart{}
		part := responsesPart{Type: "output_text", Text: "", Annotations: []any{}, Logprobs: []any{}}
		if !s.event("response.output_item.added", ev("response.output_item.added", map[string]any{"output_index": msgIndex, "item": added})) ||
			!s.event("response.content_part.added", ev("response.content_part.added", map[string]any{"item_id": msg.ID, "output_index": msgIndex, "content_index": 0, "part": part})) {
			return
		}
		for _, p := range pieces {
			if !s.delta("response.output_text.delta", ev("response.output_text.delta", map[string]any{"item_id": msg.ID, "output_index": msgIndex, "content_index": 0, "delta": p, "logprobs": []any{}}), tokens(p)) {
				return
			}
		}
		text := msg.Content[0].Text
		part.Text = text
		if !s.end("response.output_text.done", ev("response.output_text.done", map[string]any{"item_id": msg.ID, "output_index": msgIndex, "content_index": 0, "text": text, "logprobs": []any{}})) ||
			!s.event("response.content_part.done", ev("response.content_part.done", map[string]any{"item_id": msg.ID, "output_index": msgIndex, "content_index": 0, "part": part})) ||
			!s.event("response.output_item.done", ev("response.output_item.done", map[string]any{"output_index": msgIndex, "item": *msg})) {
			return
		}
	}
	last := "response.completed"
	if full.Status == "incomplete" {
		last = "response.incomplete"
	}
	s.end(last, ev(last, map[string]any{"response": full}))
}
