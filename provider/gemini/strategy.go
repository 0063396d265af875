package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/batchllm/batchllm/provider/internal/calls"
	"net/http"
	"os"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
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
	// Stop lists sequences that end the answer.
	Stop []string
	// SafetySettings are sent with every request.
	SafetySettings []*genai.SafetySetting
	// Extra sets additional top-level request body fields verbatim (the
	// SDK's HTTPOptions.ExtraBody), such as {"generationConfig": {...}} keys
	// the SDK does not know yet.
	Extra map[string]any
	// Headers are added to every request.
	Headers http.Header
}

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
	if cfg.Model == "" {
		return nil, errors.New("gemini: Config.Model is empty")
	}
	if cfg.MaxTokens < 0 {
		return nil, fmt.Errorf("gemini: Config.MaxTokens is %d; it must be >= 0", cfg.MaxTokens)
	}
	key := cfg.APIKey
	for _, env := range []string{"GEMINI_API_KEY", "GOOGLE_API_KEY"} {
		if key == "" {
			key = os.Getenv(env)
		}
	}
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
	return &Strategy{cfg: cfg, call: calls.Defaults{Provider: "gemini", Model: cfg.Model, System: cfg.System, MaxTokens: cfg.MaxTokens, Scope: cfg.Scope}, client: client, key: key}, nil
}

// Model returns the strategy's default model.
func (s *Strategy) Model() string { return s.cfg.Model }

// Client returns the SDK client the strategy uses.
func (s *Strategy) Client() *genai.Client { return s.client }

func (s *Strategy) model(p batchllm.Prompt) string { return s.call.ModelFor(p) }

func (s *Strategy) maxTokens(p batchllm.Prompt) int { return s.call.MaxTokensFor(p) }

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
	gc := &genai.GenerateContentConfig{
		StopSequences:  s.cfg.Stop,
		SafetySettings: s.cfg.SafetySettings,
		// Never let the SDK re-send a request by itself.
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
	if n := s.maxTokens(p); n > 0 {
		gc.MaxOutputTokens = int32(min(n, 1<<31-1))
	}
	if t := p.Temperature; t != nil {
		gc.Temperature = genai.Ptr(float32(*t))
	} else if t := s.cfg.Temperature; t != nil {
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

// generate sends one request, with cacheName as cachedContent if not empty,
// and returns the raw response and its batchllm usage and model. The error
// is classified.
func (s *Strategy) generate(ctx context.Context, p batchllm.Prompt, cacheName string) (*genai.GenerateContentResponse, batchllm.Response[string], error) {
	var out batchllm.Response[string]
	gc, err := s.GenerateConfig(p, cacheName != "")
	if err != nil {
		return nil, out, batchllm.Classified(err, batchllm.ClassFatalItem, 0)
	}
	gc.CachedContent = cacheName
	resp, err := s.client.Models.GenerateContent(ctx, s.model(p), contents(p), gc)
	if err != nil {
		_, wrapped := s.classify(err)
		if ae, ok := errors.AsType[genai.APIError](err); ok {
			out.Limits = ErrorLimits(ae)
		}
		return nil, out, wrapped
	}
	if u := resp.UsageMetadata; u != nil {
		out.Usage = batchllm.Usage{
			// promptTokenCount includes the cached tokens already.
			InputTokens:       int64(u.PromptTokenCount) + int64(u.ToolUsePromptTokenCount),
			OutputTokens:      int64(u.CandidatesTokenCount) + int64(u.ThoughtsTokenCount),
			CachedInputTokens: int64(u.CachedContentTokenCount),
		}
	}
	out.Model = resp.ModelVersion
	return resp, out, nil
}

// text returns the answer's text, or a fatal-item error if the prompt or
// the answer was blocked or empty.
func text(resp *genai.GenerateContentResponse) (string, error) {
	if len(resp.Candidates) == 0 {
		reason := "no candidates"
		if pf := resp.PromptFeedback; pf != nil && pf.BlockReason != "" {
			reason = "prompt blocked: " + string(pf.BlockReason)
		}
		return "", batchllm.Classified(errors.New("gemini: "+reason), batchllm.ClassFatalItem, 0)
	}
	t := resp.Text()
	if t == "" {
		if fr := resp.Candidates[0].FinishReason; fr != genai.FinishReasonStop && fr != genai.FinishReasonMaxTokens && fr != "" {
			return "", batchllm.Classified(fmt.Errorf("gemini: empty answer, finish reason %s", fr), batchllm.ClassFatalItem, 0)
		}
	}
	return t, nil
}

// Call sends one generateContent request and returns the answer's text.
// Usage follows batchllm's convention as Gemini reports it:
// promptTokenCount includes cachedContentTokenCount; output counts the
// candidates' and the thinking tokens. Gemini sends no rate-limit headers;
// a 429's RetryInfo delay is reported in Limits.RetryAfter. A blocked prompt
// or an empty answer blocked for safety is a [batchllm.ClassFatalItem]
// error. Errors are wrapped with their class (see [Classify]).
func (s *Strategy) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	raw, resp, err := s.generate(ctx, req.Input, "")
	if err != nil {
		return resp, err
	}
	resp.Output, err = text(raw)
	return resp, err
}

// Estimate implements [batchllm.Estimator]: the scope and model, the
// prompt's tokens counted approximately, and the effective max output
// tokens (0 if unset).
func (s *Strategy) Estimate(req batchllm.Request[batchllm.Prompt]) batchllm.Estimate {
	return s.call.Estimate(s.call.WithSystem(req.Input))
}

// DryRun implements [batchllm.DryRunner] without any network traffic. The
// output is the placeholder "[dry run: gemini <model>]"; usage has the
// estimated input tokens and, as an upper bound, the effective max output
// tokens (0 if unset).
func (s *Strategy) DryRun(_ context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	return s.call.DryRun(s.Estimate(req)), nil
}
