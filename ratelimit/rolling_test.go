package ratelimit

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

// maxInWindow is the most of ats, in order, that fall in any half-open
// window of length w.
func maxInWindow(ats []time.Time, w time.Duration) int {
	most := 0
	for i := range ats {
		n := 0
		for _, t := range ats[i:] {
			if t.Sub(ats[i]) < w {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// admitTimes admits and releases n attempts one after another and returns
// when each was admitted.
func admitTimes(t *testing.T, l *Limiter, n int) []time.Time {
	var ats []time.Time
	for range n {
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		ats = append(ats, time.Now())
	}
	return ats
}

// A bucket that may burst its whole window admits its limit at once and
// then its refill: 21 in the first second. Told that the provider counts a
// rolling window, the scope keeps every window 2% longer than a second
// within the limit: the 21st waits until the first is 1.02 s old.
func TestRollingKeepsEveryWindowWithinTheLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := Limits{Requests: 20, Window: time.Second, Burst: time.Second}
		start := time.Now()
		ats := admitTimes(t, newLimiter(t, Config{Default: lim}), 21)
		if got := ats[20].Sub(start); got != 50*time.Millisecond {
			t.Fatalf("bucket alone: the 21st admission after %v, want 50ms", got)
		}

		lim.Rolling = true
		l := newLimiter(t, Config{Default: lim})
		start = time.Now()
		ats = admitTimes(t, l, 100)
		if got := ats[20].Sub(start); got != 1020*time.Millisecond {
			t.Errorf("rolling: the 21st admission after %v, want 1.02s", got)
		}
		if n := maxInWindow(ats, 1020*time.Millisecond); n != 20 {
			t.Errorf("rolling: %d admissions in one 1.02 s window, want 20", n)
		}
		if st, _ := l.Stats().Scope("s"); !st.Rolling {
			t.Error("Stats: Rolling false under Limits.Rolling")
		}
	})
}

// A rolling window's remaining count does not refill continuously, so a
// rolling scope does not set its bucket's level from it: a reading of
// nothing left does not hold the next attempt back while the log has room.
func TestRollingIgnoresRemainingReadings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reading := &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: 20, Remaining: 0, Reset: time.Second}}
		for _, rolling := range []bool{false, true} {
			l := newLimiter(t, Config{Default: Limits{Requests: 20, Window: time.Second, Burst: time.Second, Rolling: rolling}})
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{Limits: reading})
			start := time.Now()
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
			want := 50 * time.Millisecond // the level set to 0, refilled at 20/s
			if rolling {
				want = 0
			}
			if got := time.Since(start); got != want {
				t.Errorf("rolling %v: the attempt after a reading of 0 left waited %v, want %v", rolling, got, want)
			}
		}
	})
}
