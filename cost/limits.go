package cost

import "fmt"

// Limits are what a model accepts, as the model catalogue (the same table as
// the prices, see [Table]) records them. A zero field is unknown, and
// checks that need it are skipped.
type Limits struct {
	// ContextWindow is the most tokens, prompt and answer together, that
	// the model can hold.
	ContextWindow int64 `json:"context_window,omitempty"`
	// MaxOutput is the most output tokens (reasoning included) one answer
	// may have: the ceiling of max_tokens.
	MaxOutput int64 `json:"max_output,omitempty"`
	// CacheMinTokens is the shortest prefix the provider caches; a shorter
	// one is sent, billed in full, and not cached (Anthropic), or refused
	// (a Gemini context cache).
	CacheMinTokens int64 `json:"cache_min_tokens,omitempty"`
	// FixedTemperature is true for models that reject any temperature but
	// their default: OpenAI's reasoning models (400 unsupported_value), and
	// Anthropic's models on the API version SDK v2 speaks.
	FixedTemperature bool `json:"fixed_temperature,omitempty"`
	// API is, for OpenAI models, the endpoint the model needs: "responses"
	// for models served only by the Responses API, "" or "chat" for Chat
	// Completions.
	API string `json:"api,omitempty"`
}

// APIResponses is the value of [Limits.API] for OpenAI models that only the
// Responses API serves.
const APIResponses = "responses"

// InputFits reports whether a prompt of inputTokens tokens leaves room for
// at least one output token in the context window. It is true when the
// window is unknown.
func (l Limits) InputFits(inputTokens int64) bool {
	return l.ContextWindow <= 0 || inputTokens < l.ContextWindow
}

// ContextError is the error of a prompt that cannot fit a model's context
// window: sending it would be refused (or billed and cut off).
type ContextError struct {
	Model         string
	InputTokens   int64 // as estimated
	ContextWindow int64
}

func (e *ContextError) Error() string {
	return fmt.Sprintf("prompt of about %d tokens does not fit the %d-token context window of %s", e.InputTokens, e.ContextWindow, e.Model)
}

// CheckInput returns a [*ContextError] if a prompt of inputTokens tokens
// cannot fit the context window of model, and nil otherwise (also for a
// model the catalogue does not know or whose window is unknown).
func (t *Table) CheckInput(model string, inputTokens int64) error {
	l, err := t.Limits(model)
	if err != nil || l.InputFits(inputTokens) {
		return nil
	}
	return &ContextError{Model: model, InputTokens: inputTokens, ContextWindow: l.ContextWindow}
}

// Limits returns the limits of model (see [Table] for how names match), or
// an error that wraps [ErrUnknownModel].
func (t *Table) Limits(model string) (Limits, error) {
	p, err := t.Lookup(model)
	return p.Limits, err
}

// MaxOutput returns the maximum output tokens of model, or 0 if the
// catalogue does not know it.
func (t *Table) MaxOutput(model string) int64 {
	l, _ := t.Limits(model)
	return l.MaxOutput
}

// ApproxMargin is how far an approximate token count (of a model without
// an offline tokenizer: Anthropic, Gemini) must pass the context window
// before [Table.CheckEstimate] refuses the prompt: 1.5×. The approximation
// leans towards over-counting, and refusing a prompt that would have fit
// is worse than sending one that is refused.
const ApproxMargin = 1.5

// CheckEstimate is [Table.CheckInput] for a count that is exact (the
// model's own tokenizer) or approximate; an approximate count must pass the
// window by [ApproxMargin] to be refused.
func (t *Table) CheckEstimate(model string, inputTokens int64, exact bool) error {
	n := inputTokens
	if !exact {
		n = int64(float64(inputTokens) / ApproxMargin)
	}
	if err := t.CheckInput(model, n); err != nil {
		err.(*ContextError).InputTokens = inputTokens
		return err
	}
	return nil
}
