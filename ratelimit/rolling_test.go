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

// Told of a rolling window, a scope lets each window's limit go at once
// (the bucket may burst the whole window; the log governs): a wave of 20,
// then the next when the first is a window and the margin old.
func TestRollingToldSendsWavesOfTheLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Default: Limits{Requests: 20, Window: time.Second, Rolling: true}})
		start := time.Now()
		ats := admitTimes(t, l, 60)
		for i, at := range ats {
			want := time.Duration(i/20) * 1020 * time.Millisecond
			if got := at.Sub(start); got != want {
				t.Fatalf("admission %d after %v, want %v (waves of 20, 1.02 s apart)", i, got, want)
			}
		}
		st, _ := l.Stats().Scope("s")
		if st.Requests.Capacity != 20 || st.RollingWindow != time.Second || st.RollingMargin != rollingMargin {
			t.Errorf("stats %+v, want a burst of 20 and a rolling window of 1s with a margin of %v", st, rollingMargin)
		}
	})
}

// A quota refusal shows the margin too short: it doubles, once per burst
// of refusals, and the next waves wait for it; each window since it last
// changed takes back a quarter of what it has above the base.
func TestRollingMarginWidensOnRefusalAndNarrows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Ramp: NoRamp{}, Default: Limits{Requests: 20, Window: time.Second, Rolling: true}})
		margin := func() float64 {
			st, _ := l.Stats().Scope("s")
			return st.RollingMargin
		}
		refused := batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota, RetryAfter: time.Millisecond}
		start := time.Now()
		var wave []batchllm.Permit
		for range 20 {
			wave = append(wave, admit(t, l, est(0, 0)))
		}
		wave[0].Release(refused)
		wave[1].Release(refused) // the same burst: no further widening
		if got := margin(); got != 2*rollingMargin {
			t.Fatalf("margin after two refusals of one wave %v, want %v", got, 2*rollingMargin)
		}
		for _, p := range wave[2:] {
			p.Release(batchllm.Outcome{})
		}
		admit(t, l, est(0, 0)).Release(refused)
		if got, want := time.Since(start), 1040*time.Millisecond; got != want {
			t.Fatalf("the next wave after %v, want %v (the margin doubled)", got, want)
		}
		// A window has passed since the widening: a quarter of the
		// excess went back first.
		want := 2 * (rollingMargin + rollingMargin*3/4)
		if got := margin(); got < want-1e-12 || got > want+1e-12 {
			t.Fatalf("margin after a refusal of the next wave %v, want %v", got, want)
		}
		time.Sleep(2 * time.Second)
		want = rollingMargin + (want-rollingMargin)*3/4*3/4
		if got := margin(); got < want-1e-12 || got > want+1e-12 {
			t.Fatalf("margin two quiet windows later %v, want %v", got, want)
		}
		time.Sleep(time.Minute)
		if got := margin(); got > rollingMargin+1e-6 {
			t.Fatalf("margin a minute later %v, want back near %v", got, rollingMargin)
		}
	})
}
