package batchllm

import "context"

// Wrapper forwards the optional interfaces of a strategy ([Preparer],
// [Cleaner], [ErrorHook], [Estimator] and [DryRunner]) to the strategy it
// wraps, Next, and does nothing where Next does not implement one. Embed it
// in a strategy that wraps another, and write only the methods that change
// something; the processor finds the forwarded ones by type assertion, so a
// wrapper that embeds Wrapper never hides its inner strategy's set-up,
// clean-up, error hook, estimate or dry run.
//
//	type logged struct {
//		batchllm.Wrapper[batchllm.Prompt, string]
//	}
//
//	func (l *logged) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
//		slog.Info("call", "item", req.ItemID)
//		return l.Next.Call(ctx, req)
//	}
//
// A wrapper whose output type differs from Next's overrides DryRun (the
// forwarded one returns Next's type). Its methods can also be called on a
// Wrapper made on the spot, to forward to one of several strategies:
// batchllm.Wrapper[In, Out]{Next: s}.Estimate(req).
type Wrapper[In, Out any] struct {
	Next Strategy[In, Out]
}

// Prepare calls Next's Prepare, if it has one.
func (w Wrapper[In, Out]) Prepare(ctx context.Context) error {
	if p, ok := w.Next.(Preparer); ok {
		return p.Prepare(ctx)
	}
	return nil
}

// Cleanup calls Next's Cleanup, if it has one.
func (w Wrapper[In, Out]) Cleanup(ctx context.Context) error {
	if c, ok := w.Next.(Cleaner); ok {
		return c.Cleanup(ctx)
	}
	return nil
}

// OnError calls Next's OnError, if it has one.
func (w Wrapper[In, Out]) OnError(ctx context.Context, req Request[In], err error) {
	if h, ok := w.Next.(ErrorHook[In]); ok {
		h.OnError(ctx, req, err)
	}
}

// Estimate returns Next's estimate, or the zero Estimate (one request, no
// tokens, the default scope) if Next is not an [Estimator].
func (w Wrapper[In, Out]) Estimate(req Request[In]) Estimate {
	if e, ok := w.Next.(Estimator[In]); ok {
		return e.Estimate(req)
	}
	return Estimate{}
}

// DryRun returns Next's DryRun, or the zero Response if Next is not a
// [DryRunner], as the processor does for a strategy without one.
func (w Wrapper[In, Out]) DryRun(ctx context.Context, req Request[In]) (Response[Out], error) {
	if d, ok := w.Next.(DryRunner[In, Out]); ok {
		return d.DryRun(ctx, req)
	}
	return Response[Out]{}, nil
}
