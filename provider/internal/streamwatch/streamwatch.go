// Package streamwatch bounds a streamed answer in time, for the provider
// strategies' streaming mode: a limit on the time to the first token and a
// limit on the silence between tokens (a stall). A stream that breaks
// either is cancelled and its attempt fails as transient, so that a hung
// connection costs seconds, not the whole attempt timeout.
package streamwatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/batchllm/batchllm"
)

// Limits are the time limits of one streamed answer. Zero means no limit;
// the attempt's own deadline still bounds the whole call.
type Limits struct {
	// FirstToken bounds the time from sending the request to the first
	// token of the answer (response headers and empty events do not
	// count).
	FirstToken time.Duration
	// Stall bounds the silence between two tokens once the first has
	// arrived.
	Stall time.Duration
}

// Validate reports a negative limit; name prefixes the message ("openai").
func (l Limits) Validate(name string) error {
	if l.FirstToken < 0 {
		return fmt.Errorf("%s: FirstTokenTimeout is %v; it must be >= 0", name, l.FirstToken)
	}
	if l.Stall < 0 {
		return fmt.Errorf("%s: StallTimeout is %v; it must be >= 0", name, l.Stall)
	}
	return nil
}

// TimeoutError is the cause of a stream cancelled by a [Watch].
type TimeoutError struct {
	// FirstToken is true if no token arrived in time; false for a stall
	// after Tokens tokens.
	FirstToken bool
	Tokens     int
	Limit      time.Duration
}

func (e *TimeoutError) Error() string {
	if e.FirstToken {
		return fmt.Sprintf("no first token within %v", e.Limit)
	}
	return fmt.Sprintf("stream stalled: no token for %v after %d token event(s)", e.Limit, e.Tokens)
}

// Watch cancels a stream's context when the stream breaks its [Limits].
type Watch struct {
	limits Limits
	cancel context.CancelCauseFunc
	ctx    context.Context

	mu     sync.Mutex
	timer  *time.Timer // nil when no limit applies in the current phase
	gen    int         // numbers the timers, so a late one is ignored
	tokens int
}

// Start returns a context for the streaming request, derived from ctx, and
// the watch that cancels it. The caller must call Stop when the stream is
// done, and report each token with Token.
func Start(ctx context.Context, l Limits) (context.Context, *Watch) {
	w := &Watch{limits: l}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	if l.FirstToken > 0 {
		w.arm(l.FirstToken)
	}
	return w.ctx, w
}

// arm starts the timer of the current phase. Callers hold w.mu (or own w).
func (w *Watch) arm(d time.Duration) {
	w.gen++
	gen := w.gen
	w.timer = time.AfterFunc(d, func() { w.fire(gen) })
}

// fire cancels the stream with a TimeoutError for the current phase, unless
// a token re-armed the watch after timer gen went off.
func (w *Watch) fire(gen int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if gen != w.gen {
		return
	}
	if w.tokens == 0 {
		w.cancel(&TimeoutError{FirstToken: true, Limit: w.limits.FirstToken})
	} else {
		w.cancel(&TimeoutError{Tokens: w.tokens, Limit: w.limits.Stall})
	}
}

// Token records that a token (a delta with text, thinking or tool input)
// arrived: the first-token limit no longer applies and the stall limit
// starts again.
func (w *Watch) Token() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tokens++
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	w.gen++ // a timer already going off is now stale
	if w.limits.Stall > 0 {
		w.arm(w.limits.Stall)
	}
}

// Stop ends the watch and releases its context and timer.
func (w *Watch) Stop() {
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	w.mu.Unlock()
	w.cancel(context.Canceled)
}

// Err returns the watch's timeout if it cancelled the stream, classified
// transient (the next attempt may well stream at full speed); otherwise
// err itself. Call it with the stream's error before Stop.
func (w *Watch) Err(err error) error {
	if te, ok := errors.AsType[*TimeoutError](context.Cause(w.ctx)); ok {
		return batchllm.Classified(te, batchllm.ClassTransient, 0)
	}
	return err
}

// Fired reports whether the watch cancelled the stream.
func (w *Watch) Fired() bool {
	_, ok := errors.AsType[*TimeoutError](context.Cause(w.ctx))
	return ok
}
