package batchllm_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchllmtest"
)

// admitAt admits one attempt and returns how long admission took.
func admitAt(t *testing.T, g batchllm.Gate) (batchllm.Permit, time.Duration) {
	t.Helper()
	start := time.Now()
	p, err := g.Admit(t.Context(), batchllm.Estimate{})
	if err != nil {
		t.Fatal(err)
	}
	return p, time.Since(start)
}

func TestCooldownLengthFromEachSignalWithMultiplierCapAndReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &batchllm.CooldownGate{Floor: 2 * time.Second, Max: 20 * time.Second, Multiplier: 3}
		var mu sync.Mutex
		var reasons []string
		var lengths []time.Duration
		unsub := g.ReportEvents(func(e batchllm.Event) {
			if e.Kind == batchllm.EventCooldownStarted {
				mu.Lock()
				reasons, lengths = append(reasons, e.Reason), append(lengths, e.Duration)
				mu.Unlock()
			}
		})
		defer unsub()
		limited := func(o batchllm.Outcome) time.Duration {
			p, _ := admitAt(t, g)
			o.Class, o.Evidence = batchllm.ClassRateLimited, batchllm.EvidenceQuota
			p.Release(o)
			_, waited := admitAt(t, g)
			return waited
		}
		steps := []struct {
			o    batchllm.Outcome
			want time.Duration
		}{
			{batchllm.Outcome{}, 2 * time.Second},                             // the floor
			{batchllm.Outcome{RetryAfter: time.Second}, 3 * time.Second},      // the server's 1 s, even below the floor, × 3
			{batchllm.Outcome{RetryAfter: 4 * time.Second}, 20 * time.Second}, // 4 s × 9 = 36 s, capped
		}
		for i, s := range steps {
			if got := limited(s.o); got != s.want {
				t.Fatalf("step %d: cooled down %v, want %v", i, got, s.want)
			}
		}
		// A success resets the multiplier; a body retry delay counts too.
		p, _ := admitAt(t, g)
		p.Release(batchllm.Outcome{})
		if got := limited(batchllm.Outcome{Limits: &batchllm.LimitInfo{RetryAfter: 5 * time.Second}}); got != 5*time.Second {
			t.Fatalf("after a success: %v, want 5s", got)
		}
		mu.Lock()
		defer mu.Unlock()
		want := []string{"floor", "retry_after_multiplied", "capped", "retry_after"}
		for i := range want {
			if reasons[i] != want[i] {
				t.Fatalf("reasons %v, want %v (lengths %v)", reasons, want, lengths)
			}
		}
	})
}

func TestCooldownIgnoresRateLimitsFromTheSameBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &batchllm.CooldownGate{Floor: time.Second}
		var started int
		g.ReportEvents(func(e batchllm.Event) {
			if e.Kind == batchllm.EventCooldownStarted {
				started++
			}
		})
		// Four attempts in flight together; all come back rate limited.
		var permits []batchllm.Permit
		for range 4 {
			p, _ := admitAt(t, g)
			permits = append(permits, p)
		}
		permits[0].Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota})
		permits[1].Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota})
		time.Sleep(5 * time.Second) // the cooldown is over
		permits[2].Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota})
		permits[3].Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota})
		if started != 1 {
			t.Fatalf("%d cooldowns from one burst, want 1", started)
		}
		if !g.CoolingUntil().IsZero() {
			t.Fatal("a straggler restarted the cooldown")
		}
	})
}

func TestCooldownAdmissionHonoursCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &batchllm.CooldownGate{}
		g.RateLimited(30 * time.Second)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := g.Admit(ctx, batchllm.Estimate{})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 2*time.Second {
			t.Fatalf("Admit = %v after %v", err, time.Since(start))
		}
		if until := g.CoolingUntil(); until != start.Add(30*time.Second) {
			t.Fatalf("cooling until %v", until)
		}
	})
}

func TestCooldownDefaultsAreModern(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &batchllm.CooldownGate{}
		if d := g.RateLimited(0); d != time.Second {
			t.Fatalf("default floor %v, want 1s", d)
		}
		time.Sleep(time.Second)
		if d := g.RateLimited(10 * time.Minute); d != time.Minute {
			t.Fatalf("default cap %v, want 1m", d)
		}
	})
}

func TestCooldownOnlyForTheQuota(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &batchllm.CooldownGate{}
		refuse := func(e batchllm.RateLimitEvidence, retryAfter time.Duration) {
			p, _ := admitAt(t, g)
			p.Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: e, RetryAfter: retryAfter})
		}
		succeed := func() {
			p, _ := admitAt(t, g)
			p.Release(batchllm.Outcome{})
		}
		// Capacity refusals never pause the others, however many.
		for range 50 {
			refuse(batchllm.EvidenceCapacity, time.Second)
		}
		if !g.CoolingUntil().IsZero() {
			t.Fatal("a capacity refusal started a cooldown")
		}
		// Bare 429s at 1 in 4 (8 of 32): random refusals, no cooldown.
		for i := range 64 {
			if i%4 == 0 {
				refuse(batchllm.EvidenceNone, time.Second)
			} else {
				succeed()
			}
		}
		if !g.CoolingUntil().IsZero() {
			t.Fatal("bare 429s at 25% started a cooldown")
		}
		// Then refusals in a row: the tenth of the last 32 is a quota's, and
		// its sub-second Retry-After is honoured as it is.
		for range 2 {
			refuse(batchllm.EvidenceNone, 250*time.Millisecond)
		}
		if !g.CoolingUntil().IsZero() {
			t.Fatal("9 bare 429s in 32 started a cooldown")
		}
		start := time.Now()
		refuse(batchllm.EvidenceNone, 250*time.Millisecond)
		if until := g.CoolingUntil(); !until.Equal(start.Add(250 * time.Millisecond)) {
			t.Fatalf("cooling until %v, want 250ms from now", until.Sub(start))
		}
	})
}

func TestBareRateLimitWaitsAloneAndIsNotAnAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.Latency = 100 * time.Millisecond
		m.RetryAfter = 3 * time.Second
		m.FailItem("i000", batchllmtest.BareRateLimit, batchllmtest.BareRateLimit)
		ct := newCallTimes()
		rec := &batchllmtest.Events{}
		p := newProc(t, config{Strategy: m, Workers: 2, Middleware: []batchllm.Middleware[string, string]{ct.middleware},
			Observers: []batchllm.Observer{rec},
			Retry:     batchllm.RetryPolicy{MaxAttempts: 1, NoJitter: true}})
		addN(t, p, 20)
		sum, err := p.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// i000 is refused at 0 and 3.1 s and succeeds at 6.2 s, each wait the
		// server's 3 s, parked: the other worker and the freed one run the
		// other 19 items meanwhile, 100 ms each, two at a time.
		if got, want := ct.of("i000"), []time.Duration{0, 3100 * time.Millisecond, 6200 * time.Millisecond}; !slices.Equal(got, want) {
			t.Fatalf("i000 called at %v, want %v", got, want)
		}
		if got := ct.of("i019"); len(got) != 1 || got[0] >= time.Second {
			t.Fatalf("i019 called at %v, want once within the first second", got)
		}
		r := sum.ByID()["i000"]
		if !r.OK() || r.Attempts != 3 || sum.Stats.Succeeded != 20 {
			t.Fatalf("i000 = %+v, %d succeeded; want success with MaxAttempts 1 and all 20 ok", r, sum.Stats.Succeeded)
		}
		if n := rec.Count(batchllm.EventCooldownStarted); n != 0 {
			t.Fatalf("%d cooldowns, want none", n)
		}
	})
}
