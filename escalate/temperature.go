package escalate

import (
	"context"
	"fmt"

	"github.com/batchllm/batchllm"
)

// Progressive is a strategy that sets the sampling temperature by the number
// of invalid answers the item has had so far: temps[0] for the first
// attempt, temps[1] after the first answer of class
// [batchllm.ClassInvalidOutput], and so on; past the end of the list it
// keeps the last value. Other errors (rate limits, timeouts, server and
// network errors) leave the temperature as it was, since the retry did not
// see an answer to move away from. A Prompt that sets its own Temperature
// is sent unchanged.
//
// Progressive passes Prepare, Cleanup, OnError, Estimate and DryRun on to
// the strategy it wraps (the last three with the attempt's temperature). It
// is safe for concurrent use if that strategy is.
type Progressive[Out any] struct {
	batchllm.Wrapper[batchllm.Prompt, Out]
	temps []float64
	climb climb
}

// Temperatures returns a Progressive over next. It panics if next is nil,
// temps is empty or a temperature is negative (or NaN), as a programming
// error.
func Temperatures[Out any](next batchllm.Strategy[batchllm.Prompt, Out], temps ...float64) *Progressive[Out] {
	if next == nil || len(temps) == 0 {
		panic("escalate: Temperatures needs a strategy and at least one temperature")
	}
	for _, t := range temps {
		if !(t >= 0) {
			panic(fmt.Sprintf("escalate: Temperatures: %v is not a temperature; it must be >= 0", t))
		}
	}
	p := &Progressive[Out]{Wrapper: batchllm.Wrapper[batchllm.Prompt, Out]{Next: next}, temps: append([]float64(nil), temps...)}
	p.climb = newClimb("temperature", p)
	return p
}

// WithClassifier sets the classifier that decides the class of a failed
// attempt; use the processor's if it is not [batchllm.DefaultClassifier].
// It returns p.
func (p *Progressive[Out]) WithClassifier(c batchllm.Classifier) *Progressive[Out] {
	p.climb.classifier = c
	return p
}

// Temperature returns the temperature for an item that has had the given
// number of invalid answers.
func (p *Progressive[Out]) Temperature(invalid int) float64 {
	return p.temps[min(max(invalid, 0), len(p.temps)-1)]
}

func (p *Progressive[Out]) with(req batchllm.Request[batchllm.Prompt]) batchllm.Request[batchllm.Prompt] {
	if req.Input.Temperature == nil {
		t := p.Temperature(p.climb.step(req.State))
		req.Input.Temperature = &t
	}
	return req
}

// Call calls the wrapped strategy with the attempt's temperature.
func (p *Progressive[Out]) Call(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[Out], error) {
	return p.Next.Call(ctx, p.with(req))
}

// OnError passes the hook on, with the attempt's temperature, then raises
// the item's temperature if err is an invalid answer.
func (p *Progressive[Out]) OnError(ctx context.Context, req batchllm.Request[batchllm.Prompt], err error) {
	p.Wrapper.OnError(ctx, p.with(req), err)
	p.climb.record(req.State, err, len(p.temps)-1)
}

// Estimate passes Estimate on, with the attempt's temperature.
func (p *Progressive[Out]) Estimate(req batchllm.Request[batchllm.Prompt]) batchllm.Estimate {
	return p.Wrapper.Estimate(p.with(req))
}

// DryRun passes DryRun on, with the attempt's temperature.
func (p *Progressive[Out]) DryRun(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[Out], error) {
	return p.Wrapper.DryRun(ctx, p.with(req))
}
