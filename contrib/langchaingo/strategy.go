package langchaingo

import (
	"context"
	"errors"
	"fmt"

	"github.com/tmc/langchaingo/llms"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/tokens"
)

// Config configures a [Strategy]. LLM is required.
type Config struct {
	// LLM is the LangChainGo model to call.
	LLM llms.Model
	// Model names the model, for the admission gate's scope, for token
	// estimates and for price tables; a Prompt's Model overrides it and is
	// passed on with llms.WithModel. Optional.
	Model string
	// Scope names the rate-limit quota. Default "langchaingo/" + the
	// call's model (a Prompt's Model, else Model).
	Scope string
	// System is the system prompt used when a Prompt has none.
	System string
	// Options are passed to every GenerateContent call, before the
	// per-item ones (temperature, max tokens) that batchllm adds.
	Options []llms.CallOption
}

// Strategy calls a LangChainGo model. It implements [batchllm.Strategy] for
// [batchllm.Prompt] and string, [batchllm.Estimator] and
// [batchllm.DryRunner]. It is as safe for concurrent use as its LLM.
type Strategy struct{ cfg Config }

var (
	_ batchllm.Strategy[batchllm.Prompt, string]  = (*Strategy)(nil)
	_ batchllm.Estimator[batchllm.Prompt]         = (*Strategy)(nil)
	_ batchllm.DryRunner[batchllm.Prompt, string] = (*Strategy)(nil)
)

// New returns a Strategy for cfg. It fails if cfg.LLM is nil.
func New(cfg Config) (*Strategy, error) {
	if cfg.LLM == nil {
		return nil, errors.New("langchaingo: Config.LLM is nil")
	}
	return &Strategy{cfg: cfg}, nil
}

// messages converts p to LangChainGo messages.
func (s *Strategy) messages(p batchllm.Prompt) []llms.MessageContent {
	out := make([]llms.MessageContent, 0, len(p.Messages)+1)
	system := p.System
	if system == "" {
		system = s.cfg.System
	}
	if system != "" {
		out = append(out, llms.TextParts(llms.ChatMessageTypeSystem, system))
	}
	for _, m := range p.Messages {
		role := llms.ChatMessageTypeHuman
		if m.Role == batchllm.RoleAssistant {
			role = llms.ChatMessageTypeAI
		}
		out = append(out, llms.TextParts(role, m.Content))
	}
	return out
}

// options returns the call options for p.
func (s *Strategy) options(p batchllm.Prompt) []llms.CallOption {
	opts := append([]llms.CallOption(nil), s.cfg.Options...)
	if p.Model != "" {
		opts = append(opts, llms.WithModel(p.Model))
	}
	if p.MaxTokens > 0 {
		opts = append(opts, llms.WithMaxTokens(p.MaxTokens))
	}
	if p.Temperature != nil {
		opts = append(opts, llms.WithTemperature(*p.Temperature))
	}
	if len(p.Stop) > 0 {
		opts = append(opts, llms.WithStopWords(p.Stop))
	}
	if p.Schema != nil {
		// LangChainGo has no portable JSON-schema mode; JSON mode is the
		// closest that every provider maps. The caller validates.
		opts = append(opts, llms.WithJSONMode())
	}
	return opts
}

// Call calls GenerateContent and returns the first choice's content.
func (s *Strategy) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	var out batchllm.Response[string]
	resp, err := s.cfg.LLM.GenerateContent(ctx, s.messages(req.Input), s.options(req.Input)...)
	if err != nil {
		c := Classify(err)
		return out, batchllm.Classified(fmt.Errorf("langchaingo: %w", err), c.Class, c.RetryAfter)
	}
	if resp == nil || len(resp.Choices) == 0 {
		return out, batchllm.Classified(errors.New("langchaingo: response has no choices"), batchllm.ClassTransient, 0)
	}
	ch := resp.Choices[0]
	out.Output = ch.Content
	out.Usage = UsageOf(ch.GenerationInfo)
	out.Model = req.Input.Model
	if out.Model == "" {
		out.Model = s.cfg.Model
	}
	return out, nil
}

// UsageOf reads token usage from a choice's GenerationInfo, whatever the
// LangChainGo provider's key convention (see the package doc).
func UsageOf(info map[string]any) batchllm.Usage {
	if _, ok := info["PromptTokens"]; ok {
		u := batchllm.Usage{
			InputTokens:  num(info["PromptTokens"]),
			OutputTokens: num(info["CompletionTokens"]),
		}
		for _, k := range []string{"PromptCachedTokens", "CachedTokens"} {
			if n := num(info[k]); n > 0 {
				u.CachedInputTokens = n
				break
			}
		}
		return u
	}
	read, write := num(info["CacheReadInputTokens"]), num(info["CacheCreationInputTokens"])
	return batchllm.Usage{
		InputTokens:       num(info["InputTokens"]) + read + write,
		OutputTokens:      num(info["OutputTokens"]),
		CachedInputTokens: read,
		CacheWriteTokens:  write,
	}
}

// num converts the numeric types providers put in GenerationInfo to int64;
// anything else is 0.
func num(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case int64:
		return n
	case float64:
		return int64(n)
	case float32:
		return int64(n)
	}
	return 0
}

// Estimate implements [batchllm.Estimator]: the scope, the model, and the
// prompt's tokens counted approximately. MaxOutputTokens is the Prompt's
// MaxTokens (options in Config are opaque).
func (s *Strategy) Estimate(req batchllm.Request[batchllm.Prompt]) batchllm.Estimate {
	p := req.Input
	if p.System == "" {
		p.System = s.cfg.System
	}
	model := s.cfg.Model
	if p.Model != "" {
		model = p.Model
	}
	return batchllm.Estimate{
		Scope:           s.scope(model),
		Model:           model,
		InputTokens:     tokens.EstimatePrompt(s.cfg.Model, p),
		MaxOutputTokens: int64(p.MaxTokens),
	}
}

// DryRun implements [batchllm.DryRunner] without calling the model: the
// placeholder "[dry run: langchaingo <model>]" and the estimated usage.
func (s *Strategy) DryRun(_ context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	e := s.Estimate(req)
	return batchllm.Response[string]{
		Output: "[dry run: langchaingo " + e.Model + "]",
		Usage:  batchllm.Usage{InputTokens: e.InputTokens, OutputTokens: e.MaxOutputTokens},
		Model:  e.Model,
	}, nil
}

// scope returns the admission gate's scope for a call to model:
// Config.Scope if set, else "langchaingo/" + model, so that each model has its
// own limits, as on the provider's API.
func (s *Strategy) scope(model string) string {
	if s.cfg.Scope != "" {
		return s.cfg.Scope
	}
	return "langchaingo/" + model
}
