package ratelimit

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

// A scope that knows no limit starts with one attempt in flight and adds
// one per success, so that attempts in flight double every round trip,
// until an answer reports a limit.
func TestProbeStartsWithOneAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{})
		const latency = 100 * time.Millisecond
		var mu sync.Mutex
		inflight := 0
		peaks := map[time.Duration]int{} // the most in flight in each round trip
		start := time.Now()
		done := make(chan struct{})
		for range 40 {
			go func() {
				defer func() { done <- struct{}{} }()
				p := admit(t, l, est(0, 0))
				mu.Lock()
				inflight++
				rt := time.Since(start) / latency
				peaks[rt] = max(peaks[rt], inflight)
				mu.Unlock()
				time.Sleep(latency)
				mu.Lock()
				inflight--
				mu.Unlock()
				p.Release(batchllm.Outcome{})
			}()
		}
		for range 40 {
			<-done
		}
		// Round trips 0, 1, 2, 3: 1, 2, 4, 8 in flight; the probe admits as
		// each attempt ends, so a round trip starts when the last ended.
		for rt, want := range []int{1, 2, 4, 8} {
			if got := peaks[time.Duration(rt)]; got != want {
				t.Errorf("round trip %d: %d in flight, want %d (all: %v)", rt, got, want, peaks)
			}
		}
	})
}

// The first answer that reports a limit ends the probe: the buckets
// govern from then on.
func TestProbeEndsWithReportedLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{})
		p := admit(t, l, est(0, 0))
		blocked := make(chan batchllm.Permit)
		go func() { blocked <- admit(t, l, est(0, 0)) }()
		synctest.Wait()
		select {
		case <-blocked:
			t.Fatal("a second attempt was admitted while the first probed")
		default:
		}
		p.Release(batchllm.Outcome{Limits: &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: 600, Remaining: 599, Reset: 100 * time.Millisecond}}})
		(<-blocked).Release(batchllm.Outcome{})
		// 599 remain: ten more go at once, none ending.
		admitAtOnce(t, l, 10)
	})
}

// A configured limit, NoAdapt, or a Ramp other than AIMD start without a
// probe: every worker may start at once.
func TestNoProbe(t *testing.T) {
	for name, cfg := range map[string]Config{
		"configured": {Default: Limits{Requests: 6000}},
		"NoAdapt":    {NoAdapt: true},
		"NoRamp":     {Ramp: NoRamp{}},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				admitAtOnce(t, newLimiter(t, cfg), 10)
			})
		})
	}
}

// The probe lasts at most probeFor: answers that take an hour do not hold
// the other workers back longer.
func TestProbeEndsAfterProbeFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{})
		start := time.Now()
		held := []batchllm.Permit{admit(t, l, est(0, 0))}
		for range 10 {
			held = append(held, admit(t, l, est(0, 0)))
		}
		if d := time.Since(start); d != probeFor {
			t.Errorf("the second attempt waited %v with the first in flight, want the probe's %v", d, probeFor)
		}
		for _, p := range held {
			p.Release(batchllm.Outcome{})
		}
	})
}

// admitAtOnce admits n attempts, none released before the last is
// admitted, fails the test if any of them waited, and then releases them.
func admitAtOnce(t *testing.T, l *Limiter, n int) {
	t.Helper()
	start := time.Now()
	held := make([]batchllm.Permit, 0, n)
	for range n {
		held = append(held, admit(t, l, est(0, 0)))
	}
	if d := time.Since(start); d != 0 {
		t.Errorf("%d admissions at once waited %v, want none to wait", n, d)
	}
	for _, p := range held {
		p.Release(batchllm.Outcome{})
	}
}
