package escalate

import (
	"context"
	"errors"

	"github.com/batchllm/batchllm"
)

// Ladder is a strategy that calls one of several strategies, from the first
// (the cheapest) to the last (the strongest). Each item starts at the first
// and moves one step up after every attempt whose error has class
// [batchllm.ClassInvalidOutput], and stays at the last. Other errors (rate
// limits, timeouts, server and network errors, bad requests) leave the item
// where it is.
//
// Ladder implements [batchllm.ErrorHook] (and passes the hook on to the
// strategy that made the failed attempt), [batchllm.Preparer] and
// [batchllm.Cleaner] (for every step that has them), and
// [batchllm.Estimator] and [batchllm.DryRunner] (for the item's current
// step). It is safe for concurrent use.
type Ladder[In, Out any] struct {
	steps []batchllm.Strategy[In, Out]
	climb climb
}

// Models returns a Ladder over steps, cheapest first. It panics if steps is
// empty or holds nil, as a programming error.
func Models[In, Out any](steps ...batchllm.Strategy[In, Out]) *Ladder[In, Out] {
	if len(steps) == 0 {
		panic("escalate: Models needs at least one strategy")
	}
	for _, s := range steps {
		if s == nil {
			panic("escalate: Models given a nil strategy")
		}
	}
	l := &Ladder[In, Out]{steps: steps}
	l.climb = newClimb("level", l)
	return l
}

// WithClassifier sets the classifier that decides the class of a failed
// attempt; use the processor's if it is not [batchllm.DefaultClassifier].
// It returns l.
func (l *Ladder[In, Out]) WithClassifier(c batchllm.Classifier) *Ladder[In, Out] {
	l.climb.classifier = c
	return l
}

// Level returns the step (0-based) that the next attempt of the item with
// state st will use.
func (l *Ladder[In, Out]) Level(st *batchllm.RetryState) int {
	return min(l.climb.step(st), len(l.steps)-1)
}

// step returns the item's current step, wrapped to forward the optional
// interfaces to it.
func (l *Ladder[In, Out]) step(st *batchllm.RetryState) batchllm.Wrapper[In, Out] {
	return batchllm.Wrapper[In, Out]{Next: l.steps[l.Level(st)]}
}

// Call calls the item's current step.
func (l *Ladder[In, Out]) Call(ctx context.Context, req batchllm.Request[In]) (batchllm.Response[Out], error) {
	return l.step(req.State).Next.Call(ctx, req)
}

// OnError passes the hook to the step that failed, then moves the item one
// step up if err is an invalid output.
func (l *Ladder[In, Out]) OnError(ctx context.Context, req batchllm.Request[In], err error) {
	l.step(req.State).OnError(ctx, req, err)
	l.climb.record(req.State, err, len(l.steps)-1)
}

// Prepare prepares every step that is a [batchllm.Preparer].
func (l *Ladder[In, Out]) Prepare(ctx context.Context) error {
	var errs []error
	for _, s := range l.steps {
		errs = append(errs, batchllm.Wrapper[In, Out]{Next: s}.Prepare(ctx))
	}
	return errors.Join(errs...)
}

// Cleanup cleans up every step that is a [batchllm.Cleaner], and joins their
// errors.
func (l *Ladder[In, Out]) Cleanup(ctx context.Context) error {
	var errs []error
	for _, s := range l.steps {
		errs = append(errs, batchllm.Wrapper[In, Out]{Next: s}.Cleanup(ctx))
	}
	return errors.Join(errs...)
}

// Estimate returns the current step's estimate, or the zero Estimate if it
// is not an [batchllm.Estimator].
func (l *Ladder[In, Out]) Estimate(req batchllm.Request[In]) batchllm.Estimate {
	return l.step(req.State).Estimate(req)
}

// DryRun calls the current step's DryRun, or returns the zero response if
// it is not a [batchllm.DryRunner].
func (l *Ladder[In, Out]) DryRun(ctx context.Context, req batchllm.Request[In]) (batchllm.Response[Out], error) {
	return l.step(req.State).DryRun(ctx, req)
}
