package ratelimit

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchllmtest"
)

func TestCooldownLength(t *testing.T) {
	tokens := func(limit, remaining int64, reset time.Duration) *batchllm.LimitInfo {
		return &batchllm.LimitInfo{Tokens: batchllm.LimitWindow{Limit: limit, Remaining: remaining, Reset: reset}}
	}
	for _, c := range []struct {
		name       string
		cfg        Config
		o          batchllm.Outcome
		want       time.Duration
		wantReason string
	}{
		{"no signal: the floor", Config{}, batchllm.Outcome{}, time.Second, "floor"},
		{"configured floor", Config{CooldownFloor: 3 * time.Second}, batchllm.Outcome{}, 3 * time.Second, "floor"},
		{"a server wait below the configured floor", Config{CooldownFloor: 3 * time.Second}, batchllm.Outcome{RetryAfter: 2 * time.Second}, 2 * time.Second, "retry_after"},
		{"retry-after", Config{}, batchllm.Outcome{RetryAfter: 3 * time.Second}, 3 * time.Second, "retry_after"},
		{"retry-after-ms below the floor, honoured", Config{}, batchllm.Outcome{RetryAfter: 400 * time.Millisecond}, 400 * time.Millisecond, "retry_after"},
		{"Gemini retryDelay", Config{}, batchllm.Outcome{Limits: &batchllm.LimitInfo{RetryAfter: 26 * time.Second}}, 26 * time.Second, "retry_after"},
		// 1000 tokens per window, all used, refilled in 30 s: the refused
		// attempt's 500 tokens are back in 15 s.
		{"reset header, proportional", Config{}, batchllm.Outcome{RetryAfter: 2 * time.Second, Limits: tokens(1000, 0, 30*time.Second)}, 15 * time.Second, "retry_after"},
		{"reset header, full", Config{FullResetWait: true}, batchllm.Outcome{RetryAfter: 2 * time.Second, Limits: tokens(1000, 0, 30*time.Second)}, 30 * time.Second, "retry_after"},
		{"reset of a limit not exhausted", Config{FullResetWait: true}, batchllm.Outcome{RetryAfter: 2 * time.Second, Limits: tokens(1000, 1, 30*time.Second)}, 2 * time.Second, "retry_after"},
		{"requests reset", Config{}, batchllm.Outcome{Limits: &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: 10, Remaining: 0, Reset: 40 * time.Second}}}, 4 * time.Second, "retry_after"},
		{"the cap", Config{}, batchllm.Outcome{RetryAfter: 5 * time.Minute}, time.Minute, "capped"},
		{"configured cap", Config{CooldownMax: 10 * time.Second}, batchllm.Outcome{Limits: &batchllm.LimitInfo{RetryAfter: 20 * time.Second}}, 10 * time.Second, "capped"},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c.cfg.Ramp = NoRamp{}
				c.cfg.NoAdapt = true
				l := newLimiter(t, c.cfg)
				var ev batchllmtest.Events
				defer l.ReportEvents(ev.OnEvent)()
				start := time.Now()
				o := c.o
				o.Class, o.Evidence = batchllm.ClassRateLimited, batchllm.EvidenceQuota
				admit(t, l, est(400, 100)).Release(o)
				p := admit(t, l, est(400, 100))
				if got := time.Since(start); got != c.want {
					t.Fatalf("next admission after %v, want %v", got, c.want)
				}
				p.Release(batchllm.Outcome{})
				synctest.Wait() // the end-of-cooldown event
				got := ev.All()
				if len(got) != 2 || got[0].Kind != batchllm.EventCooldownStarted || got[0].Duration != c.want || got[0].Reason != c.wantReason ||
					got[1].Kind != batchllm.EventCooldownEnded || got[1].Duration != c.want || !got[1].Time.Equal(start.Add(c.want)) {
					t.Fatalf("events %+v, want started and ended with duration %v and reason %q", got, c.want, c.wantReason)
				}
			})
		})
	}
}

func TestCooldownMultiplierAndReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Ramp: NoRamp{}, CooldownMultiplier: 3, NoAdapt: true})
		limited := batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota}
		var got []time.Duration
		step := func(o batchllm.Outcome) {
			start := time.Now()
			admit(t, l, est(0, 0)).Release(o)
			got = append(got, time.Since(start))
		}
		for range 4 {
			step(limited) // consecutive: 1 s, 3 s, 9 s, 27 s
		}
		step(batchllm.Outcome{}) // waits out the last cooldown, then succeeds
		step(limited)            // the success reset the multiplier
		step(batchllm.Outcome{})
		want := []time.Duration{0, time.Second, 3 * time.Second, 9 * time.Second, 27 * time.Second, 0, time.Second}
		if !slices.Equal(got, want) {
			t.Fatalf("waits %v, want %v", got, want)
		}
		// The cap applies to the multiplied length.
		l2 := newLimiter(t, Config{Ramp: NoRamp{}, CooldownMax: 5 * time.Second, NoAdapt: true})
		start := time.Now()
		for range 5 {
			admit(t, l2, est(0, 0)).Release(limited) // 1, 2, 4, then 5 capped
		}
		admit(t, l2, est(0, 0)).Release(batchllm.Outcome{})
		if got := time.Since(start); got != 1*time.Second+2*time.Second+4*time.Second+5*time.Second+5*time.Second {
			t.Fatalf("capped cooldowns took %v, want 17s", got)
		}
		if st, _ := l2.Stats().Scope("s"); st.Cooldowns != 5 || st.CooldownTime != 17*time.Second {
			t.Fatalf("stats: %d cooldowns, %v, want 5 and 17s", st.Cooldowns, st.CooldownTime)
		}
	})
}

func TestOneCooldownPerBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Ramp: NoRamp{}, NoAdapt: true})
		p1, p2, p3 := admit(t, l, est(0, 0)), admit(t, l, est(0, 0)), admit(t, l, est(0, 0))
		start := time.Now()
		p1.Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota, RetryAfter: 2 * time.Second})
		time.Sleep(2500 * time.Millisecond)
		// p2 and p3 were admitted before the cooldown: their rate limits are
		// part of the same burst and start nothing, even after it ended.
		p2.Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota, RetryAfter: 10 * time.Second})
		p3.Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota, RetryAfter: 10 * time.Second})
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		if got := time.Since(start); got != 2500*time.Millisecond {
			t.Fatalf("admitted after %v, want 2.5s (no second cooldown)", got)
		}
		if st, _ := l.Stats().Scope("s"); st.Cooldowns != 1 {
			t.Fatalf("%d cooldowns, want 1", st.Cooldowns)
		}
	})
}

func TestCooldownStopsTheQueueHead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One request per second, burst 1: the head waits for refill when a
		// cooldown begins; it must then wait for the cooldown too.
		l := newLimiter(t, Config{Ramp: NoRamp{}, Default: Limits{Requests: 60, Burst: time.Second}})
		a := newAdmissions()
		p := admit(t, l, est(0, 0))
		a.goAdmit(t, l, "head", est(0, 0), batchllm.Outcome{})
		a.goAdmit(t, l, "next", est(0, 0), batchllm.Outcome{})
		time.Sleep(500 * time.Millisecond)
		p.Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota, RetryAfter: 5 * time.Second})
		time.Sleep(time.Minute)
		synctest.Wait()
		if a.at["head"] != 5500*time.Millisecond || a.at["next"] != 6500*time.Millisecond {
			t.Fatalf("admitted at %v, want head at 5.5s and next at 6.5s", a.at)
		}
	})
}

func TestLinearRamp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{NoAdapt: true, Ramp: &LinearRamp{Items: 4, InitialDelay: 2 * time.Second, FinalDelay: 500 * time.Millisecond}})
		start := time.Now()
		// Before any cooldown there is no ramp.
		for range 3 {
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		}
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota}) // 1 s cooldown
		var got []time.Duration
		for range 6 {
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
			got = append(got, time.Since(start))
		}
		// Spacing after the cooldown's end at 1 s: 2 s, 1.625 s, 1.25 s,
		// 0.875 s, then none.
		want := []time.Duration{3 * time.Second, 4625 * time.Millisecond, 5875 * time.Millisecond, 6750 * time.Millisecond, 6750 * time.Millisecond, 6750 * time.Millisecond}
		if !slices.Equal(got, want) {
			t.Fatalf("admissions at %v, want %v", got, want)
		}
		// The ramp paces all workers together: two waiting at once are
		// spaced too.
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota}) // 1 s again
		a := newAdmissions()
		a.goAdmit(t, l, "w1", est(0, 0), batchllm.Outcome{})
		a.goAdmit(t, l, "w2", est(0, 0), batchllm.Outcome{})
		time.Sleep(time.Minute)
		synctest.Wait()
		if a.at["w1"] != 3*time.Second || a.at["w2"] != 4625*time.Millisecond {
			t.Fatalf("concurrent workers admitted at %v, want 3s and 4.625s", a.at)
		}
	})
}

func TestLinearRampDefaults(t *testing.T) {
	r, err := LinearRamp{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	// The Python library's numbers: k=0 → 2 s, k=25 → 1.05 s, k=45 → 0.29 s.
	for k, want := range map[int]time.Duration{0: 2 * time.Second, 25: 1050 * time.Millisecond, 45: 290 * time.Millisecond, 49: 138 * time.Millisecond} {
		if got := r.delay(k); got != want {
			t.Errorf("delay(%d) = %v, want %v", k, got, want)
		}
	}
}

func TestAIMD(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{NoAdapt: true}) // AIMD by default
		var held []batchllm.Permit
		for range 8 {
			held = append(held, admit(t, l, est(0, 0)))
		}
		if st, _ := l.Stats().Scope("s"); st.Concurrency != 0 {
			t.Fatalf("concurrency limit %v before any rate limit, want none", st.Concurrency)
		}
		held[0].Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota}) // 8 in flight → limit 4
		if st, _ := l.Stats().Scope("s"); st.Concurrency != 4 {
			t.Fatalf("concurrency limit %v after a rate limit with 8 in flight, want 4", st.Concurrency)
		}
		time.Sleep(time.Second) // the cooldown
		a := newAdmissions()
		a.goAdmit(t, l, "new", est(0, 0), batchllm.Outcome{})
		// 7 in flight: "new" waits until fewer than 4 are.
		for i := 1; i <= 4; i++ {
			if len(a.order) != 0 {
				t.Fatalf("admitted with %d in flight", 8-i)
			}
			held[i].Release(batchllm.Outcome{})
			synctest.Wait()
		}
		if len(a.order) != 1 {
			t.Fatal("not admitted with 3 in flight")
		}
		// Five successes at the limit (the four and "new" itself) added
		// 1/4 + 1/4.25 + 1/4.49 + 1/4.71 + 1/4.92 ≈ 1.12.
		st, _ := l.Stats().Scope("s")
		if st.Concurrency < 5.1 || st.Concurrency > 5.2 {
			t.Fatalf("concurrency limit %v, want about 5.12", st.Concurrency)
		}
		for _, p := range held[5:] {
			p.Release(batchllm.Outcome{})
		}
		var more []batchllm.Permit
		for range 5 {
			more = append(more, admit(t, l, est(0, 0)))
		}
		a.goAdmit(t, l, "sixth", est(0, 0), batchllm.Outcome{})
		if len(a.order) != 1 {
			t.Fatal("a 6th attempt was admitted under a limit of 5")
		}
		more[0].Release(batchllm.Outcome{})
		synctest.Wait()
		if len(a.order) != 2 {
			t.Fatal("the 6th attempt was not admitted when one ended")
		}
		for _, p := range more[1:] {
			p.Release(batchllm.Outcome{})
		}
	})
}

func TestEventsReachEverySubscriberUntilUnsubscribed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Ramp: NoRamp{}, NoAdapt: true})
		var a, b batchllmtest.Events
		unsubA := l.ReportEvents(a.OnEvent)
		unsubB := l.ReportEvents(b.OnEvent)
		// Two scopes, one cooldown each.
		admit(t, l, batchllm.Estimate{Scope: "x"}).Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota})
		admit(t, l, batchllm.Estimate{Scope: "y"}).Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota, RetryAfter: 3 * time.Second})
		time.Sleep(2 * time.Second) // x's cooldown has ended, y's has not
		synctest.Wait()
		unsubB()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		unsubA()
		kinds := func(ev []batchllm.Event) (started, ended int) {
			for _, e := range ev {
				switch e.Kind {
				case batchllm.EventCooldownStarted:
					started++
				case batchllm.EventCooldownEnded:
					ended++
				}
			}
			return started, ended
		}
		if s, e := kinds(a.All()); s != 2 || e != 2 {
			t.Errorf("subscriber a saw %d starts and %d ends, want 2 and 2", s, e)
		}
		if s, e := kinds(b.All()); s != 2 || e != 1 {
			t.Errorf("subscriber b saw %d starts and %d ends, want 2 and 1 (unsubscribed before y ended)", s, e)
		}
	})
}

func TestRampCountsFromTheEndOfACooldownWaitedAtTheHead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{NoAdapt: true, Default: Limits{Requests: 60, Burst: time.Second},
			Ramp: &LinearRamp{Items: 1, InitialDelay: 2 * time.Second, FinalDelay: 2 * time.Second}})
		start := time.Now()
		p := admit(t, l, est(0, 0))
		// b waits for refill at the head, sees the cooldown begin, and gives
		// up while it lasts.
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := l.Admit(ctx, est(0, 0))
			done <- err
		}()
		synctest.Wait()
		p.Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota}) // cooldown until 1 s
		synctest.Wait()
		time.Sleep(200 * time.Millisecond)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Admit: %v", err)
		}
		// a arrives during the cooldown with nobody ahead: after it, the ramp
		// spaces it 2 s from the cooldown's end.
		time.Sleep(300 * time.Millisecond)
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		if got := time.Since(start); got != 3*time.Second {
			t.Fatalf("admitted at %v, want 3s", got)
		}
	})
}
