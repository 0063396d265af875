package ratelimit

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

func TestInferRequestLimitFromRateLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Ramp: NoRamp{}})
		// Watch the scope for a whole window first, so that the count is not
		// scaled (see TestInferenceScalesAShortObservation).
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		time.Sleep(time.Minute)
		start := time.Now()
		var held []batchllm.Permit
		for range 50 {
			held = append(held, admit(t, l, est(0, 0)))
		}
		time.Sleep(10 * time.Second)
		held[0].Release(batchllm.Outcome{Class: batchllm.ClassRateLimited}) // 1 s cooldown
		for _, p := range held[1:] {
			p.Release(batchllm.Outcome{})
		}
		st, _ := l.Stats().Scope("s")
		// 50 admitted in the last minute: 45 per minute, burst 3.
		if st.Requests.Limit != 45 || !st.Requests.Inferred || st.Requests.Capacity != 3 {
			t.Fatalf("requests %+v, want an inferred limit of 45 with burst 3", st.Requests)
		}
		var got []time.Duration
		for range 5 {
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
			got = append(got, time.Since(start))
		}
		tick := func(k int64) time.Duration { return time.Duration((k*int64(time.Minute) + 44) / 45) } // rounded up
		want := []time.Duration{11 * time.Second, 11 * time.Second, 11 * time.Second, 11*time.Second + tick(1), 11*time.Second + tick(2)}
		if !slices.Equal(got, want) {
			t.Fatalf("admissions at %v, want %v", got, want)
		}
		// A window without a cooldown raises the limit by a twentieth.
		time.Sleep(time.Minute)
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		if st, _ := l.Stats().Scope("s"); st.Requests.Limit != 47 {
			t.Fatalf("limit %d after a quiet window, want 47", st.Requests.Limit)
		}
		// Another cooldown: a tenth below what was admitted in the last
		// window (the two at 73.7 s; the others are more than a minute old)
		// if that is less than the limit, but never below 1.
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Class: batchllm.ClassRateLimited})
		if st, _ := l.Stats().Scope("s"); st.Requests.Limit != 1 {
			t.Fatalf("limit %d after a second cooldown, want 1 (0.9 × 2 admitted, at least 1)", st.Requests.Limit)
		}
		// Limits reported by the provider replace the inference.
		time.Sleep(time.Minute)
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Limits: &batchllm.LimitInfo{Tokens: batchllm.LimitWindow{Limit: 1000, Remaining: 900}}})
		st, _ = l.Stats().Scope("s")
		if st.Requests.Limit != 0 || st.Requests.Inferred || st.Tokens.Limit != 1000 {
			t.Fatalf("stats %+v, want the inferred request limit dropped for the reported token limit", st)
		}
	})
}

// A rate limit in the first seconds of a run infers from the rate seen so
// far, not from the few requests a young scope has admitted.
func TestInferenceScalesAShortObservation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Ramp: NoRamp{}})
		for range 20 {
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
			time.Sleep(50 * time.Millisecond)
		}
		// 20 in 1 s: 1200 a minute, less a tenth.
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Class: batchllm.ClassRateLimited})
		if st, _ := l.Stats().Scope("s"); st.Requests.Limit != 1134 || !st.Requests.Inferred {
			t.Fatalf("requests %+v, want an inferred limit of 1134 (0.9 × 21 in 1 s × 60)", st.Requests)
		}
	})
}

func TestNoInferenceWhenALimitIsKnown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Ramp: NoRamp{}, Default: Limits{Tokens: 100000}})
		for range 10 {
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		}
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Class: batchllm.ClassRateLimited})
		if st, _ := l.Stats().Scope("s"); st.Requests.Limit != 0 {
			t.Fatalf("request limit %d inferred beside a configured token limit", st.Requests.Limit)
		}
	})
}
