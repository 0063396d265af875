package escalate

import (
	"context"

	"github.com/batchllm/batchllm"
)

// Progressive is a strategy that sets each attempt's sampling temperature
// by the attempt number: attempt 1 gets temps[0], attempt 2 temps[1], and so
// on; attempts past the end get the last value. Rate-limited retries do not
// advance the attempt number, so they repeat the temperature. A Prompt that
// sets its own Temperature is sent unchanged.
//
// Progressive passes Prepare, Cleanup, OnError, Estimate and DryRun on to
// the strategy it wraps (the last three with the attempt's temperature). It
// is safe for concurrent use if that strategy is.
type Progressive[Out any] struct {
	batchllm.Wrapper[batchllm.Prompt, Out]
	temps []float64
}

// Temperatures returns a Progressive over next. It panics if temps is empty
// or next is nil, as a programming error.
func Temperatures[Out any](next batchllm.Strategy[batchllm.Prompt, Out], temps ...float64) *Progressive[Out] {
	if next == nil || len(temps) == 0 {
		panic("escalate: Temperatures needs a strategy and at least one temperature")
	}
	return &Progressive[Out]{Wrapper: batchllm.Wrapper[batchllm.Prompt, Out]{Next: next}, temps: append([]float64(nil), temps...)}
}

// Temperature returns the temperature for the given attempt (1-based).
func (p *Progressive[Out]) Temperature(attempt int) float64 {
	return p.temps[min(max(attempt, 1), len(p.temps))-1]
}

func (p *Progressive[Out]) with(req batchllm.Request[batchllm.Prompt]) batchllm.Request[batchllm.Prompt] {
	if req.Input.Temperature == nil {
		t := p.Temperature(req.Attempt)
		req.Input.Temperature = &t
	}
	return req
}

// Call calls the wrapped strategy with the attempt's temperature.
func (p *Progressive[Out]) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[Out], error) {
	return p.Next.Call(ctx, p.with(req))
}

// OnError passes the hook on, with the attempt's temperature.
func (p *Progressive[Out]) OnError(ctx context.Context, req batchllm.Request[batchllm.Prompt], err error) {
	p.Wrapper.OnError(ctx, p.with(req), err)
}

// Estimate passes Estimate on, with the attempt's temperature.
func (p *Progressive[Out]) Estimate(req batchllm.Request[batchllm.Prompt]) batchllm.Estimate {
	return p.Wrapper.Estimate(p.with(req))
}

// DryRun passes DryRun on, with the attempt's temperature.
func (p *Progressive[Out]) DryRun(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[Out], error) {
	return p.Wrapper.DryRun(ctx, p.with(req))
}
