package batchllm

import (
	"context"
	"encoding/json"
)

// A Strategy performs one LLM call: one attempt of one item.
//
// Call may return a non-zero Response alongside a non-nil error: the Usage of
// a failed attempt (for example an answer that failed validation) is still
// counted in the item's and the batch's totals, and Limits is still passed to
// the admission [Gate]. Output is ignored when err is non-nil.
//
// Call must honour ctx: it is cancelled when the attempt, the item or the
// batch runs out of time, and when the batch is cancelled or aborted.
// Retries are the processor's job; a strategy must not retry by itself.
//
// A strategy may implement any of the optional interfaces [Preparer],
// [Cleaner], [ErrorHook], [DryRunner] and [Estimator]; the processor finds
// them by type assertion, as net/http finds http.Flusher.
type Strategy[In, Out any] interface {
	Call(ctx context.Context, req Request[In]) (Response[Out], error)
}

// StrategyFunc adapts an ordinary function to the [Strategy] interface.
type StrategyFunc[In, Out any] func(context.Context, Request[In]) (Response[Out], error)

// Call calls f(ctx, req).
func (f StrategyFunc[In, Out]) Call(ctx context.Context, req Request[In]) (Response[Out], error) {
	return f(ctx, req)
}

// Request is what a [Strategy] receives for one attempt.
type Request[In any] struct {
	// ItemID is the ID of the item this attempt belongs to.
	ItemID string
	// Input is the item's input.
	Input In
	// Attempt is 1 for the first attempt and grows by one per retry.
	// Retries after a rate-limited error do not advance it.
	Attempt int
	// State is shared by all attempts of one item and by its error hook, and
	// by nothing else. It is never nil.
	State *RetryState
}

// Response is what a [Strategy] returns for one attempt.
type Response[Out any] struct {
	Output Out
	// Usage is the token usage of this attempt, as the provider reported it,
	// normalised to batchllm's convention (see [Usage]).
	Usage Usage
	// Limits is what the provider said about its rate limits, if anything.
	// The admission gate uses it to learn and follow the real limits.
	Limits *LimitInfo
	// Model is the model that answered, as the provider named it (for
	// pricing and tracing); empty if unknown.
	Model string
	// FinishReason is why the answer ended, normalised; RawFinishReason is
	// the provider's own word for it. Both are empty if unknown.
	FinishReason    FinishReason
	RawFinishReason string
	// Raw is the provider's response as JSON, for callers who need what
	// Output leaves out (every choice, tool calls, logprobs): OpenAI's
	// ChatCompletion or Response object as received (assembled from the
	// chunks when streamed), Anthropic's Message, Gemini's
	// GenerateContentResponse. Nil if the strategy does not say.
	Raw json.RawMessage
}

// Preparer is implemented by strategies that need set-up before their first
// call, such as creating a shared context cache. Prepare is called once per
// strategy instance per processor, lazily, before the first attempt of the
// first item that uses the instance; concurrent workers wait for it. If
// Prepare fails, the item that triggered it fails (with no retry) and the
// next item that uses the instance calls Prepare again.
//
// Instances are told apart with ==, so a Preparer should be a pointer (or
// another comparable type). A Preparer whose dynamic type is not comparable
// is prepared before every item.
type Preparer interface {
	Prepare(ctx context.Context) error
}

// Cleaner is implemented by strategies that hold resources. Cleanup is called
// once per successfully prepared instance when the processor is closed.
// Errors are logged and joined into the error returned by Close.
type Cleaner interface {
	Cleanup(ctx context.Context) error
}

// ErrorHook is implemented by strategies that want to see each failed
// attempt, for example to record in req.State what already passed so that
// the next attempt can ask only for the rest. It is called after every failed
// attempt, before the processor decides whether to retry.
type ErrorHook[In any] interface {
	OnError(ctx context.Context, req Request[In], err error)
}

// DryRunner is implemented by strategies that can say what a call would
// return without making it. In dry-run mode the processor calls DryRun
// instead of Call; a strategy without DryRun yields the zero Out and zero
// usage. Admission, middleware, events and results work as in a real run.
type DryRunner[In, Out any] interface {
	DryRun(ctx context.Context, req Request[In]) (Response[Out], error)
}

// Estimator is implemented by strategies that can tell, before a call, which
// quota the call draws on and how many tokens it may use. The admission gate
// reserves that much before the attempt starts and reconciles it with the
// real usage afterwards. Without an Estimator an attempt asks the gate for one
// request and no tokens, in the scope "".
type Estimator[In any] interface {
	Estimate(req Request[In]) Estimate
}

// Middleware wraps a strategy, as net/http middleware wraps a handler, to
// log, cache, trace, rewrite requests or responses, skip items, or replace
// failures. Middleware runs once per attempt, inside the attempt's deadline.
// The first middleware in [Config.Middleware] is the outermost.
type Middleware[In, Out any] func(next Strategy[In, Out]) Strategy[In, Out]
