package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/provider/internal/calls"
	"github.com/batchllm/batchllm/provider/internal/ratehdr"
	"github.com/batchllm/batchllm/provider/internal/streamwatch"
)

// API is the OpenAI endpoint a [Strategy] calls.
type API string

const (
	// APIAuto, the default, calls the Responses API for the models the
	// catalogue marks as served by it alone ([cost.Limits.API], such as
	// o3-pro and gpt-5-pro) and chat completions for every other model,
	// including those the catalogue does not know (a compatible server's).
	APIAuto API = "auto"
	// APIChat calls POST /chat/completions for every model.
	APIChat API = "chat"
	// APIResponses calls POST /responses, OpenAI's Responses API, for
	// every model.
	APIResponses API = "responses"
)

// ParseAPI parses "auto" (or ""), "chat" or "responses".
func ParseAPI(s string) (API, error) {
	switch a := API(strings.ToLower(strings.TrimSpace(s))); a {
	case "", APIAuto:
		return APIAuto, nil
	case APIChat, APIResponses:
		return a, nil
	}
	return "", fmt.Errorf("openai: API %q: want auto, chat or responses", s)
}

// responsesMinOutput is the smallest max_output_tokens the Responses API
// accepts; a smaller cap is a 400 integer_below_min_value ("Expected a
// value >= 16").
const responsesMinOutput = 16

// apiFor returns the endpoint a call to model uses.
func (s *Strategy) apiFor(model string) API {
	if s.api != APIAuto {
		return s.api
	}
	if s.call.Limits(model).API == cost.APIResponses {
		return APIResponses
	}
	return APIChat
}

// endpoint returns the endpoint a call of p uses: its raw body's, else
// its model's (see apiFor).
func (s *Strategy) endpoint(p batchllm.Prompt) API {
	switch {
	case p.Raw == nil:
		return s.apiFor(s.model(p))
	case p.Raw.Endpoint == batchllm.EndpointResponses:
		return APIResponses
	}
	return APIChat
}

// checkResponses refuses, for the Responses API, settings it has no
// field for or does not accept. name says where they come from
// ("Config", or the item).
func checkResponses(stop []string, legacy bool, maxTokens int, name string) error {
	switch {
	case len(stop) > 0:
		return fmt.Errorf("openai: %s: the Responses API has no stop sequences (Config.Stop, or the Prompt's Stop); use chat completions (API chat)", name)
	case legacy:
		return fmt.Errorf("openai: %s: LegacyMaxTokens is for chat completions; the Responses API takes max_output_tokens", name)
	case maxTokens > 0 && maxTokens < responsesMinOutput:
		return fmt.Errorf("openai: %s: an output cap of %d tokens is below the Responses API's minimum of %d", name, maxTokens, responsesMinOutput)
	}
	return nil
}

// ResponsesParams builds the Responses API request for p, without sending
// it, as Call sends it when the model's API is the Responses API.
func (s *Strategy) ResponsesParams(p batchllm.Prompt) responses.ResponseNewParams {
	return s.responsesParams(p, s.call.MaxTokensFor(p))
}

// responsesParams builds the Responses request for p with output cap
// maxTokens (0: none). The system prompt becomes instructions, the turns
// input messages; store is false (batchllm never reads a response back,
// and a stored one is kept for 30 days), which Config.Extra may override.
func (s *Strategy) responsesParams(p batchllm.Prompt, maxTokens int) responses.ResponseNewParams {
	params := responses.ResponseNewParams{Model: s.model(p), Store: oai.Bool(false)}
	system := p.System
	if system == "" {
		system = s.cfg.System
	}
	if system != "" {
		params.Instructions = oai.String(system)
	}
	items := make(responses.ResponseInputParam, 0, len(p.Messages))
	for _, m := range p.Messages {
		role := responses.EasyInputMessageRoleUser
		if m.Role == batchllm.RoleAssistant {
			role = responses.EasyInputMessageRoleAssistant
		}
		items = append(items, responses.ResponseInputItemParamOfMessage(m.Content, role))
	}
	params.Input = responses.ResponseNewParamsInputUnion{OfInputItemList: items}
	if maxTokens > 0 {
		params.MaxOutputTokens = oai.Int(int64(maxTokens))
	}
	if t := s.temperature(p); t != nil {
		params.Temperature = oai.Float(*t)
	}
	if sc := p.Schema; sc != nil {
		js := &responses.ResponseFormatTextJSONSchemaConfigParam{Name: schemaName(sc.Name), Strict: oai.Bool(true)}
		// The SDK's Schema is a map, which would lose the order of the
		// properties (the order the model writes them in); the schema goes
		// out verbatim instead.
		js.SetExtraFields(map[string]any{"schema": json.RawMessage(sc.JSON)})
		if sc.Description != "" {
			js.Description = oai.String(sc.Description)
		}
		params.Text.Format = responses.ResponseFormatTextConfigUnionParam{OfJSONSchema: js}
	}
	return params
}

// callResponses is Call through the Responses API.
func (s *Strategy) callResponses(ctx context.Context, req batchllm.Request[batchllm.Prompt], maxTokens int, opts []option.RequestOption) (batchllm.Response[string], error) {
	p := req.Input
	// The Config was checked at New for the default model; an item's own
	// model may need the Responses API where the default did not.
	if err := checkResponses(s.call.StopFor(p), s.cfg.LegacyMaxTokens, maxTokens, "item "+req.ItemID+" ("+s.model(p)+")"); err != nil {
		return batchllm.Response[string]{}, batchllm.Classified(fmt.Errorf("%w; not sent", err), batchllm.ClassFatalItem, 0)
	}
	var httpResp *http.Response
	opts = append(opts, option.WithResponseInto(&httpResp))
	var r *responses.Response
	var err error
	if s.cfg.Stream {
		r, err = s.respondStream(ctx, s.responsesParams(p, maxTokens), opts)
	} else {
		r, err = s.client.Responses.New(ctx, s.responsesParams(p, maxTokens), opts...)
	}
	var resp batchllm.Response[string]
	if httpResp != nil {
		resp.Limits = ratehdr.OpenAI(httpResp.Header, s.now())
	}
	if err != nil {
		if oe, ok := errors.AsType[*oai.Error](err); ok && oe.Response != nil {
			resp.Limits = ratehdr.OpenAI(oe.Response.Header, s.now())
		}
		return resp, s.classify(err)
	}
	u := r.Usage
	resp.Usage = batchllm.Usage{
		InputTokens:       u.InputTokens,
		OutputTokens:      u.OutputTokens,
		CachedInputTokens: u.InputTokensDetails.CachedTokens,
		CacheWriteTokens:  u.InputTokensDetails.CacheWriteTokens,
	}
	resp.Model, resp.Raw = r.Model, calls.RawJSON(r)
	if r.Status == responses.ResponseStatusFailed {
		return resp, s.classify(responseError(string(r.Error.Code), r.Error.Message))
	}
	if r.Status != responses.ResponseStatusCompleted && r.Status != responses.ResponseStatusIncomplete {
		// queued, in_progress (background mode, which batchllm does not
		// ask for) or cancelled: no answer to read.
		return resp, batchllm.Classified(fmt.Errorf("openai: response %s has status %q", r.ID, r.Status), batchllm.ClassTransient, 0)
	}
	text, refusal, toolCall := responseOutput(r)
	resp.Output = text
	resp.RawFinishReason = string(r.Status)
	if r.Status == responses.ResponseStatusIncomplete {
		resp.RawFinishReason = r.IncompleteDetails.Reason
	}
	resp.FinishReason = ResponseFinishReason(r.Status, r.IncompleteDetails.Reason)
	if toolCall && resp.FinishReason == batchllm.FinishStop {
		resp.FinishReason = batchllm.FinishToolUse
	}
	a := calls.Answer{Raw: resp.RawFinishReason, Empty: text == "" && !toolCall, MaxTokens: maxTokens, OutputTokens: u.OutputTokens,
		Detail: reasoningDetail(u.OutputTokensDetails.ReasoningTokens, u.OutputTokens, text == "")}
	if refusal != "" {
		resp.FinishReason = batchllm.FinishRefusal
		a.Detail = "model refused: " + refusal
	}
	a.Reason = resp.FinishReason
	if err := s.call.Finish(s.cfg.OnTruncated, req.State, a, s.call.Limits(s.model(p)).MaxOutput); err != nil {
		return resp, err
	}
	return resp, nil
}

// ResponseFinishReason maps a response's status and
// incomplete_details.reason to batchllm's finish reason: "completed" →
// stop; "incomplete" for "max_output_tokens" → length, for
// "content_filter" → content_filter, for anything else → other; any other
// status → unknown.
func ResponseFinishReason(status responses.ResponseStatus, reason string) batchllm.FinishReason {
	switch status {
	case responses.ResponseStatusCompleted:
		return batchllm.FinishStop
	case responses.ResponseStatusIncomplete:
		switch reason {
		case "max_output_tokens":
			return batchllm.FinishLength
		case "content_filter":
			return batchllm.FinishContentFilter
		}
		return batchllm.FinishOther
	}
	return batchllm.FinishUnknown
}

// responseOutput returns the text of a response's messages (output_text
// parts, in order), the text of any refusal part, and whether it called a
// tool.
func responseOutput(r *responses.Response) (text, refusal string, toolCall bool) {
	var t, ref strings.Builder
	for _, item := range r.Output {
		switch item.Type {
		case "message":
			for _, c := range item.Content {
				switch c.Type {
				case "output_text":
					t.WriteString(c.Text)
				case "refusal":
					ref.WriteString(c.Refusal)
				}
			}
		case "function_call", "custom_tool_call":
			toolCall = true
		}
	}
	return t.String(), ref.String(), toolCall
}

// reasoningDetail says, for an answer cut off or empty, how much of the
// output went to reasoning, which a reader of the error could not tell
// from the output tokens alone.
func reasoningDetail(reasoning, output int64, empty bool) string {
	if reasoning <= 0 {
		return ""
	}
	if empty {
		return fmt.Sprintf("reasoning used %d of the %d output tokens and left no answer", reasoning, output)
	}
	return fmt.Sprintf("reasoning used %d of the %d output tokens", reasoning, output)
}

// responseError classifies a failure the Responses API reports in a
// response (status "failed", its error) or in a stream ("error" event),
// by its code (the callers wrap it with s.classify, which redacts it): rate_limit_exceeded is rate limited; server_error and
// vector_store_timeout are transient; the others (invalid_prompt, image
// errors, policy violations) are the item's own.
func responseError(code, msg string) error {
	class := batchllm.ClassFatalItem
	switch code {
	case "rate_limit_exceeded":
		class = batchllm.ClassRateLimited
	case "server_error", "vector_store_timeout", "":
		class = batchllm.ClassTransient
	}
	return batchllm.Classified(fmt.Errorf("response failed: %s: %s", code, msg), class, MessageDelay(msg))
}

// respondStream sends params as a streamed response
// (Responses.NewStreaming) and returns the response of its last event
// (response.completed, response.incomplete or response.failed), which
// carries the whole output and the usage. Text, refusal and tool-argument
// deltas count as tokens for the Config's time limits. An "error" event
// fails the attempt by its code (see responseError); a stream that ends
// without a last event was cut and is transient. The usage comes only
// with the last event, so a cut stream reports none.
func (s *Strategy) respondStream(ctx context.Context, params responses.ResponseNewParams, opts []option.RequestOption) (*responses.Response, error) {
	wctx, watch := streamwatch.Start(ctx, s.limits())
	defer watch.Stop()
	stream := s.client.Responses.NewStreaming(wctx, params, opts...)
	defer stream.Close()
	for stream.Next() {
		e := stream.Current()
		switch e.Type {
		case "response.output_text.delta", "response.refusal.delta", "response.function_call_arguments.delta":
			watch.Token()
		case "response.completed", "response.incomplete", "response.failed":
			r := e.Response
			return &r, nil
		case "error":
			return nil, responseError(e.Code, e.Message)
		}
	}
	if err := stream.Err(); err != nil || watch.Fired() {
		return nil, watch.Err(err)
	}
	return nil, batchllm.Classified(errResponseStreamCut, batchllm.ClassTransient, 0)
}

// errResponseStreamCut is the error of a Responses stream that ended,
// without an error, before its last event.
var errResponseStreamCut = errors.New("stream ended before the response was finished (no response.completed)")
