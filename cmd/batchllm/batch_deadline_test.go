package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

// blockingGate admits after wait, or fails when ctx ends.
type blockingGate struct{ wait time.Duration }

type nopPermit struct{}

func (nopPermit) Release(batchllm.Outcome) {}

func (g blockingGate) Admit(ctx context.Context, _ batchllm.Estimate) (batchllm.Permit, error) {
	select {
	case <-time.After(g.wait):
		return nopPermit{}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// The live pass under --deadline: an admission wait ends at the deadline,
// a call is cut there, a failed attempt whose retry would come after it
// ends the item, and nothing is admitted or called after it; each such
// item fails with class fatal_item and a message naming the deadline.
func TestLiveDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		d := &liveDeadline{at: start.Add(10 * time.Second), limit: 40 * time.Second, retry: retryPolicy(3, time.Second)}
		isDeadline := func(what string, err error) {
			t.Helper()
			cls := batchllm.DefaultClassifier.Classify(err)
			if err == nil || cls.Class != batchllm.ClassFatalItem || !strings.Contains(err.Error(), "--deadline 40s passed") {
				t.Errorf("%s: %v (class %v), want the deadline's fatal_item error", what, err, cls.Class)
			}
		}

		// Admission: a wait that ends before the deadline admits; one that
		// would end after it fails at the deadline.
		if _, err := d.gate(blockingGate{wait: time.Second}).Admit(t.Context(), batchllm.Estimate{}); err != nil {
			t.Errorf("admission in time: %v", err)
		}
		_, err := d.gate(blockingGate{wait: time.Minute}).Admit(t.Context(), batchllm.Estimate{})
		isDeadline("admission past the deadline", err)
		if at := time.Since(start); at != 10*time.Second {
			t.Errorf("the admission wait ended after %v, want 10s (the deadline)", at)
		}
		_, err = d.gate(blockingGate{}).Admit(t.Context(), batchllm.Estimate{})
		isDeadline("admission after the deadline", err)

		call := func(dur time.Duration, fail error) strategy {
			return batchllm.StrategyFunc[batchllm.Prompt, string](func(ctx context.Context, _ batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
				select {
				case <-time.After(dur):
					return batchllm.Response[string]{Output: "ok"}, fail
				case <-ctx.Done():
					return batchllm.Response[string]{}, ctx.Err()
				}
			})
		}
		req := func(attempt int) batchllm.Request[batchllm.Prompt] {
			return batchllm.Request[batchllm.Prompt]{ItemID: "a", Attempt: attempt}
		}
		_, err = d.middleware(call(0, nil)).Call(t.Context(), req(1))
		isDeadline("a call after the deadline", err)

		d = &liveDeadline{at: time.Now().Add(10 * time.Second), limit: 40 * time.Second, retry: retryPolicy(3, time.Second)}
		if resp, err := d.middleware(call(time.Second, nil)).Call(t.Context(), req(1)); err != nil || resp.Output != "ok" {
			t.Errorf("a call in time: %q, %v", resp.Output, err)
		}
		// 2s to go: a 500 on attempt 1 is retried after at most 1s, so it
		// is kept.
		time.Sleep(7 * time.Second)
		e500 := batchllm.Classified(errors.New("500"), batchllm.ClassTransient, 0)
		if _, err := d.middleware(call(0, e500)).Call(t.Context(), req(1)); err != e500 {
			t.Errorf("a 500 with time to retry: %v, want it as is", err)
		}
		// 1s to go: the retry of attempt 2 would come up to 2s later, so the
		// item ends; on attempt 3 (the last) it fails with its own error.
		time.Sleep(time.Second)
		_, err = d.middleware(call(0, e500)).Call(t.Context(), req(2))
		isDeadline("a 500 whose retry would pass the deadline", err)
		if !errors.Is(err, e500) {
			t.Errorf("the deadline error %v does not keep the last error", err)
		}
		if _, err := d.middleware(call(0, e500)).Call(t.Context(), req(3)); err != e500 {
			t.Errorf("a 500 on the last attempt: %v, want it as is", err)
		}
		// A call still running at the deadline is cut there.
		_, err = d.middleware(call(time.Minute, nil)).Call(t.Context(), req(1))
		isDeadline("a call running at the deadline", err)
		if time.Now() != d.at {
			t.Errorf("the call was cut %v after the deadline", time.Since(d.at))
		}
		if d.missed.Load() != 2 {
			t.Errorf("%d items counted as missing the deadline, want 2", d.missed.Load())
		}
	})
}
