// Package calls holds what the provider strategies share about a call's
// settings: how a Prompt's overrides combine with a strategy's defaults,
// the admission estimate, and the dry-run answer.
package calls

import (
	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/tokens"
)

// Defaults are a strategy's settings that a Prompt may override.
type Defaults struct {
	// Provider names the provider in scopes and dry-run answers: "openai".
	Provider  string
	Model     string
	System    string
	MaxTokens int
	// Stop is the configured stop sequences.
	Stop []string
	// Scope is the configured quota scope; empty means Provider/model, so
	// that each model has its own limits, as on the providers' APIs.
	Scope string
	// Catalogue gives each model's context window, maximum output and
	// temperature rule; nil means cost.Default().
	Catalogue *cost.Table
}

// ModelFor returns p's model override, or the default.
func (d Defaults) ModelFor(p batchllm.Prompt) string {
	if p.Model != "" {
		return p.Model
	}
	return d.Model
}

// StopFor returns p's stop sequences, or the default ones; none for a raw
// body (batchllm.Prompt.Raw), which says its own.
func (d Defaults) StopFor(p batchllm.Prompt) []string {
	switch {
	case p.Raw != nil:
		return nil
	case len(p.Stop) > 0:
		return p.Stop
	}
	return d.Stop
}

// MaxTokensFor returns p's output cap override, or the default; 0 if none.
func (d Defaults) MaxTokensFor(p batchllm.Prompt) int {
	if p.MaxTokens > 0 {
		return p.MaxTokens
	}
	return d.MaxTokens
}

// WithSystem returns p with the default system prompt filled in.
func (d Defaults) WithSystem(p batchllm.Prompt) batchllm.Prompt {
	if p.System == "" {
		p.System = d.System
	}
	return p
}

// ScopeFor returns the admission gate's scope for a call to model.
func (d Defaults) ScopeFor(model string) string {
	if d.Scope != "" {
		return d.Scope
	}
	return d.Provider + "/" + model
}

// Estimate is the admission estimate of sending p as it stands (its system
// prompt filled in by the caller): the scope and model, its tokens counted
// with the model's tokenizer (an approximation for models that are not
// OpenAI's), and the effective max output tokens (0 if unset).
func (d Defaults) Estimate(p batchllm.Prompt) batchllm.Estimate {
	model := d.ModelFor(p)
	return batchllm.Estimate{
		Scope:           d.ScopeFor(model),
		Model:           model,
		InputTokens:     tokens.EstimatePrompt(model, p),
		MaxOutputTokens: int64(d.MaxTokensFor(p)),
	}
}

// EstimateAt is [Defaults.Estimate] for an attempt whose item's state may
// hold an output cap grown by an earlier cut-off attempt.
func (d Defaults) EstimateAt(p batchllm.Prompt, state *batchllm.RetryState) batchllm.Estimate {
	e := d.Estimate(p)
	e.MaxOutputTokens = int64(d.MaxTokensAt(p, state))
	return e
}

// DryRun is the answer of a dry run for estimate e: the placeholder
// "[dry run: <provider> <model>]", the estimated input tokens and, as an
// upper bound, the max output tokens, or the model's maximum output from
// the catalogue if none is set.
func (d Defaults) DryRun(e batchllm.Estimate) batchllm.Response[string] {
	e = d.DryRunMax(e)
	return batchllm.Response[string]{
		Output: "[dry run: " + d.Provider + " " + e.Model + "]",
		Usage:  batchllm.Usage{InputTokens: e.InputTokens, OutputTokens: e.MaxOutputTokens},
		Model:  e.Model,
	}
}

// StatusClass is [batchllm.StatusClass], the one HTTP-status-to-class
// mapping (the langchaingo adapter, in its own module, uses it too).
func StatusClass(code int) batchllm.ErrorClass { return batchllm.StatusClass(code) }
