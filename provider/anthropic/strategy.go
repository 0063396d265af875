package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	ant "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/provider/internal/calls"
	"github.com/batchllm/batchllm/provider/internal/ratehdr"
)

// DefaultMaxTokens is the output cap used when neither the Config nor the
// Prompt sets one: the Messages API requires max_tokens on every request.
const DefaultMaxTokens = 1024

// requestTimeout is the per-request timeout given to the SDK; the context
// of each attempt, which the processor bounds, ends a call much earlier.
const requestTimeout = 24 * time.Hour

// SchemaMode says how a [batchllm.Prompt]'s Schema is sent.
type SchemaMode int

const (
	// SchemaOutputFormat sends the schema as output_config.format
	// {"type":"json_schema"}, the Messages API's native structured output;
	// the answer's text is the JSON.
	SchemaOutputFormat SchemaMode = iota
	// SchemaTool defines one tool whose input_schema is the schema and
	// forces the model to call it (tool_choice {"type":"tool"}); the output
	// is the JSON input of that tool call. Older models that lack native
	// structured output support this.
	SchemaTool
)

// Config configures a [Strategy]. Model is required; every other field has a
// usable zero value.
type Config struct {
	// Client is the SDK client to use. If nil, New builds one from APIKey
	// and BaseURL. Either way the SDK's own retries are turned off on every
	// request: batchllm owns retries.
	Client *ant.Client
	// APIKey is the key to send. Default: $ANTHROPIC_API_KEY.
	APIKey string
	// BaseURL is the API root, without "/v1" (the SDK adds it). Default:
	// $ANTHROPIC_BASE_URL, else Anthropic's API.
	BaseURL string

	// Model is the model to call, such as "claude-haiku-4-5". A Prompt's
	// Model overrides it per item.
	Model string
	// Scope names the rate-limit quota for the admission gate. Default
	// "anthropic/" + the call's model (a Prompt's Model included).
	Scope string
	// System is the system prompt used when a Prompt has none.
	System string
	// Context is shared context sent to every item (documents, a long
	// instruction), as a second system block after the system prompt. Put
	// what all items share here and set CacheTTL to cache it.
	Context string
	// CacheTTL, if positive, marks the last system block (Context if set,
	// else the system prompt) with cache_control, so that the prefix up to
	// it is written to Anthropic's prompt cache once and read by later
	// items. Up to 5 minutes asks for the "5m" cache, more for "1h" (cache
	// writes cost 1.25× and 2× the input price; reads 0.1×). The prefix must
	// reach the model's minimum to be cached: 4,096 tokens for Claude Haiku
	// 4.5 and Opus 4.5/4.6, 2,048 for Sonnet 4.6, 1,024 for Sonnet 4.5 (the
	// catalogue's cost.Limits.CacheMinTokens); a shorter one is billed in
	// full and not cached.
	CacheTTL time.Duration
	// MaxTokens caps the output tokens. Default [DefaultMaxTokens]. A
	// Prompt's MaxTokens overrides it.
	MaxTokens int
	// Stop lists sequences that end the answer (stop_sequences,
	// https://docs.anthropic.com/en/api/messages; the API sets no number).
	// A Prompt's Stop overrides it.
	Stop []string
	// SchemaMode says how a Prompt's Schema is sent: as the native
	// output_config.format (the default) or as a single forced tool, for
	// models without native structured output.
	SchemaMode SchemaMode
	// Extra sets additional top-level request fields verbatim (sjson
	// paths), such as "metadata.user_id" or "service_tier".
	Extra map[string]any
	// RequestOptions are added to every request, after batchllm's own.
	RequestOptions []option.RequestOption

	// OnTruncated says what to do with an answer whose stop_reason is not
	// end_turn, stop_sequence or tool_use: cut off by max_tokens or by the
	// context window (model_context_window_exceeded), refused, or paused.
	// The default, [batchllm.TruncatedFail], fails the attempt with class
	// [batchllm.ClassTruncated]; [batchllm.TruncatedRetryLarger] doubles
	// max_tokens up to the model's maximum output.
	OnTruncated batchllm.OnTruncated
	// Catalogue is the model catalogue that gives each model's context
	// window, maximum output and cache minimum; nil means cost.Default().
	// A prompt longer than the context window fails its item before
	// anything is sent.
	Catalogue *cost.Table

	// Stream asks for the answer as a stream of events (stream: true),
	// assembled into the same Response as without streaming. Only
	// streaming can notice a stalled answer; see FirstTokenTimeout and
	// StallTimeout.
	Stream bool
	// FirstTokenTimeout, with Stream, bounds the time from sending the
	// request to the first token of the answer; 0 means no bound but the
	// attempt's.
	FirstTokenTimeout time.Duration
	// StallTimeout, with Stream, bounds the silence between two tokens
	// (ping events do not count); 0 means no bound. A stream that breaks
	// either limit is cancelled and the attempt fails as transient.
	StallTimeout time.Duration
}

// Strategy calls Anthropic's Messages API. It implements
// [batchllm.Strategy] for [batchllm.Prompt] and string,
// [batchllm.Estimator] and [batchllm.DryRunner]. It is safe for concurrent
// use.
type Strategy struct {
	cfg    Config
	call   calls.Defaults // the settings a Prompt may override
	client *ant.Client
	key    string // for redaction only
	now    func() time.Time
}

var (
	_ batchllm.Strategy[batchllm.Prompt, string]  = (*Strategy)(nil)
	_ batchllm.Estimator[batchllm.Prompt]         = (*Strategy)(nil)
	_ batchllm.DryRunner[batchllm.Prompt, string] = (*Strategy)(nil)
)

// New returns a Strategy for cfg. It fails if cfg.Model is empty or a
// limit (MaxTokens, the stream timeouts) is negative; it makes no request.
func New(cfg Config) (*Strategy, error) {
	if err := calls.CheckConfig("anthropic", cfg.Model, cfg.MaxTokens, cfg.FirstTokenTimeout, cfg.StallTimeout); err != nil {
		return nil, err
	}
	key := calls.Key(cfg.APIKey, "ANTHROPIC_API_KEY")
	client := cfg.Client
	if client == nil {
		opts := []option.RequestOption{option.WithMaxRetries(0)}
		if cfg.APIKey != "" {
			opts = append(opts, option.WithAPIKey(cfg.APIKey))
		}
		if cfg.BaseURL != "" {
			opts = append(opts, option.WithBaseURL(cfg.BaseURL))
		}
		c := ant.NewClient(opts...)
		client = &c
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	call := calls.Defaults{Provider: "anthropic", Model: cfg.Model, System: cfg.System, MaxTokens: cfg.MaxTokens, Stop: cfg.Stop, Scope: cfg.Scope}.WithCatalogue(cfg.Catalogue)
	return &Strategy{cfg: cfg, call: call, client: client, key: key, now: time.Now}, nil
}

// Model returns the strategy's default model.
func (s *Strategy) Model() string { return s.cfg.Model }

func (s *Strategy) model(p batchllm.Prompt) string { return s.call.ModelFor(p) }

// Params builds the SDK request for p, without sending it. p.Temperature is
// not sent: API version 2026-10-21, which SDK v2 speaks, rejects
// temperature, top_p and top_k (see the package doc); Call refuses a prompt
// that sets one rather than drop it without a word.
func (s *Strategy) Params(p batchllm.Prompt) (ant.MessageNewParams, error) {
	return s.params(p, s.call.MaxTokensFor(p))
}

func (s *Strategy) params(p batchllm.Prompt, maxTokens int) (ant.MessageNewParams, error) {
	params := ant.MessageNewParams{
		Model:         ant.Model(s.model(p)),
		MaxTokens:     int64(maxTokens),
		StopSequences: s.call.StopFor(p),
	}
	system := p.System
	if system == "" {
		system = s.cfg.System
	}
	if system != "" {
		params.System = append(params.System, ant.TextBlockParam{Text: system})
	}
	if s.cfg.Context != "" {
		params.System = append(params.System, ant.TextBlockParam{Text: s.cfg.Context})
	}
	if s.cfg.CacheTTL > 0 && len(params.System) > 0 {
		cc := ant.NewCacheControlEphemeralParam()
		cc.TTL = ant.CacheControlEphemeralTTLTTL5m
		if s.cfg.CacheTTL > 5*time.Minute {
			cc.TTL = ant.CacheControlEphemeralTTLTTL1h
		}
		params.System[len(params.System)-1].CacheControl = cc
	}
	for _, m := range p.Messages {
		if m.Role == batchllm.RoleAssistant {
			params.Messages = append(params.Messages, ant.NewAssistantMessage(ant.NewTextBlock(m.Content)))
		} else {
			params.Messages = append(params.Messages, ant.NewUserMessage(ant.NewTextBlock(m.Content)))
		}
	}
	if sc := p.Schema; sc != nil {
		var schema map[string]any
		if err := json.Unmarshal(sc.JSON, &schema); err != nil {
			return params, fmt.Errorf("anthropic: schema %q is not a JSON object: %w", sc.Name, err)
		}
		if s.cfg.SchemaMode == SchemaTool {
			params.Tools = []ant.ToolUnionParam{{OfTool: schemaTool(sc, schema)}}
			params.ToolChoice = ant.ToolChoiceParamOfTool(toolName(sc))
		} else {
			params.OutputConfig.Format = ant.JSONOutputFormatParam{Schema: schema}
		}
	}
	return params, nil
}

// toolName is the name of the tool that carries a schema in [SchemaTool]
// mode: the schema's name, or "output".
func toolName(sc *batchllm.Schema) string {
	if sc.Name == "" {
		return "output"
	}
	return sc.Name
}

// schemaTool builds the tool whose input_schema is schema: its properties
// and required list go in their fields, every other keyword verbatim.
func schemaTool(sc *batchllm.Schema, schema map[string]any) *ant.ToolParam {
	in := ant.ToolInputSchemaParam{Properties: schema["properties"], ExtraFields: map[string]any{}}
	if req, ok := schema["required"].([]any); ok {
		for _, r := range req {
			if s, ok := r.(string); ok {
				in.Required = append(in.Required, s)
			}
		}
	}
	for k, v := range schema {
		if k != "type" && k != "properties" && k != "required" {
			in.ExtraFields[k] = v
		}
	}
	t := &ant.ToolParam{Name: toolName(sc), InputSchema: in}
	if sc.Description != "" {
		t.Description = ant.String(sc.Description)
	}
	return t
}

// Call sends one message request and returns the text of the answer's text
// blocks, concatenated. Usage is normalised to batchllm's convention:
// InputTokens = input_tokens + cache_creation_input_tokens +
// cache_read_input_tokens, CachedInputTokens = cache_read_input_tokens and
// CacheWriteTokens = cache_creation_input_tokens. Limits come from the
// anthropic-ratelimit-* headers of the response, successful or not. Errors
// are wrapped with their class (see [Classify]).
func (s *Strategy) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	if err := s.call.RefuseRaw(req.Input); err != nil {
		return batchllm.Response[string]{}, err
	}
	if err := s.call.Check(s.Estimate(req), req.Input.Temperature, calls.NoTemperature); err != nil {
		return batchllm.Response[string]{}, err
	}
	maxTokens := s.call.MaxTokensAt(req.Input, req.State)
	params, err := s.params(req.Input, maxTokens)
	if err != nil {
		return batchllm.Response[string]{}, batchllm.Classified(err, batchllm.ClassFatalItem, 0)
	}
	var httpResp *http.Response
	opts := make([]option.RequestOption, 0, 2+len(s.cfg.Extra)+len(s.cfg.RequestOptions))
	// The SDK refuses a non-streaming request whose max_tokens suggests more
	// than ten minutes of work unless a request timeout is set. The
	// attempt's context is the real bound, so give the SDK a generous one.
	opts = append(opts, option.WithMaxRetries(0), option.WithResponseInto(&httpResp), option.WithRequestTimeout(requestTimeout))
	for k, v := range s.cfg.Extra {
		opts = append(opts, option.WithJSONSet(k, v))
	}
	opts = append(opts, s.cfg.RequestOptions...)

	var msg *ant.Message
	if s.cfg.Stream {
		msg, err = s.messageStream(ctx, params, opts)
	} else {
		msg, err = s.client.Messages.New(ctx, params, opts...)
	}
	if err != nil {
		var resp batchllm.Response[string]
		if ae, ok := errors.AsType[*ant.Error](err); ok && ae.Response != nil {
			resp.Limits = ratehdr.Anthropic(ae.Response.Header, s.now())
		}
		if msg != nil {
			// A stream that failed after message_start: the usage it
			// reported so far (the input, which is billed).
			resp.Usage = usage(msg.Usage)
		}
		return resp, s.classify(err)
	}
	u := msg.Usage
	resp := batchllm.Response[string]{
		Usage:           usage(u),
		Model:           string(msg.Model),
		FinishReason:    FinishReason(msg.StopReason),
		RawFinishReason: string(msg.StopReason),
		Raw:             calls.RawJSON(msg),
	}
	if httpResp != nil {
		resp.Limits = ratehdr.Anthropic(httpResp.Header, s.now())
	}
	a := calls.Answer{Reason: resp.FinishReason, Raw: resp.RawFinishReason, Empty: len(msg.Content) == 0, MaxTokens: maxTokens, OutputTokens: u.OutputTokens}
	if err := s.call.Finish(s.cfg.OnTruncated, req.State, a, s.call.Limits(s.model(req.Input)).MaxOutput); err != nil {
		resp.Output = text(msg)
		return resp, err
	}
	if sc := req.Input.Schema; sc != nil && s.cfg.SchemaMode == SchemaTool {
		for _, c := range msg.Content {
			if c.Type == "tool_use" && c.Name == toolName(sc) {
				resp.Output = string(c.Input)
				return resp, nil
			}
		}
		return resp, batchllm.Classified(fmt.Errorf("anthropic: the answer does not call the tool %q", toolName(sc)), batchllm.ClassInvalidOutput, 0)
	}
	resp.Output = text(msg)
	return resp, nil
}

// text returns the text of msg's text blocks, concatenated.
func text(msg *ant.Message) string {
	var b strings.Builder
	for _, c := range msg.Content {
		if c.Type == "text" {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

// FinishReason maps a Messages API stop_reason to batchllm's: end_turn and
// stop_sequence → stop, max_tokens and model_context_window_exceeded →
// length, tool_use → tool_use, refusal → refusal, "" → unknown, anything
// else (pause_turn) → other.
func FinishReason(raw ant.StopReason) batchllm.FinishReason {
	switch raw {
	case ant.StopReasonEndTurn, ant.StopReasonStopSequence:
		return batchllm.FinishStop
	case ant.StopReasonMaxTokens, ant.StopReasonModelContextWindowExceeded:
		return batchllm.FinishLength
	case ant.StopReasonToolUse:
		return batchllm.FinishToolUse
	case ant.StopReasonRefusal:
		return batchllm.FinishRefusal
	case "":
		return batchllm.FinishUnknown
	}
	return batchllm.FinishOther
}

// Estimate implements [batchllm.Estimator]: the scope and model, the
// prompt's tokens (system prompt and shared context included) counted
// approximately, and the effective max output tokens.
func (s *Strategy) Estimate(req batchllm.Request[batchllm.Prompt]) batchllm.Estimate {
	p := s.call.WithSystem(req.Input)
	if s.cfg.Context != "" {
		p.System += "\n\n" + s.cfg.Context
	}
	return s.call.EstimateAt(p, req.State)
}

// DryRun implements [batchllm.DryRunner] without any network traffic. The
// output is the placeholder "[dry run: anthropic <model>]"; usage has the
// estimated input tokens and, as an upper bound, the effective max output
// tokens.
func (s *Strategy) DryRun(_ context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	return s.call.DryRun(s.Estimate(req)), nil
}

// usage is u in batchllm's convention: InputTokens counts the cache reads
// and writes too.
func usage(u ant.Usage) batchllm.Usage {
	return batchllm.Usage{
		InputTokens:       u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens,
		OutputTokens:      u.OutputTokens,
		CachedInputTokens: u.CacheReadInputTokens,
		CacheWriteTokens:  u.CacheCreationInputTokens,
		// The 1h part, billed at 2× input instead of 1.25×; at most all of
		// the writes, whatever a server reports.
		CacheWrite1hTokens: min(u.CacheCreation.Ephemeral1hInputTokens, u.CacheCreationInputTokens),
	}
}
