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
		held[0].Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota}) // 1 s cooldown
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
		// A window without a cooldown wins back half the way to 97% of the
		// 50 where refusals began: 45 + (48 − 45)/2.
		time.Sleep(time.Minute)
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		if st, _ := l.Stats().Scope("s"); st.Requests.Limit != 46 {
			t.Fatalf("limit %d after a quiet window, want 46", st.Requests.Limit)
		}
		// Another cooldown: a tenth below what was admitted in the last
		// window (the two at 73.7 s; the others are more than a minute old)
		// if that is less than the limit, but never below 1.
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota})
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
		// 21 in 1 s and the 1 s of quiet the server then asks for: 630 a
		// minute, less a tenth.
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota})
		if st, _ := l.Stats().Scope("s"); st.Requests.Limit != 567 || !st.Requests.Inferred {
			t.Fatalf("requests %+v, want an inferred limit of 567 (0.9 × 21 in 2 s × 30)", st.Requests)
		}
	})
}

func TestNoInferenceWhenALimitIsKnown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Ramp: NoRamp{}, Default: Limits{Tokens: 100000}})
		for range 10 {
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		}
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota})
		if st, _ := l.Stats().Scope("s"); st.Requests.Limit != 0 {
			t.Fatalf("request limit %d inferred beside a configured token limit", st.Requests.Limit)
		}
	})
}

// An inferred limit has a floor, half the rate proven over a whole window,
// and after refusals stop it wins back what it lost within a few windows.
func TestInferredLimitFloorAndRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Ramp: NoRamp{}})
		quota := batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota, RetryAfter: time.Second}
		limit := func() int64 { st, _ := l.Stats().Scope("s"); return st.Requests.Limit }
		// 600 a minute for two minutes, one every 100 ms, then a refusal.
		for range 1200 {
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
			time.Sleep(100 * time.Millisecond)
		}
		admit(t, l, est(0, 0)).Release(quota)
		first := limit()
		if first < 520 || first > 540 {
			t.Fatalf("first inference %d, want about 0.9 × 600", first)
		}
		// Refusals, one per burst's time, cut by a tenth each time, but
		// never below half the rate proven over a whole window: about 300.
		var cuts []int64
		for range 12 {
			time.Sleep(6 * time.Second)
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{}) // no multiplied cooldowns
			admit(t, l, est(0, 0)).Release(quota)
			cuts = append(cuts, limit())
		}
		if cuts[0] >= first || cuts[1] >= cuts[0] || cuts[11] != cuts[10] || cuts[11] < 290 || cuts[11] > 300 {
			t.Fatalf("cuts %v after %d: want falling to a floor of about 300", cuts, first)
		}
		// Two refusals within a burst's time (5 s) cut once.
		l2 := newLimiter(t, Config{Ramp: NoRamp{}})
		admit(t, l2, est(0, 0)).Release(quota)
		st, _ := l2.Stats().Scope("s")
		time.Sleep(2 * time.Second)
		admit(t, l2, est(0, 0)).Release(quota)
		if st2, _ := l2.Stats().Scope("s"); st2.Requests.Limit != st.Requests.Limit || st2.Cooldowns != 2 {
			t.Fatalf("limits %d then %d after %d cooldowns: want one cut for two refusals 2 s apart", st.Requests.Limit, st2.Requests.Limit, st2.Cooldowns)
		}
		// Refusals stop: each quiet window wins back half the way to 97%
		// of where the last ones began.
		low := limit()
		var back []int64
		for range 5 {
			time.Sleep(time.Minute)
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
			back = append(back, limit())
		}
		// Refusals began at the rate seen before the first cut, first/0.9.
		if target := int64(float64(first) / 0.9 * 0.97); back[3] < low+(target-low)*9/10 || back[3] > target {
			t.Fatalf("limits after quiet windows %v from %d: want within a tenth of the way back in four windows", back, low)
		}
	})
}
