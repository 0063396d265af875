package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/batchllm/batchllm"
)

// liveDeadline holds the live pass of a --batch auto run to --deadline:
// no call starts, and no admission wait or retry goes on, past the
// deadline, and an item that cannot be answered by then ends with a
// failure of class fatal_item that says so (written and journaled like any
// failure; --retry-failed sends it again).
type liveDeadline struct {
	at     time.Time
	limit  time.Duration // --deadline, for messages
	retry  batchllm.RetryPolicy
	missed atomic.Int64 // items that ended for it
}

// err is the error of an item that missed the deadline; last, if not nil,
// is the error of its last attempt.
func (d *liveDeadline) err(last error) error {
	d.missed.Add(1)
	err := fmt.Errorf("--deadline %v passed (at %s) before the item could be answered live", d.limit, d.at.Format(time.TimeOnly))
	if last != nil {
		err = fmt.Errorf("%w (last error: %w)", err, last)
	}
	return batchllm.Classified(err, batchllm.ClassFatalItem, 0)
}

// gate admits through next until the deadline: a wait for admission (a
// rate limit, a 429 cooldown, the budget) ends at the deadline, and none
// starts after it.
func (d *liveDeadline) gate(next batchllm.Gate) batchllm.Gate { return deadlineGate{next, d} }

type deadlineGate struct {
	next batchllm.Gate
	d    *liveDeadline
}

func (g deadlineGate) Admit(ctx context.Context, e batchllm.Estimate) (batchllm.Permit, error) {
	if !time.Now().Before(g.d.at) {
		return nil, g.d.err(nil)
	}
	wait, cancel := context.WithDeadline(ctx, g.d.at)
	defer cancel()
	p, err := g.next.Admit(wait, e)
	if err != nil && ctx.Err() == nil && wait.Err() != nil {
		return nil, g.d.err(nil)
	}
	return p, err
}

// ReportEvents forwards the wrapped gate's events (cooldowns, limits) to
// the processor's observers.
func (g deadlineGate) ReportEvents(emit func(batchllm.Event)) (unsubscribe func()) {
	if rep, ok := g.next.(batchllm.EventReporter); ok {
		return rep.ReportEvents(emit)
	}
	return func() {}
}

// middleware cuts each call at the deadline, and ends an item at a failed
// attempt whose retry could only come after the deadline (its backoff, or
// the server's Retry-After, reaches past it), rather than wait for nothing.
func (d *liveDeadline) middleware(next strategy) strategy {
	return batchllm.StrategyFunc[batchllm.Prompt, string](func(ctx context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
		if !time.Now().Before(d.at) {
			return batchllm.Response[string]{}, d.err(nil)
		}
		cctx, cancel := context.WithDeadline(ctx, d.at)
		defer cancel()
		resp, err := next.Call(cctx, req)
		if err == nil || ctx.Err() != nil {
			return resp, err
		}
		if cctx.Err() != nil {
			return resp, d.err(err)
		}
		if time.Now().Add(d.retryWait(req.Attempt, err)).After(d.at) {
			return resp, d.err(err)
		}
		return resp, err
	})
}

// retryWait is the longest the processor may wait before retrying after
// attempt failed with err (see batchllm.RetryPolicy), or 0 if it retries
// at once or not at all.
func (d *liveDeadline) retryWait(attempt int, err error) time.Duration {
	// A rate-limited retry waits at the gate, which the deadline bounds;
	// invalid output is retried at once; after the last attempt the item
	// fails with its own error.
	cls := batchllm.DefaultClassifier.Classify(err)
	if (cls.Class != batchllm.ClassTransient && cls.Class != batchllm.ClassOverloaded) || attempt >= d.retry.MaxAttempts {
		return 0
	}
	return min(max(d.retry.Backoff(attempt), cls.RetryAfter), d.retry.MaxWait)
}
