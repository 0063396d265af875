package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/provider/internal/calls"
)

// Config configures a [Strategy]. Model is required; every other field has a
// usable zero value.
type Config struct {
	// Client is the SDK client to use. If nil, New builds one for the
	// Gemini Developer API from APIKey and BaseURL, without retries (genai
	// retries only when HTTPOptions.RetryOptions is set; New leaves it nil).
	// A Client you pass must not retry (HTTPOptions.RetryOptions nil, or
	// Attempts 1): New refuses one that does, since batchllm owns retries.
	Client *genai.Client
	// APIKey is the key to send. Default: $GEMINI_API_KEY, else
	// $GOOGLE_API_KEY (read by the SDK).
	APIKey string
	// BaseURL is the API root, without the version (the SDK adds "v1beta/").
	// Default: $GOOGLE_GEMINI_BASE_URL, else Google's API.
	BaseURL string
	// HTTPClient is the HTTP client the SDK uses when New builds the
	// client; nil means the SDK's default.
	HTTPClient *http.Client

	// Model is the model to call, such as "gemini-2.5-flash". A Prompt's
	// Model overrides it per item (not with a [CachedStrategy]).
	Model string
	// Scope names the rate-limit quota for the admission gate. Default
	// "gemini/" + the call's model (a Prompt's Model included).
	Scope string
	// System is the system instruction used when a Prompt has none.
	System string
	// Temperature is the sampling temperature; nil leaves the model's
	// default. A Prompt's Temperature overrides it.
	Temperature *float64
	// MaxTokens caps the output tokens (maxOutputTokens); 0 leaves the
	// model's default. A Prompt's MaxTokens overrides it.
	MaxTokens int
	// Stop lists up to 5 sequences that end the answer
	// (generationConfig.stopSequences: "The set of character sequences (up
	// to 5) that will stop output generation",
	// https://ai.google.dev/api/generate-content#generationconfig). A
	// Prompt's Stop overrides it.
	Stop []string
	// SafetySettings are sent with every request.
	SafetySettings []*genai.SafetySetting
	// Extra sets additional top-level request body fields verbatim (the
	// SDK's HTTPOptions.ExtraBody), such as {"generationConfig": {...}} keys
	// the SDK does not know yet.
	Extra map[string]any
	// Headers are added to every request.
	Headers http.Header

	// OnTruncated says what to do with an answer whose finishReason is not
	// STOP: cut off by maxOutputTokens (MAX_TOKENS, including an empty
	// answer when thinking used the whole budget), blocked for safety,
	// recitation and kin, or a blocked prompt. The default,
	// [batchllm.TruncatedFail], fails the attempt with class
	// [batchllm.ClassTruncated]. An answer that ends with CONTINUATION is
	// continued (up to [MaxContinuations] requests), never returned as whole.
	OnTruncated batchllm.OnTruncated
	// Catalogue is the model catalogue that gives each model's context
	// window, maximum output and cache minimum; nil means cost.Default().
	// A prompt longer than the context window fails its item before
	// anything is sent.
	Catalogue *cost.Table

	// Stream asks for the answer as a stream
	// (streamGenerateContent?alt=sse), merged into the same Response as
	// without streaming. Only streaming can notice a stalled answer; see
	// FirstTokenTimeout and StallTimeout.
	Stream bool
	// FirstTokenTimeout, with Stream, bounds the time from sending the
	// request to the first token of the answer; 0 means no bound but the
	// attempt's. Thinking models think before their first token: allow for
	// it.
	FirstTokenTimeout time.Duration
	// StallTimeout, with Stream, bounds the silence between two chunks of
	// the answer; 0 means no bound. A stream that breaks either limit is
	// cancelled and the attempt fails as transient.
	StallTimeout time.Duration
}

// MaxContinuations is the most requests one call sends for an answer that
// the API splits with finishReason CONTINUATION; an answer still unfinished
// after that is reported as cut off.
const MaxContinuations = 16

// Strategy calls Gemini's generateContent. It implements
// [batchllm.Strategy] for [batchllm.Prompt] and string,
// [batchllm.Estimator] and [batchllm.DryRunner]. For the answer with its
// safety ratings, finish reason and raw response, see [Strategy.Detailed].
// It is safe for concurrent use.
type Strategy struct {
	cfg    Config
	call   calls.Defaults // the settings a Prompt may override
	client *genai.Client
	key    string // for redaction only
}

var (
	_ batchllm.Strategy[batchllm.Prompt, string]  = (*Strategy)(nil)
	_ batchllm.Estimator[batchllm.Prompt]         = (*Strategy)(nil)
	_ batchllm.DryRunner[batchllm.Prompt, string] = (*Strategy)(nil)
)

// New returns a Strategy for cfg. It fails if cfg.Model is empty or if the
// SDK cannot build a client (no API key anywhere); it makes no request.
func New(cfg Config) (*Strategy, error) {
	if err := calls.CheckConfig("gemini", cfg.Model, cfg.MaxTokens, cfg.FirstTokenTimeout, cfg.StallTimeout); err != nil {
		return nil, err
	}
	key := calls.Key(cfg.APIKey, "GEMINI_API_KEY", "GOOGLE_API_KEY")
	client := cfg.Client
	if client != nil {
		if ro := client.ClientConfig().HTTPOptions.RetryOptions; ro != nil && (ro.Attempts == nil || *ro.Attempts != 1) {
			return nil, errors.New("gemini: Config.Client retries by itself (HTTPOptions.RetryOptions); batchllm owns retries, so leave RetryOptions nil")
		}
	} else {
		// With an API key and the Gemini backend, NewClient makes no
		// request and does not use its context.
		c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
			APIKey:      cfg.APIKey,
			Backend:     genai.BackendGeminiAPI,
			HTTPClient:  cfg.HTTPClient,
			HTTPOptions: genai.HTTPOptions{BaseURL: cfg.BaseURL},
		})
		if err != nil {
			return nil, fmt.Errorf("gemini: new client: %w", err)
		}
		client = c
	}
	call := calls.Defaults{Provider: "gemini", Model: cfg.Model, System: cfg.System, MaxTokens: cfg.MaxTokens, Stop: cfg.Stop, Scope: cfg.Scope}.WithCatalogue(cfg.Catalogue)
	if err := call.CheckTemperature(cfg.Model, cfg.Temperature, calls.DefaultOnly); err != nil {
		return nil, fmt.Errorf("Config.Temperature: %w", err)
	}
	return &Strategy{cfg: cfg, call: call, client: client, key: key}, nil
}

// Model returns the strategy's default model.
func (s *Strategy) Model() string { return s.cfg.Model }

// Client returns the SDK client the strategy uses.
func (s *Strategy) Client() *genai.Client { return s.client }

func (s *Strategy) model(p batchllm.Prompt) string { return s.call.ModelFor(p) }

// contents converts p's messages to Gemini contents ("model" is Gemini's
// name for the assistant role).
func contents(p batchllm.Prompt) []*genai.Content {
	out := make([]*genai.Content, 0, len(p.Messages))
	for _, m := range p.Messages {
		role := genai.RoleUser
		if m.Role == batchllm.RoleAssistant {
			role = genai.RoleModel
		}
		out = append(out, genai.NewContentFromText(m.Content, genai.Role(role)))
	}
	return out
}

// GenerateConfig builds the SDK request configuration for p, without
// sending it. The system instruction is left out when cached is true: a
// request that uses a context cache must not set one.
func (s *Strategy) GenerateConfig(p batchllm.Prompt, cached bool) (*genai.GenerateContentConfig, error) {
	return s.generateConfig(p, cached, s.call.MaxTokensFor(p))
}

func (s *Strategy) generateConfig(p batchllm.Prompt, cached bool, maxTokens int) (*genai.GenerateContentConfig, error) {
	stop := s.call.StopFor(p)
	if len(stop) > MaxStop {
		return nil, fmt.Errorf("gemini: %d stop sequences; Gemini takes up to %d; not sent", len(stop), MaxStop)
	}
	gc := &genai.GenerateContentConfig{
		StopSequences:  stop,
		SafetySettings: s.cfg.SafetySettings,
		// Never let the SDK re-send a request by itself: generate continues
		// an answer itself, so that the usage of every request is counted
		// even when a later one fails.
		AutomaticContinuation: genai.Ptr(false),
	}
	if len(s.cfg.Headers) > 0 || len(s.cfg.Extra) > 0 {
		gc.HTTPOptions = &genai.HTTPOptions{Headers: s.cfg.Headers, ExtraBody: s.cfg.Extra}
	}
	if !cached {
		system := p.System
		if system == "" {
			system = s.cfg.System
		}
		if system != "" {
			gc.SystemInstruction = genai.NewContentFromText(system, genai.RoleUser)
		}
	}
	if n := maxTokens; n > 0 {
		gc.MaxOutputTokens = int32(min(n, 1<<31-1))
	}
	if t := s.temperature(p); t != nil {
		gc.Temperature = genai.Ptr(float32(*t))
	}
	if sc := p.Schema; sc != nil {
		var schema any
		if err := json.Unmarshal(sc.JSON, &schema); err != nil {
			return nil, fmt.Errorf("gemini: schema %q is not valid JSON: %w", sc.Name, err)
		}
		gc.ResponseMIMEType = "application/json"
		gc.ResponseJsonSchema = schema
	}
	return gc, nil
}

// MaxStop is the most stop sequences Gemini takes: "up to 5"
// (https://ai.google.dev/api/generate-content#generationconfig,
// stopSequences).
const MaxStop = 5

// temperature returns the temperature sent with p: its own, else the
// configured one; nil if none.
func (s *Strategy) temperature(p batchllm.Prompt) *float64 {
	if p.Temperature != nil {
		return p.Temperature
	}
	return s.cfg.Temperature
}

// generate sends one request, with cacheName as cachedContent if not empty,
// continuing an answer that ends with CONTINUATION, and returns the raw
// response (the parts of every continuation joined into its first
// candidate) and its batchllm usage (summed over the requests), model and
// finish reason. The answer is not judged here (see [Strategy.finish]).
// The error is classified.
func (s *Strategy) generate(ctx context.Context, req batchllm.Request[batchllm.Prompt], cacheName string) (*genai.GenerateContentResponse, batchllm.Response[string], error) {
	var out batchllm.Response[string]
	p := req.Input
	if err := s.call.RefuseRaw(p); err != nil {
		return nil, out, err
	}
	if err := s.call.Check(s.call.EstimateAt(s.call.WithSystem(p), req.State), s.temperature(p), calls.DefaultOnly); err != nil {
		return nil, out, err
	}
	gc, err := s.generateConfig(p, cacheName != "", s.call.MaxTokensAt(p, req.State))
	if err != nil {
		return nil, out, batchllm.Classified(err, batchllm.ClassFatalItem, 0)
	}
	gc.CachedContent = cacheName
	var merged *genai.GenerateContentResponse
	for hop := 1; ; hop++ {
		resp, err := s.generateContent(ctx, s.model(p), contents(p), gc)
		if err != nil {
			_, wrapped := s.classify(err)
			if ae, ok := errors.AsType[genai.APIError](err); ok {
				out.Limits = ErrorLimits(ae)
			}
			return nil, out, wrapped
		}
		// Every request is billed, a continuation's prompt included.
		out.Usage = out.Usage.Add(usage(resp.UsageMetadata))
		out.Model = resp.ModelVersion
		merged = appendContinuation(merged, resp)
		token := continuationToken(resp)
		if token == nil || hop >= MaxContinuations {
			break
		}
		gc.ContinuationToken = token
	}
	out.RawFinishReason, out.FinishReason = finishOf(merged)
	out.Raw = rawResponse(merged)
	return merged, out, nil
}

// rawResponse is the JSON of r for Response.Raw: the response as the API
// sent it, without the HTTP headers the SDK adds to it.
func rawResponse(r *genai.GenerateContentResponse) json.RawMessage {
	c := *r
	c.SDKHTTPResponse = nil
	return calls.MarshalRaw(&c)
}

// usage converts Gemini's usage metadata to batchllm's convention.
func usage(u *genai.GenerateContentResponseUsageMetadata) batchllm.Usage {
	if u == nil {
		return batchllm.Usage{}
	}
	return batchllm.Usage{
		// promptTokenCount includes the cached tokens already.
		InputTokens:       int64(u.PromptTokenCount) + int64(u.ToolUsePromptTokenCount),
		OutputTokens:      int64(u.CandidatesTokenCount) + int64(u.ThoughtsTokenCount),
		CachedInputTokens: int64(u.CachedContentTokenCount),
	}
}

// continuationToken returns the token that continues resp's answer: set
// when the first candidate ended with CONTINUATION.
func continuationToken(resp *genai.GenerateContentResponse) []byte {
	if len(resp.Candidates) == 0 || resp.Candidates[0] == nil {
		return nil
	}
	c := resp.Candidates[0]
	if c.FinishReason != genai.FinishReasonContinuation || len(c.ContinuationToken) == 0 {
		return nil
	}
	return c.ContinuationToken
}

// appendContinuation returns next with the parts of prev's first candidate
// put before its own, so that the text of the whole answer is read from
// one response; prev nil returns next.
func appendContinuation(prev, next *genai.GenerateContentResponse) *genai.GenerateContentResponse {
	if prev == nil || len(prev.Candidates) == 0 || prev.Candidates[0] == nil || prev.Candidates[0].Content == nil {
		return next
	}
	if len(next.Candidates) == 0 || next.Candidates[0] == nil {
		next.Candidates = prev.Candidates[:1]
		return next
	}
	c := *next.Candidates[0]
	content := genai.Content{Role: prev.Candidates[0].Content.Role}
	content.Parts = append(content.Parts, prev.Candidates[0].Content.Parts...)
	if c.Content != nil {
		content.Parts = append(content.Parts, c.Content.Parts...)
	}
	c.Content = &content
	next.Candidates = append([]*genai.Candidate{&c}, next.Candidates[1:]...)
	return next
}

// finishOf returns the raw and normalised finish reason of resp: its
// first candidate's, or, with no candidate, the prompt's block reason as a
// content filter.
func finishOf(resp *genai.GenerateContentResponse) (string, batchllm.FinishReason) {
	if len(resp.Candidates) == 0 || resp.Candidates[0] == nil {
		if pf := resp.PromptFeedback; pf != nil && pf.BlockReason != "" {
			return "PROMPT_BLOCKED_" + string(pf.BlockReason), batchllm.FinishContentFilter
		}
		return "", batchllm.FinishOther // a 200 without a candidate
	}
	fr := resp.Candidates[0].FinishReason
	return string(fr), FinishReason(fr)
}

// FinishReason maps a Gemini finishReason to batchllm's: STOP → stop;
// MAX_TOKENS and CONTINUATION (an answer not yet finished) → length;
// SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII and the IMAGE_
// kinds → content_filter; "" and FINISH_REASON_UNSPECIFIED → unknown;
// anything else (LANGUAGE, MALFORMED_FUNCTION_CALL, OTHER…) → other.
func FinishReason(raw genai.FinishReason) batchllm.FinishReason {
	switch raw {
	case genai.FinishReasonStop:
		return batchllm.FinishStop
	case genai.FinishReasonMaxTokens, genai.FinishReasonContinuation:
		return batchllm.FinishLength
	case genai.FinishReasonSafety, genai.FinishReasonRecitation, genai.FinishReasonBlocklist, genai.FinishReasonProhibitedContent,
		genai.FinishReasonSPII, genai.FinishReasonImageSafety, genai.FinishReasonImageProhibitedContent, genai.FinishReasonImageRecitation:
		return batchllm.FinishContentFilter
	case "", genai.FinishReasonUnspecified:
		return batchllm.FinishUnknown
	}
	return batchllm.FinishOther
}

// finish returns the answer's text and, for an answer that is not whole
// (see Config.OnTruncated), its error.
func (s *Strategy) finish(req batchllm.Request[batchllm.Prompt], raw *genai.GenerateContentResponse, resp batchllm.Response[string]) (string, error) {
	t := raw.Text()
	a := calls.Answer{Reason: resp.FinishReason, Raw: resp.RawFinishReason, Empty: t == "", MaxTokens: s.call.MaxTokensAt(req.Input, req.State), OutputTokens: resp.Usage.OutputTokens}
	if len(raw.Candidates) == 0 && resp.FinishReason == batchllm.FinishOther {
		// A 200 without a candidate or a reason: the server's fault.
		return "", batchllm.Classified(errors.New("gemini: response has no candidates"), batchllm.ClassTransient, 0)
	}
	return t, s.call.Finish(s.cfg.OnTruncated, req.State, a, s.call.Limits(s.model(req.Input)).MaxOutput)
}

// Call sends one generateContent request and returns the answer's text.
// Usage follows batchllm's convention as Gemini reports it:
// promptTokenCount includes cachedContentTokenCount; output counts the
// candidates' and the thinking tokens. Gemini sends no rate-limit headers;
// a 429's RetryInfo delay is reported in Limits.RetryAfter. A blocked prompt
// or an empty answer blocked for safety is a [batchllm.ClassFatalItem]
// error. Errors are wrapped with their class (see [Classify]).
func (s *Strategy) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	raw, resp, err := s.generate(ctx, req, "")
	if err != nil {
		return resp, err
	}
	resp.Output, err = s.finish(req, raw, resp)
	return resp, err
}

// Estimate implements [batchllm.Estimator]: the scope and model, the
// prompt's tokens counted approximately, and the effective max output
// tokens (0 if unset).
func (s *Strategy) Estimate(req batchllm.Request[batchllm.Prompt]) batchllm.Estimate {
	return s.call.EstimateAt(s.call.WithSystem(req.Input), req.State)
}

// DryRun implements [batchllm.DryRunner] without any network traffic. The
// output is the placeholder "[dry run: gemini <model>]"; usage has the
// estimated input tokens and, as an upper bound, the effective max output
// tokens (0 if unset).
func (s *Strategy) DryRun(_ context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	return s.call.DryRun(s.Estimate(req)), nil
}
