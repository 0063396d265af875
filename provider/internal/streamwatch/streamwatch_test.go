package streamwatch

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

// firedAt waits, in a synctest bubble, until ctx is done and returns the
// fake time that passed since start.
func firedAt(ctx context.Context, start time.Time) time.Duration {
	<-ctx.Done()
	return time.Since(start)
}

func TestFirstTokenTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ctx, w := Start(t.Context(), Limits{FirstToken: 5 * time.Second, Stall: time.Second})
		defer w.Stop()
		if got := firedAt(ctx, start); got != 5*time.Second {
			t.Errorf("cancelled after %v, want 5s", got)
		}
		err := w.Err(context.Canceled)
		te, ok := errors.AsType[*TimeoutError](err)
		if !ok || !te.FirstToken || te.Limit != 5*time.Second {
			t.Fatalf("err %v, want a first-token TimeoutError of 5s", err)
		}
		if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassTransient {
			t.Errorf("class %v, want transient", c.Class)
		}
		if err.Error() != "no first token within 5s" {
			t.Errorf("message %q", err)
		}
	})
}

func TestStallAfterTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ctx, w := Start(t.Context(), Limits{FirstToken: 5 * time.Second, Stall: 2 * time.Second})
		defer w.Stop()
		// Tokens at 4s (inside the first-token limit), then every 1.5s:
		// none of the gaps reaches the stall limit.
		time.Sleep(4 * time.Second)
		for range 3 {
			w.Token()
			time.Sleep(1500 * time.Millisecond)
		}
		if ctx.Err() != nil {
			t.Fatalf("cancelled at %v with tokens arriving in time", time.Since(start))
		}
		// Tokens came at 4s, 5.5s and 7s; silence from then on.
		if got := firedAt(ctx, start); got != 9*time.Second {
			t.Errorf("cancelled after %v, want 9s (last token at 7s + 2s)", got)
		}
		te, ok := errors.AsType[*TimeoutError](w.Err(nil))
		if !ok || te.FirstToken || te.Tokens != 3 || te.Limit != 2*time.Second {
			t.Fatalf("cause %+v, want a stall after 3 tokens of 2s", te)
		}
	})
}

func TestNoLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, w := Start(t.Context(), Limits{})
		w.Token()
		time.Sleep(time.Hour)
		if ctx.Err() != nil {
			t.Fatal("cancelled without limits")
		}
		want := errors.New("sdk error")
		if err := w.Err(want); err != want {
			t.Errorf("Err = %v, want the stream's own error", err)
		}
		w.Stop()
		if ctx.Err() == nil || w.Fired() {
			t.Errorf("after Stop: ctx err %v, fired %v; want cancelled, not fired", ctx.Err(), w.Fired())
		}
	})
}

func TestStallOnlyAfterFirstToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Without a first-token limit, a long wait for the first token is
		// the attempt timeout's business, not a stall.
		start := time.Now()
		ctx, w := Start(t.Context(), Limits{Stall: time.Second})
		defer w.Stop()
		time.Sleep(time.Minute)
		if ctx.Err() != nil {
			t.Fatal("stall limit applied before the first token")
		}
		w.Token()
		if got := firedAt(ctx, start); got != time.Minute+time.Second {
			t.Errorf("cancelled after %v, want 1m1s", got)
		}
	})
}

func TestParentCancelIsNotATimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithCancel(t.Context())
		ctx, w := Start(parent, Limits{FirstToken: time.Second})
		defer w.Stop()
		cancel()
		<-ctx.Done()
		if w.Fired() {
			t.Error("a cancelled parent reported as a stream timeout")
		}
		if err := w.Err(context.Canceled); err != context.Canceled {
			t.Errorf("Err = %v", err)
		}
	})
}

func TestValidate(t *testing.T) {
	if err := (Limits{FirstToken: -1}).Validate("openai"); err == nil || err.Error() != "openai: FirstTokenTimeout is -1ns; it must be >= 0" {
		t.Errorf("FirstToken -1: %v", err)
	}
	if err := (Limits{Stall: -time.Second}).Validate("gemini"); err == nil {
		t.Error("negative stall accepted")
	}
	if err := (Limits{FirstToken: time.Second, Stall: time.Second}).Validate("x"); err != nil {
		t.Error(err)
	}
}
