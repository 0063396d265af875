// Package ratelimittest checks that a [ratelimit.Store] behaves as the
// Limiter needs: the store's own contract (exact refill, every dimension
// reserved at once, refunds, debt, levels, cooldowns, atomic updates) and
// the Limiter's behaviour on top of it, including several Limiters sharing
// one store as several processes would.
//
// A store implementation runs it from a test:
//
//	func TestConformance(t *testing.T) {
//		ratelimittest.Run(t, func(t *testing.T) ratelimit.Store { return newStore(t) })
//	}
//
// Each case runs in a [testing/synctest] bubble and calls newStore inside
// it, with a fresh, empty store (or a fresh key prefix of a shared one).
// Times are passed to the store explicitly and are exact.
package ratelimittest

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/ratelimit"
)

// Run runs every conformance case against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) ratelimit.Store) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { c.run(t, newStore(t)) })
		})
	}
}

var cases = []struct {
	name string
	run  func(t *testing.T, st ratelimit.Store)
}{
	{"ReserveTakesEveryDimensionAtOnce", reserveTakesEveryDimensionAtOnce},
	{"RefillIsExactAndBoundedByTheBurst", refillIsExactAndBounded},
	{"LargeCostPaidWhenFullLeavesDebt", largeCostLeavesDebt},
	{"RefundCapsAtCapacityAndNegativeIsDebt", refundAndDebt},
	{"SetRate", setRate},
	{"SetLevel", setLevel},
	{"CooldownHoldsReservations", cooldownHoldsReservations},
	{"UpdateCooldownIsAtomic", updateCooldownIsAtomic},
	{"ScopesAreSeparate", scopesAreSeparate},
	{"LimitersOnOneStoreShareTheQuota", limitersShareTheQuota},
	{"LimitersOnOneStoreShareCooldowns", limitersShareCooldowns},
	{"LimitersOnOneStoreShareLearnedLimits", limitersShareLearnedLimits},
	{"LimiterReconcilesUsage", limiterReconcilesUsage},
}

// perMinute is a rate with the default window and burst (a minute, 5 s).
func perMinute(n int64) ratelimit.Rate { return ratelimit.Rate{Limit: n, Window: time.Minute} }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func reserve(t *testing.T, s ratelimit.ScopeStore, now time.Time, cost ratelimit.Amounts) time.Duration {
	t.Helper()
	r, err := s.Reserve(t.Context(), now, cost)
	must(t, err)
	return r.Wait
}

func snapshot(t *testing.T, s ratelimit.ScopeStore, now time.Time) ratelimit.ScopeState {
	t.Helper()
	st, err := s.Snapshot(t.Context(), now)
	must(t, err)
	return st
}

func levels(st ratelimit.ScopeState) ratelimit.Amounts {
	var a ratelimit.Amounts
	for d, b := range st.Buckets {
		a[d] = b.Available
	}
	return a
}

func reserveTakesEveryDimensionAtOnce(t *testing.T, st ratelimit.Store) {
	s, now := st.Scope("s"), time.Now()
	// Per minute: tokens 6000 (burst 500), input 3600 (300), output 1200 (100).
	must(t, s.SetRate(t.Context(), now, ratelimit.DimTokens, perMinute(6000)))
	must(t, s.SetRate(t.Context(), now, ratelimit.DimInputTokens, perMinute(3600)))
	must(t, s.SetRate(t.Context(), now, ratelimit.DimOutputTokens, perMinute(1200)))
	if w := reserve(t, s, now, ratelimit.Amounts{1, 300, 200, 100}); w != 0 {
		t.Fatalf("first reservation waits %v", w)
	}
	// Left: 200, 100, 0. The next (200 in, 50 out) needs 250 tokens
	// (0.5 s), 100 more input (1.67 s) and 50 output (2.5 s).
	cost := ratelimit.Amounts{1, 250, 200, 50}
	if w := reserve(t, s, now, cost); w != 2500*time.Millisecond {
		t.Fatalf("second reservation waits %v, want 2.5s (the slowest dimension)", w)
	}
	if got := levels(snapshot(t, s, now)); got != (ratelimit.Amounts{0, 200, 100, 0}) {
		t.Fatalf("a refused reservation took something: levels %v", got)
	}
	now = now.Add(2500 * time.Millisecond)
	if w := reserve(t, s, now, cost); w != 0 {
		t.Fatalf("at 2.5 s the reservation still waits %v", w)
	}
	snap := snapshot(t, s, now)
	if got := levels(snap); got != (ratelimit.Amounts{0, 200, 50, 0}) {
		t.Fatalf("levels %v, want tokens 200, input 50, output 0", got)
	}
	if b := snap.Buckets[ratelimit.DimTokens]; b.Limit != 6000 || b.Window != time.Minute || b.Capacity != 500 {
		t.Fatalf("tokens bucket %+v, want 6000 per minute holding 500", b)
	}
	if b := snap.Buckets[ratelimit.DimRequests]; b.Limit != 0 {
		t.Fatalf("requests bucket %+v, want no limit", b)
	}
}

func refillIsExactAndBounded(t *testing.T, st ratelimit.Store) {
	s, t0 := st.Scope("s"), time.Now()
	// 7 per minute, burst a whole minute: one every 8.571428571… s.
	must(t, s.SetRate(t.Context(), t0, ratelimit.DimRequests, ratelimit.Rate{Limit: 7, Window: time.Minute, Burst: time.Minute}))
	one := ratelimit.Amounts{1}
	for range 7 {
		if w := reserve(t, s, t0, one); w != 0 {
			t.Fatalf("a full bucket of 7 made a reservation wait %v", w)
		}
	}
	now := t0
	for k := int64(1); k <= 3; k++ {
		w := reserve(t, s, now, one)
		now = now.Add(w)
		// Token k is there at ceil(k × 60 s / 7) after t0.
		if want := time.Duration((k*int64(time.Minute) + 6) / 7); now.Sub(t0) != want {
			t.Fatalf("token %d at %v, want %v", k, now.Sub(t0), want)
		}
		if w := reserve(t, s, now.Add(-1), one); w != 1 {
			t.Fatalf("a nanosecond early the wait is %v, want 1ns", w)
		}
		if w := reserve(t, s, now, one); w != 0 {
			t.Fatalf("token %d not there at %v (wait %v)", k, now.Sub(t0), w)
		}
	}
	// A quiet hour refills to capacity and no more.
	if got := levels(snapshot(t, s, now.Add(time.Hour)))[ratelimit.DimRequests]; got != 7 {
		t.Fatalf("after an hour the level is %d, want the capacity 7", got)
	}
}

func largeCostLeavesDebt(t *testing.T, st ratelimit.Store) {
	s, now := st.Scope("s"), time.Now()
	must(t, s.SetRate(t.Context(), now, ratelimit.DimTokens, perMinute(600))) // 10/s, holds 50
	if w := reserve(t, s, now, ratelimit.Amounts{0, 200}); w != 0 {
		t.Fatalf("a cost above the capacity waits %v with the bucket full", w)
	}
	if got := levels(snapshot(t, s, now))[ratelimit.DimTokens]; got != -150 {
		t.Fatalf("level %d, want a debt of 150", got)
	}
	// The next, small one waits out the debt: 151 tokens at 10/s.
	if w := reserve(t, s, now, ratelimit.Amounts{0, 1}); w != 15100*time.Millisecond {
		t.Fatalf("after the debt a reservation waits %v, want 15.1s", w)
	}
	// One above the capacity waits until the bucket is full.
	if w := reserve(t, s, now, ratelimit.Amounts{0, 60}); w != 20*time.Second {
		t.Fatalf("a large cost waits %v, want 20s (until full)", w)
	}
}

func refundAndDebt(t *testing.T, st ratelimit.Store) {
	s, now := st.Scope("s"), time.Now()
	must(t, s.SetRate(t.Context(), now, ratelimit.DimTokens, perMinute(600))) // holds 50
	reserve(t, s, now, ratelimit.Amounts{0, 40})
	must(t, s.Refund(t.Context(), now, ratelimit.Amounts{0, 100}))
	if got := levels(snapshot(t, s, now))[ratelimit.DimTokens]; got != 50 {
		t.Fatalf("after a refund of 100 the level is %d, want the capacity 50", got)
	}
	must(t, s.Refund(t.Context(), now, ratelimit.Amounts{0, -80}))
	if got := levels(snapshot(t, s, now))[ratelimit.DimTokens]; got != -30 {
		t.Fatalf("after a charge of 80 the level is %d, want -30", got)
	}
	// Dimensions without a limit ignore refunds.
	if b := snapshot(t, s, now).Buckets[ratelimit.DimRequests]; b.Limit != 0 || b.Available != 0 {
		t.Fatalf("an unlimited dimension holds %+v", b)
	}
}

func setRate(t *testing.T, st ratelimit.Store) {
	s, now := st.Scope("s"), time.Now()
	must(t, s.SetRate(t.Context(), now, ratelimit.DimRequests, perMinute(120))) // holds 10
	if got := levels(snapshot(t, s, now))[ratelimit.DimRequests]; got != 10 {
		t.Fatalf("a new limit starts at %d, want full (10)", got)
	}
	reserve(t, s, now, ratelimit.Amounts{4})
	must(t, s.SetRate(t.Context(), now, ratelimit.DimRequests, perMinute(120))) // the same: no change
	must(t, s.SetRate(t.Context(), now, ratelimit.DimRequests, perMinute(240))) // holds 20
	if got := levels(snapshot(t, s, now))[ratelimit.DimRequests]; got != 6 {
		t.Fatalf("a changed limit set the level to %d, want it kept (6)", got)
	}
	must(t, s.SetRate(t.Context(), now, ratelimit.DimRequests, perMinute(36))) // holds 3
	if got := levels(snapshot(t, s, now))[ratelimit.DimRequests]; got != 3 {
		t.Fatalf("a lower limit left the level at %d, want it cut to the capacity 3", got)
	}
	// A window of a second: 2 per second, holding 1 (Burst defaults to a
	// twelfth of the window, at least one token).
	must(t, s.SetRate(t.Context(), now, ratelimit.DimRequests, ratelimit.Rate{Limit: 2, Window: time.Second}))
	reserve(t, s, now, ratelimit.Amounts{1})
	if w := reserve(t, s, now, ratelimit.Amounts{1}); w != 500*time.Millisecond {
		t.Fatalf("at 2 per second the next waits %v, want 500ms", w)
	}
	must(t, s.SetRate(t.Context(), now, ratelimit.DimRequests, ratelimit.Rate{}))
	if w := reserve(t, s, now, ratelimit.Amounts{1000}); w != 0 {
		t.Fatalf("a removed limit still holds reservations back %v", w)
	}
}

func setLevel(t *testing.T, st ratelimit.Store) {
	s, now := st.Scope("s"), time.Now()
	must(t, s.SetRate(t.Context(), now, ratelimit.DimRequests, perMinute(600))) // holds 50
	must(t, s.SetLevel(t.Context(), now, ratelimit.DimRequests, 7, false))
	if got := levels(snapshot(t, s, now))[ratelimit.DimRequests]; got != 7 {
		t.Fatalf("level %d, want lowered to 7", got)
	}
	must(t, s.SetLevel(t.Context(), now, ratelimit.DimRequests, 30, false))
	if got := levels(snapshot(t, s, now))[ratelimit.DimRequests]; got != 7 {
		t.Fatalf("level %d, want 7 (a report does not raise without raise)", got)
	}
	// The provider's opening allowance: raised above the capacity, up to
	// the limit, and neither refilled nor refunded above it.
	must(t, s.SetLevel(t.Context(), now, ratelimit.DimRequests, 400, true))
	must(t, s.Refund(t.Context(), now, ratelimit.Amounts{5}))
	if got := levels(snapshot(t, s, now.Add(time.Second)))[ratelimit.DimRequests]; got != 400 {
		t.Fatalf("level %d, want raised to 400 and held there", got)
	}
	must(t, s.SetLevel(t.Context(), now, ratelimit.DimRequests, 9000, true))
	if got := levels(snapshot(t, s, now))[ratelimit.DimRequests]; got != 600 {
		t.Fatalf("level %d, want at most the limit 600", got)
	}
	must(t, s.SetLevel(t.Context(), now, ratelimit.DimRequests, -3, false))
	if got := levels(snapshot(t, s, now))[ratelimit.DimRequests]; got != 0 {
		t.Fatalf("level %d, want 0 for a negative report", got)
	}
}

func cooldownHoldsReservations(t *testing.T, st ratelimit.Store) {
	s, now := st.Scope("s"), time.Now()
	must(t, s.SetRate(t.Context(), now, ratelimit.DimRequests, perMinute(600)))
	c, err := s.UpdateCooldown(t.Context(), func(c *ratelimit.Cooldown) bool {
		c.Until, c.Generation, c.Consecutive = now.Add(2*time.Second), c.Generation+1, 1
		return true
	})
	must(t, err)
	if c.Generation != 1 || !c.Until.Equal(now.Add(2*time.Second)) {
		t.Fatalf("stored %+v", c)
	}
	r, err := s.Reserve(t.Context(), now.Add(500*time.Millisecond), ratelimit.Amounts{1})
	must(t, err)
	if r.Wait != 1500*time.Millisecond || r.Cooldown != c {
		t.Fatalf("during the cooldown Reserve = %+v, want a wait of 1.5s and the cooldown %+v", r, c)
	}
	if got := levels(snapshot(t, s, now))[ratelimit.DimRequests]; got != 50 {
		t.Fatalf("a reservation during a cooldown took something: level %d", got)
	}
	r, err = s.Reserve(t.Context(), now.Add(2*time.Second), ratelimit.Amounts{1})
	must(t, err)
	if r.Wait != 0 || r.Cooldown.Generation != 1 {
		t.Fatalf("after the cooldown Reserve = %+v", r)
	}
	// An update that returns false stores nothing.
	got, err := s.UpdateCooldown(t.Context(), func(c *ratelimit.Cooldown) bool { c.Generation = 99; return false })
	must(t, err)
	if got != c {
		t.Fatalf("a declined update stored %+v", got)
	}
	if snap := snapshot(t, s, now); snap.Cooldown != c {
		t.Fatalf("snapshot cooldown %+v, want %+v", snap.Cooldown, c)
	}
}

func updateCooldownIsAtomic(t *testing.T, st ratelimit.Store) {
	s := st.Scope("s")
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_, err := s.UpdateCooldown(t.Context(), func(c *ratelimit.Cooldown) bool { c.Generation++; return true })
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if c := snapshot(t, s, time.Now()).Cooldown; c.Generation != 50 {
		t.Fatalf("50 concurrent increments gave %d", c.Generation)
	}
}

func scopesAreSeparate(t *testing.T, st ratelimit.Store) {
	now := time.Now()
	a, b := st.Scope("a"), st.Scope("b")
	must(t, a.SetRate(t.Context(), now, ratelimit.DimRequests, perMinute(12))) // holds 1
	reserve(t, a, now, ratelimit.Amounts{1})
	if w := reserve(t, b, now, ratelimit.Amounts{1}); w != 0 {
		t.Fatalf("scope b is limited by a's limit: wait %v", w)
	}
	_, err := a.UpdateCooldown(t.Context(), func(c *ratelimit.Cooldown) bool { c.Until = now.Add(time.Hour); return true })
	must(t, err)
	if w := reserve(t, b, now, ratelimit.Amounts{1}); w != 0 {
		t.Fatalf("scope b waits %v for a's cooldown", w)
	}
	if got := st.Scope("a"); levels(snapshot(t, got, now))[ratelimit.DimRequests] != 0 {
		t.Fatal("asking for scope a again gave other state")
	}
}

func newLimiter(t *testing.T, cfg ratelimit.Config) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(cfg)
	must(t, err)
	return l
}

func admit(t *testing.T, l *ratelimit.Limiter, e batchllm.Estimate) batchllm.Permit {
	t.Helper()
	p, err := l.Admit(t.Context(), e)
	must(t, err)
	return p
}

func limitersShareTheQuota(t *testing.T, st ratelimit.Store) {
	cfg := ratelimit.Config{Store: st, Default: ratelimit.Limits{Requests: 60}} // 5 at once, then 1/s
	a, b := newLimiter(t, cfg), newLimiter(t, cfg)
	start := time.Now()
	e := batchllm.Estimate{Scope: "s"}
	var got []time.Duration
	for i := range 8 {
		admit(t, []*ratelimit.Limiter{a, b}[i%2], e).Release(batchllm.Outcome{})
		got = append(got, time.Since(start))
	}
	want := []time.Duration{0, 0, 0, 0, 0, time.Second, 2 * time.Second, 3 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("two limiters on one store admitted at %v, want %v", got, want)
		}
	}
}

func limitersShareCooldowns(t *testing.T, st ratelimit.Store) {
	cfg := ratelimit.Config{Store: st, Ramp: ratelimit.NoRamp{}, NoAdapt: true} // no inferred limit
	a, b := newLimiter(t, cfg), newLimiter(t, cfg)
	e := batchllm.Estimate{Scope: "s"}
	start := time.Now()
	admit(t, a, e).Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota, RetryAfter: 3 * time.Second})
	admit(t, b, e).Release(batchllm.Outcome{})
	if got := time.Since(start); got != 3*time.Second {
		t.Fatalf("the other limiter admitted after %v, want 3s (the cooldown)", got)
	}
	// Its success ended the run of consecutive cooldowns for both.
	start = time.Now()
	admit(t, b, e).Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota, RetryAfter: 2 * time.Second})
	admit(t, a, e).Release(batchllm.Outcome{})
	if got := time.Since(start); got != 2*time.Second {
		t.Fatalf("a cooldown after a success lasted %v, want 2s (not multiplied)", got)
	}
}

func limitersShareLearnedLimits(t *testing.T, st ratelimit.Store) {
	cfg := ratelimit.Config{Store: st, Ramp: ratelimit.NoRamp{}}
	a, b := newLimiter(t, cfg), newLimiter(t, cfg)
	e := batchllm.Estimate{Scope: "s"}
	// a learns 60 per minute with nothing left; b then waits for the refill.
	admit(t, a, e).Release(batchllm.Outcome{Limits: &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: 60, Remaining: 0, Reset: time.Minute}}})
	start := time.Now()
	admit(t, b, e).Release(batchllm.Outcome{})
	if got := time.Since(start); got != time.Second {
		t.Fatalf("the other limiter admitted after %v, want 1s (one request at 60 per minute)", got)
	}
}

func limiterReconcilesUsage(t *testing.T, st ratelimit.Store) {
	l := newLimiter(t, ratelimit.Config{Store: st, Default: ratelimit.Limits{Tokens: 6000}}) // 100/s, holds 500
	e := batchllm.Estimate{Scope: "s", InputTokens: 300, MaxOutputTokens: 200}
	// 500 reserved, 350 used: 150 back.
	admit(t, l, e).Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 300, OutputTokens: 50}})
	if s, _ := l.Stats().Scope("s"); s.Tokens.Available != 150 {
		t.Fatalf("after a refund %d tokens available, want 150", s.Tokens.Available)
	}
	// 500 reserved (the bucket is full again after 3.5 s), 900 used: 400 of debt.
	time.Sleep(3500 * time.Millisecond)
	admit(t, l, e).Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 700, OutputTokens: 200}})
	if s, _ := l.Stats().Scope("s"); s.Tokens.Available != -400 {
		t.Fatalf("after using more than reserved %d tokens available, want -400", s.Tokens.Available)
	}
}
