package batchllm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/batchllm/batchllm/internal/attemptctx"
)

// step says what became of an item after a worker advanced it.
type step int

const (
	stepFinished   step = iota // it has a result
	stepUnfinished             // the run stopped first; no result
	stepWaiting                // it waits out a backoff, parked off the worker
)

// begin prepares an item taken from the queue for its first attempt.
func (p *Processor[In, Out, C]) begin(runCtx, workCtx context.Context, item Item[In, Out, C]) *itemRun[In, Out, C] {
	it := &itemRun[In, Out, C]{p: p, runCtx: runCtx, item: item, start: time.Now(), attempt: 1, ctx: workCtx, cancel: func() {}}
	it.res = Result[Out, C]{ItemID: item.ID, Context: item.Context}
	if p.cfg.ItemTimeout > 0 {
		it.ctx, it.cancel = context.WithTimeout(workCtx, p.cfg.ItemTimeout)
	}
	it.strat = item.Strategy
	if it.strat == nil {
		it.strat = p.cfg.Strategy
	}
	return it
}

// advance runs attempts of the item under the gate until one succeeds, the
// retry policy gives up, the run stops, or the item must wait out a
// backoff; then it says which, and how long the wait is.
func (it *itemRun[In, Out, C]) advance(wid int) (step, time.Duration) {
	p, ctx := it.p, it.ctx
	it.wid = wid
	if ctx.Err() != nil {
		return it.interrupted(it.lastErr)
	}
	if it.call == nil { // the first attempt
		if err := p.prepare(ctx, it.strat); err != nil {
			if ctx.Err() != nil {
				return it.interrupted(err)
			}
			return it.fail(ClassFatalItem, fmt.Errorf("prepare: %w", err))
		}
		it.call = p.chain(it.strat)
		it.est, _ = it.strat.(Estimator[In])
		it.hook, _ = it.strat.(ErrorHook[In])
		mw, ok := it.strat.(ModelWideReporter)
		it.probing = ok && mw.ReportsModelWideErrors()
	}
	item := it.item
	for {
		attempt := it.attempt
		req := Request[In]{ItemID: item.ID, Input: item.Input, Attempt: attempt, State: &it.state}
		var e Estimate
		if it.est != nil {
			e = it.est.Estimate(req)
		}
		if it.model == "" { // until a provider names the model that answered
			it.model, it.res.Model = e.Model, e.Model
		}
		var waitStart time.Time
		if p.emitting {
			waitStart = time.Now()
		}
		probe := false
		if it.probing { // the model-wide stop (modelwide.go)
			var err error
			if probe, err = p.models.enter(ctx, e.Model); err != nil {
				return it.interrupted(err)
			}
		}
		permit, err := p.admit(ctx, e)
		if err != nil {
			if probe {
				p.models.leave(e.Model, true, ClassNone, context.Canceled)
			}
			if ctx.Err() != nil {
				return it.interrupted(err)
			}
			cls := p.cfg.Classifier.Classify(err)
			if cls.Class == ClassFatalBatch {
				p.abortBatch(err)
			}
			return it.fail(cls.Class, fmt.Errorf("admission: %w", err))
		}
		it.res.Attempts++
		p.attempts.Add(1)
		if it.res.Attempts > 1 {
			p.retries.Add(1)
		}
		p.inFlight.Add(1)
		var callStart time.Time
		if p.emitting {
			callStart = time.Now()
			p.emit(Event{Kind: EventAttemptStarted, Time: callStart, WorkerID: wid, ItemID: item.ID, Attempt: attempt, Model: e.Model, Scope: e.Scope, Duration: callStart.Sub(waitStart)})
		}
		resp, err := p.call(ctx, it.call, req)
		p.inFlight.Add(-1)
		it.res.Usage = it.res.Usage.Add(resp.Usage)
		it.model = e.Model
		if resp.Model != "" {
			it.model = resp.Model
		}
		it.res.Model = it.model
		it.res.FinishReason, it.res.RawFinishReason = resp.FinishReason, resp.RawFinishReason
		it.res.Raw = resp.Raw
		if err == nil && it.probing {
			p.models.leave(e.Model, probe, ClassNone, nil)
		}
		if err == nil {
			p.release(permit, Outcome{Usage: resp.Usage, Limits: resp.Limits})
			it.res.Output = resp.Output
			it.res.Elapsed = time.Since(it.start)
			p.emit(Event{Kind: EventItemCompleted, WorkerID: wid, ItemID: item.ID, Attempt: attempt, Model: it.model, Duration: it.res.Elapsed, Usage: it.res.Usage})
			return stepFinished, 0
		}
		it.lastErr = err
		cls := Classification{Class: ClassTransient}
		if ctx.Err() == nil {
			cls = p.cfg.Classifier.Classify(err)
		}
		if cls.Class == ClassNone {
			cls.Class = ClassTransient
		}
		if cls.RetryAfter == 0 && resp.Limits != nil {
			cls.RetryAfter = resp.Limits.RetryAfter
		}
		if it.probing {
			if stop := p.models.leave(e.Model, probe, cls.Class, err); stop != nil {
				cls.Class, err = ClassFatalBatch, stop
			}
		}
		p.release(permit, Outcome{Class: cls.Class, RetryAfter: cls.RetryAfter, Evidence: cls.Evidence, Usage: resp.Usage, Limits: resp.Limits})
		if p.emitting {
			p.emit(Event{Kind: EventAttemptFailed, WorkerID: wid, ItemID: item.ID, Attempt: attempt, Model: it.model, Class: cls.Class, Err: err, Duration: time.Since(callStart), Usage: resp.Usage})
		}
		if ctx.Err() != nil {
			return it.interrupted(err)
		}
		if it.hook != nil {
			if perr := callSafely(func() error { it.hook.OnError(ctx, req, err); return nil }); perr != nil {
				p.log.Error("batchllm: strategy error hook panicked", "item", item.ID, "err", perr)
			}
		}
		if cls.Class == ClassRateLimited {
			p.rateLimited.Add(1)
			p.emit(Event{Kind: EventRateLimited, WorkerID: wid, ItemID: item.ID, Attempt: attempt, Model: it.model, Scope: e.Scope, Err: err, Duration: cls.RetryAfter})
			it.rateLimited++
		}
		d := decideRetry(cls, attempt, it.rateLimited, p.cfg.Retry, rand.N[time.Duration])
		switch d.verdict {
		case giveUp:
			return it.fail(cls.Class, err)
		case abortBatch:
			p.abortBatch(err)
			return it.fail(cls.Class, err)
		case rateLimitsExhausted:
			return it.fail(ClassRateLimited, fmt.Errorf("%w (%d): %w", ErrRateLimitRetriesExhausted, it.rateLimited, err))
		case retryAfterWait:
			it.attempt++
			return stepWaiting, d.wait
		case waitAlone:
			// The gate judges whether bare 429s add up to a quota.
			return stepWaiting, d.wait
		case retryNow:
			it.attempt++
		case retryThroughGate:
			// Same attempt number: the gate holds the retry back until the
			// cooldown ends.
		}
	}
}

// admit asks the gate for a permit, turning a panic in a user's gate into
// a *PanicError, as for strategies, middleware and observers.
func (p *Processor[In, Out, C]) admit(ctx context.Context, e Estimate) (permit Permit, err error) {
	err = callSafely(func() error {
		var err error
		permit, err = p.cfg.Gate.Admit(ctx, e)
		return err
	})
	return permit, err
}

// release returns a permit to the gate; a panic in the gate's Release is
// recovered and logged, since the attempt's outcome is already known.
func (p *Processor[In, Out, C]) release(permit Permit, o Outcome) {
	if err := callSafely(func() error { permit.Release(o); return nil }); err != nil {
		p.log.Error("batchllm: gate permit release panicked", "err", err)
	}
}

// chain wraps s in the configured middleware, around a dry-run stand-in for
// s in dry-run mode.
func (p *Processor[In, Out, C]) chain(s Strategy[In, Out]) Strategy[In, Out] {
	if p.cfg.DryRun {
		s = dryRun[In, Out]{Wrapper[In, Out]{Next: s}}
	}
	for i := len(p.cfg.Middleware) - 1; i >= 0; i-- {
		s = p.cfg.Middleware[i](s)
	}
	return s
}

// call makes one attempt under the attempt deadline, turning a panic into a
// *PanicError and the attempt deadline into a *TimeoutError.
func (p *Processor[In, Out, C]) call(ctx context.Context, s Strategy[In, Out], req Request[In]) (resp Response[Out], err error) {
	actx := ctx
	var start time.Time
	if p.cfg.AttemptTimeout > 0 {
		ac := attemptctx.New(ctx, p.cfg.AttemptTimeout)
		defer ac.Release()
		actx, start = ac, ac.Start()
	}
	func() {
		defer func() {
			if v := recover(); v != nil {
				err = &PanicError{Value: v, Stack: debug.Stack()}
			}
		}()
		resp, err = s.Call(actx, req)
	}()
	if err != nil && ctx.Err() == nil && actx.Err() != nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		err = &TimeoutError{Scope: ScopeAttempt, ItemID: req.ItemID, Attempt: req.Attempt, Elapsed: time.Since(start), Limit: p.cfg.AttemptTimeout}
	}
	return resp, err
}

// itemRun is the state of one item from the queue to its result. Only one
// worker at a time holds it; between attempts it may wait, parked, off any
// worker.
type itemRun[In, Out, C any] struct {
	p      *Processor[In, Out, C]
	runCtx context.Context
	ctx    context.Context // the batch's work context, with the item deadline
	cancel context.CancelFunc
	wid    int
	item   Item[In, Out, C]
	start  time.Time
	model  string
	res    Result[Out, C]

	strat   Strategy[In, Out]
	call    Strategy[In, Out] // strat in its middleware; nil before the first attempt
	est     Estimator[In]
	hook    ErrorHook[In]
	probing bool // the strategy reports model-wide errors (modelwide.go)
	state   RetryState

	attempt     int // the number of the next attempt
	rateLimited int
	lastErr     error
	woken       atomic.Bool // set by whichever ends a parked wait first
}

// fail ends the item with an error of class c, unless the fallback replaces it.
func (it *itemRun[In, Out, C]) fail(c ErrorClass, err error) (step, time.Duration) {
	p := it.p
	ie := &ItemError{ItemID: it.item.ID, Class: c, Attempts: it.res.Attempts, Err: err}
	it.res.Elapsed = time.Since(it.start)
	ev := Event{Kind: EventItemFailed, WorkerID: it.wid, ItemID: it.item.ID, Attempt: it.res.Attempts, Model: it.model, Class: c, Err: ie, Duration: it.res.Elapsed, Usage: it.res.Usage}
	if p.cfg.Fallback != nil {
		var out Out
		var ok bool
		perr := callSafely(func() error {
			out, ok = p.cfg.Fallback(context.WithoutCancel(it.ctx), it.item, ie)
			return nil
		})
		if perr != nil {
			p.log.Error("batchllm: fallback panicked", "item", it.item.ID, "err", perr)
		}
		if ok && perr == nil {
			it.res.Output, it.res.Recovered = out, ie
			ev.Kind = EventItemRecovered
			p.emit(ev)
			return stepFinished, 0
		}
	}
	it.res.Err = ie
	p.emit(ev)
	return stepFinished, 0
}

// interrupted ends an item whose context ended: no result if the run
// stopped, an aborted result if a fatal error stopped the batch, a timeout
// if the item's own deadline passed. last is the error that came with it.
func (it *itemRun[In, Out, C]) interrupted(last error) (step, time.Duration) {
	if it.runCtx.Err() != nil {
		return stepUnfinished, 0
	}
	if ae := it.p.abortErr.Load(); ae != nil {
		return it.fail(ClassFatalBatch, fmt.Errorf("%w: %w", ErrBatchAborted, *ae))
	}
	te := &TimeoutError{Scope: ScopeItem, ItemID: it.item.ID, Attempt: it.res.Attempts, Elapsed: time.Since(it.start), Limit: it.p.cfg.ItemTimeout}
	if last != nil {
		return it.fail(ClassTransient, fmt.Errorf("%w (last error: %w)", te, last))
	}
	return it.fail(ClassTransient, te)
}

// dryRun stands in for a strategy in dry-run mode: its Call is the
// strategy's DryRun, or the zero Response.
type dryRun[In, Out any] struct{ Wrapper[In, Out] }

func (d dryRun[In, Out]) Call(ctx context.Context, req Request[In]) (Response[Out], error) {
	return d.DryRun(ctx, req)
}

// callSafely calls f, turning a panic into a *PanicError.
func callSafely(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return f()
}
