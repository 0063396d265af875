package gemini

import (
	"context"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
)

// Response is the output of a [Detailed] strategy: the answer's text with
// what Gemini said about it.
type Response struct {
	// Text is the first candidate's text; empty if the prompt or the answer
	// was blocked.
	Text string
	// FinishReason is the first candidate's finish reason (STOP,
	// MAX_TOKENS, SAFETY, …); empty if there was no candidate.
	FinishReason genai.FinishReason
	// SafetyRatings are the first candidate's safety ratings.
	SafetyRatings []*genai.SafetyRating
	// BlockReason is set when the prompt itself was blocked (then there is
	// no candidate).
	BlockReason genai.BlockedReason
	// Raw is the whole response as the SDK decoded it.
	Raw *genai.GenerateContentResponse
}

// generator is what Detailed calls: a plain or cached strategy.
type generator interface {
	generate(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (*genai.GenerateContentResponse, batchllm.Response[string], error)
}

// plain adapts *Strategy to generator (its generate takes a cache name).
type plain struct{ *Strategy }

func (p plain) generate(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (*genai.GenerateContentResponse, batchllm.Response[string], error) {
	return p.Strategy.generate(ctx, req, "")
}

// Detailed is a strategy whose output is a [Response] instead of a string.
// Unlike the string strategies it does not fail when the prompt or the
// answer is blocked for safety: the Response says so, with the ratings.
// Build one with [Strategy.Detailed] or [CachedStrategy.Detailed]. It
// forwards Prepare, Cleanup, Estimate and DryRun to the strategy it wraps.
type Detailed struct {
	// Wrapper forwards Prepare, Cleanup and Estimate to the wrapped
	// strategy, Next.
	batchllm.Wrapper[batchllm.Prompt, string]
	g generator
}

var (
	_ batchllm.Strategy[batchllm.Prompt, Response]  = (*Detailed)(nil)
	_ batchllm.Preparer                             = (*Detailed)(nil)
	_ batchllm.Cleaner                              = (*Detailed)(nil)
	_ batchllm.Estimator[batchllm.Prompt]           = (*Detailed)(nil)
	_ batchllm.DryRunner[batchllm.Prompt, Response] = (*Detailed)(nil)
)

// Detailed returns a strategy that calls s and outputs a [Response].
func (s *Strategy) Detailed() *Detailed {
	return &Detailed{Wrapper: batchllm.Wrapper[batchllm.Prompt, string]{Next: s}, g: plain{s}}
}

// Detailed returns a strategy that calls c and outputs a [Response]. It
// shares c's cache.
func (c *CachedStrategy) Detailed() *Detailed {
	return &Detailed{Wrapper: batchllm.Wrapper[batchllm.Prompt, string]{Next: c}, g: c}
}

// Call implements [batchllm.Strategy].
func (d *Detailed) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[Response], error) {
	raw, r, err := d.g.generate(ctx, req)
	out := batchllm.Response[Response]{Usage: r.Usage, Limits: r.Limits, Model: r.Model, FinishReason: r.FinishReason, RawFinishReason: r.RawFinishReason}
	if err != nil {
		return out, err
	}
	o := Response{Raw: raw}
	if pf := raw.PromptFeedback; pf != nil {
		o.BlockReason = pf.BlockReason
	}
	if len(raw.Candidates) > 0 {
		c := raw.Candidates[0]
		o.FinishReason = c.FinishReason
		o.SafetyRatings = c.SafetyRatings
		o.Text = raw.Text()
	}
	out.Output = o
	return out, nil
}

// DryRun implements [batchllm.DryRunner]: the wrapped strategy's placeholder
// as Text, with FinishReason STOP.
func (d *Detailed) DryRun(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[Response], error) {
	r, err := d.Wrapper.DryRun(ctx, req)
	return batchllm.Response[Response]{
		Output: Response{Text: r.Output, FinishReason: genai.FinishReasonStop},
		Usage:  r.Usage, Limits: r.Limits, Model: r.Model,
	}, err
}

// ReportsModelWideErrors implements [batchllm.ModelWideReporter]: the
// wrapped strategy marks errors that every item would get alike.
func (d *Detailed) ReportsModelWideErrors() bool { return true }
