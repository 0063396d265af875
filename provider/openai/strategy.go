package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/provider/internal/calls"
	"github.com/batchllm/batchllm/provider/internal/ratehdr"
	"github.com/batchllm/batchllm/tokens"
)

// Config configures a [Strategy]. Model is required; every other field has a
// usable zero value.
type Config struct {
	// Client is the SDK client to use. If nil, New builds one from APIKey
	// and BaseURL. Either way the SDK's own retries are turned off on every
	// request: batchllm owns retries.
	Client *oai.Client
	// APIKey is the key sent as a bearer token. Default: $OPENAI_API_KEY.
	// Local servers (Ollama, vLLM, llama.cpp) accept any value or none.
	APIKey string
	// BaseURL is the API root that "chat/completions" is joined to, for
	// example "http://localhost:11434/v1/" (see the package doc for each
	// kind of server). Default: $OPENAI_BASE_URL, else OpenAI's API.
	BaseURL string

	// Model is the model to call, such as "gpt-4o-mini". A Prompt's Model
	// overrides it per item.
	Model string
	// Scope names the rate-limit quota for the admission gate. Default
	// "openai/" + the call's model (a Prompt's Model included), so that
	// each model has its own limits, as on OpenAI's API. Set it when two
	// strategies share one quota, or to tell apart two servers that serve
	// the same model name.
	Scope string
	// System is the system prompt used when a Prompt has none.
	System string
	// Temperature is the sampling temperature; nil leaves the server's
	// default. A Prompt's Temperature overrides it.
	Temperature *float64
	// MaxTokens caps the output tokens (max_completion_tokens); 0 leaves the
	// server's default. A Prompt's MaxTokens overrides it.
	MaxTokens int
	// LegacyMaxTokens sends the cap as the older max_tokens field, for
	// compatible servers that do not know max_completion_tokens.
	LegacyMaxTokens bool
	// Stop lists up to 4 sequences that end the answer ("Up to 4
	// sequences where the API will stop generating further tokens",
	// https://platform.openai.com/docs/api-reference/chat/create#chat-create-stop).
	// A Prompt's Stop overrides it.
	Stop []string
	// Extra sets additional top-level request fields, such as "seed",
	// "reasoning_effort" or "prompt_cache_key", verbatim. Keys are
	// sjson paths ("metadata.team" sets a nested field).
	Extra map[string]any
	// RequestOptions are added to every request, after batchllm's own: extra
	// headers, a per-request timeout, middleware.
	RequestOptions []option.RequestOption

	// Stream asks for the answer as a stream of chunks (stream: true, with
	// stream_options.include_usage), assembled into the same Response as
	// without streaming. Only streaming can notice a stalled answer; see
	// FirstTokenTimeout and StallTimeout.
	Stream bool
	// FirstTokenTimeout, with Stream, bounds the time from sending the
	// request to the first token of the answer; 0 means no bound but the
	// attempt's. Reasoning models think before their first token: allow
	// for it.
	FirstTokenTimeout time.Duration
	// StallTimeout, with Stream, bounds the silence between two tokens;
	// 0 means no bound. A stream that breaks either limit is cancelled and
	// the attempt fails as transient.
	StallTimeout time.Duration
	// OnTruncated says what to do with an answer that did not end with
	// finish_reason "stop" or "tool_calls": cut off by max_completion_tokens
	// ("length", including an empty answer when reasoning used the whole
	// budget), withheld by the content filter, or refused. The default,
	// [batchllm.TruncatedFail], fails the attempt with class
	// [batchllm.ClassTruncated].
	OnTruncated batchllm.OnTruncated
	// API chooses the endpoint: [APIAuto] (the default, "") the Responses
	// API for the models the catalogue says only it serves and chat
	// completions for the others; [APIChat] or [APIResponses] one of them
	// for every model. The Responses API takes no Stop or LegacyMaxTokens
	// and no output cap below 16 tokens.
	API API
	// Catalogue is the model catalogue that gives each model's context
	// window, maximum output, temperature rule and API; nil means
	// cost.Default().
	// A prompt longer than the context window, or a temperature a reasoning
	// model rejects, fails its item before anything is sent.
	Catalogue *cost.Table
}

// Strategy calls OpenAI's chat completions endpoint, or that of a compatible
// server, or OpenAI's Responses API (see [Config.API]). It implements [batchllm.Strategy] for [batchllm.Prompt] and
// string, [batchllm.Estimator] and [batchllm.DryRunner]. It is safe for
// concurrent use.
type Strategy struct {
	cfg    Config
	api    API
	call   calls.Defaults // the settings a Prompt may override
	client *oai.Client
	key    string // for redaction only
	now    func() time.Time
}

var (
	_ batchllm.Strategy[batchllm.Prompt, string]  = (*Strategy)(nil)
	_ batchllm.Estimator[batchllm.Prompt]         = (*Strategy)(nil)
	_ batchllm.DryRunner[batchllm.Prompt, string] = (*Strategy)(nil)
)

// New returns a Strategy for cfg. It fails if cfg.Model is empty, or if
// cfg.Temperature is one the catalogue says the model rejects; it makes no
// request.
func New(cfg Config) (*Strategy, error) {
	if err := calls.CheckConfig("openai", cfg.Model, cfg.MaxTokens, cfg.FirstTokenTimeout, cfg.StallTimeout); err != nil {
		return nil, err
	}
	call := calls.Defaults{Provider: "openai", Model: cfg.Model, System: cfg.System, MaxTokens: cfg.MaxTokens, Stop: cfg.Stop, Scope: cfg.Scope}.WithCatalogue(cfg.Catalogue)
	if err := call.CheckTemperature(cfg.Model, cfg.Temperature, calls.DefaultOnly); err != nil {
		return nil, fmt.Errorf("Config.Temperature: %w", err)
	}
	api, err := ParseAPI(string(cfg.API))
	if err != nil {
		return nil, err
	}
	s := &Strategy{cfg: cfg, api: api, call: call}
	if s.apiFor(cfg.Model) == APIResponses {
		if err := checkResponses(cfg.Stop, cfg.LegacyMaxTokens, cfg.MaxTokens, "Config for "+cfg.Model); err != nil {
			return nil, err
		}
	}
	key := calls.Key(cfg.APIKey, "OPENAI_API_KEY")
	client := cfg.Client
	if client == nil {
		opts := []option.RequestOption{option.WithMaxRetries(0)}
		if cfg.APIKey != "" {
			opts = append(opts, option.WithAPIKey(cfg.APIKey))
		}
		if cfg.BaseURL != "" {
			opts = append(opts, option.WithBaseURL(cfg.BaseURL))
		}
		c := oai.NewClient(opts...)
		client = &c
	}
	s.client, s.key, s.now = client, key, time.Now
	return s, nil
}

// Model returns the strategy's default model.
func (s *Strategy) Model() string { return s.cfg.Model }

// model returns the model for p: its override or the default.
func (s *Strategy) model(p batchllm.Prompt) string { return s.call.ModelFor(p) }

// Params builds the SDK request for p, without sending it. It is exported
// so that callers (and the batch mode) can see exactly what Call sends.
func (s *Strategy) Params(p batchllm.Prompt) oai.ChatCompletionNewParams {
	return s.params(p, s.call.MaxTokensFor(p))
}

// params builds the SDK request for p with output cap maxTokens (0: none).
func (s *Strategy) params(p batchllm.Prompt, maxTokens int) oai.ChatCompletionNewParams {
	params := oai.ChatCompletionNewParams{Model: shared.ChatModel(s.model(p))}
	system := p.System
	if system == "" {
		system = s.cfg.System
	}
	if system != "" {
		params.Messages = append(params.Messages, oai.SystemMessage(system))
	}
	for _, m := range p.Messages {
		if m.Role == batchllm.RoleAssistant {
			params.Messages = append(params.Messages, oai.AssistantMessage(m.Content))
		} else {
			params.Messages = append(params.Messages, oai.UserMessage(m.Content))
		}
	}
	if n := maxTokens; n > 0 {
		if s.cfg.LegacyMaxTokens {
			params.MaxTokens = oai.Int(int64(n))
		} else {
			params.MaxCompletionTokens = oai.Int(int64(n))
		}
	}
	if t := s.temperature(p); t != nil {
		params.Temperature = oai.Float(*t)
	}
	if stop := s.call.StopFor(p); len(stop) > 0 {
		params.Stop = oai.ChatCompletionNewParamsStopUnion{OfStringArray: stop}
	}
	if sc := p.Schema; sc != nil {
		js := shared.ResponseFormatJSONSchemaJSONSchemaParam{
			Name:   schemaName(sc.Name),
			Strict: oai.Bool(true),
			Schema: json.RawMessage(sc.JSON),
		}
		if sc.Description != "" {
			js.Description = oai.String(sc.Description)
		}
		params.ResponseFormat = oai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: js},
		}
	}
	return params
}

// schemaName returns name, or "output" if it is empty: OpenAI requires a
// name.
func schemaName(name string) string {
	if name == "" {
		return "output"
	}
	return name
}

// Call sends one chat completion and returns the first choice's content,
// or, when the model's API is the Responses API (see [Config.API]), one
// response and its output text.
// Usage follows batchllm's convention as OpenAI reports it: prompt_tokens
// includes cached_tokens. Limits come from the x-ratelimit-* headers of the
// response, successful or not. The finish reason is reported in the
// Response; an answer that did not end with "stop" or "tool_calls" is
// handled as Config.OnTruncated says. Errors are wrapped with their class
// (see [Classify]).
func (s *Strategy) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	p, err := View(req.Input) // a raw body's model, messages and limits
	if err != nil {
		return batchllm.Response[string]{}, batchllm.Classified(err, batchllm.ClassFatalItem, 0)
	}
	if err := s.check(req, p); err != nil {
		return batchllm.Response[string]{}, err
	}
	maxTokens := s.call.MaxTokensAt(p, req.State)
	var httpResp *http.Response
	opts := make([]option.RequestOption, 0, 2+len(s.cfg.Extra)+len(s.cfg.RequestOptions))
	opts = append(opts, option.WithMaxRetries(0))
	opts = append(opts, s.rawOptions(req.Input, p)...)
	for k, v := range s.cfg.Extra {
		opts = append(opts, option.WithJSONSet(k, v))
	}
	opts = append(opts, s.cfg.RequestOptions...)
	if s.endpoint(p) == APIResponses {
		req.Input = p
		return s.callResponses(ctx, req, maxTokens, opts)
	}
	// OpenAI's own API takes up to MaxStop; a compatible server (BaseURL
	// set) bounds them itself, and some take more.
	if n := len(s.call.StopFor(p)); n > MaxStop && s.cfg.BaseURL == "" {
		return batchllm.Response[string]{}, batchllm.Classified(fmt.Errorf("openai: item %s: %d stop sequences; chat completions take up to %d; not sent", req.ItemID, n, MaxStop), batchllm.ClassFatalItem, 0)
	}
	opts = append(opts, option.WithResponseInto(&httpResp))

	var cc *oai.ChatCompletion
	if s.cfg.Stream {
		cc, err = s.completeStream(ctx, s.params(p, maxTokens), opts)
	} else {
		cc, err = s.client.Chat.Completions.New(ctx, s.params(p, maxTokens), opts...)
	}
	if err != nil {
		var resp batchllm.Response[string]
		if oe, ok := errors.AsType[*oai.Error](err); ok && oe.Response != nil {
			resp.Limits = ratehdr.OpenAI(oe.Response.Header, s.now())
		}
		return resp, s.classify(err)
	}
	resp := batchllm.Response[string]{
		Usage: batchllm.Usage{
			InputTokens:       cc.Usage.PromptTokens,
			OutputTokens:      cc.Usage.CompletionTokens,
			CachedInputTokens: cc.Usage.PromptTokensDetails.CachedTokens,
			CacheWriteTokens:  cc.Usage.PromptTokensDetails.CacheWriteTokens,
		},
		Model: cc.Model,
		Raw:   calls.RawJSON(cc),
	}
	if httpResp != nil {
		resp.Limits = ratehdr.OpenAI(httpResp.Header, s.now())
	}
	if len(cc.Choices) == 0 {
		// A 200 without a choice is a server fault, not the item's.
		return resp, batchllm.Classified(errors.New("openai: response has no choices"), batchllm.ClassTransient, 0)
	}
	choice := cc.Choices[0]
	msg := choice.Message
	resp.RawFinishReason = choice.FinishReason
	resp.FinishReason = FinishReason(choice.FinishReason)
	empty := msg.Content == "" && len(msg.ToolCalls) == 0
	a := calls.Answer{Raw: choice.FinishReason, Empty: empty, MaxTokens: maxTokens, OutputTokens: cc.Usage.CompletionTokens,
		Detail: reasoningDetail(cc.Usage.CompletionTokensDetails.ReasoningTokens, cc.Usage.CompletionTokens, empty)}
	if msg.Refusal != "" {
		// The model refused on policy grounds; asking again gets the same.
		resp.FinishReason = batchllm.FinishRefusal
		a.Detail = "model refused: " + msg.Refusal
	}
	a.Reason = resp.FinishReason
	resp.Output = msg.Content
	if err := s.call.Finish(s.cfg.OnTruncated, req.State, a, s.call.Limits(s.model(p)).MaxOutput); err != nil {
		return resp, err
	}
	return resp, nil
}

// FinishReason maps a Chat Completions finish_reason to batchllm's:
// "stop" → stop, "length" → length, "content_filter" → content_filter,
// "tool_calls" and "function_call" → tool_use, "" → unknown, anything
// else → other. (A refusal comes with finish_reason "stop" and a refusal
// message; Call reports it as [batchllm.FinishRefusal].)
func FinishReason(raw string) batchllm.FinishReason {
	switch raw {
	case "stop":
		return batchllm.FinishStop
	case "length":
		return batchllm.FinishLength
	case "content_filter":
		return batchllm.FinishContentFilter
	case "tool_calls", "function_call":
		return batchllm.FinishToolUse
	case "":
		return batchllm.FinishUnknown
	}
	return batchllm.FinishOther
}

// MaxStop is the most stop sequences OpenAI's chat completions take: "Up to 4
// sequences" (https://platform.openai.com/docs/api-reference/chat/create#chat-create-stop).
// A Strategy with a BaseURL leaves the bound to that server.
const MaxStop = 4

// temperature returns the temperature sent with p: its own, else the
// configured one; nil if none.
func (s *Strategy) temperature(p batchllm.Prompt) *float64 {
	if p.Temperature != nil {
		return p.Temperature
	}
	return s.cfg.Temperature
}

// check refuses, before anything is sent, a prompt that cannot succeed
// (see calls.Defaults.Check). A prompt's bytes bound its tokens (each token
// of OpenAI's BPE vocabularies is at least one byte), so a prompt whose
// bytes fit the model's context window passes without the tokenizer; only
// a longer one is counted. A batch run builds and reads every request
// through Call and otherwise never counts, so it never loads the
// tokenizer's vocabulary (about 6 MiB of heap).
func (s *Strategy) check(req batchllm.Request[batchllm.Prompt], p batchllm.Prompt) error {
	bound := batchllm.Estimate{
		Model:       s.call.ModelFor(p),
		InputTokens: tokens.CountPrompt(tokens.Approx{BytesPerToken: 1}, s.call.WithSystem(p)),
	}
	if s.call.Check(bound, s.temperature(p), calls.DefaultOnly) == nil {
		return nil
	}
	return s.call.Check(s.Estimate(req), s.temperature(p), calls.DefaultOnly)
}

// Estimate implements [batchllm.Estimator]: the scope and model, the prompt's
// tokens counted with the model's tokenizer (an approximation for models
// that are not OpenAI's), and the effective max output tokens (0 if unset).
func (s *Strategy) Estimate(req batchllm.Request[batchllm.Prompt]) batchllm.Estimate {
	p, _ := View(req.Input) // a bad raw body fails in Call; estimate what reads
	return s.call.EstimateAt(s.call.WithSystem(p), req.State)
}

// DryRun implements [batchllm.DryRunner] without any network traffic. The
// output is the placeholder "[dry run: openai <model>]"; usage has the
// estimated input tokens and, as an upper bound, the effective max output
// tokens, or the model's maximum output from the catalogue if unset.
func (s *Strategy) DryRun(_ context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	return s.call.DryRun(s.Estimate(req)), nil
}
