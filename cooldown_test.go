package batchllm_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
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
			o.Class = batchllm.ClassRateLimited
			p.Release(o)
			_, waited := admitAt(t, g)
			return waited
		}
		steps := []struct {
			o    batchllm.Outcome
			want time.Duration
		}{
			{batchllm.Outcome{}, 2 * time.Second},                             // the floor
			{batchllm.Outcome{RetryAfter: time.Second}, 6 * time.Second},      // floor × 3
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
		want := []string{"floor", "floor_multiplied", "capped", "retry_after"}
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
		permits[0].Release(batchllm.Outcome{Class: batchllm.ClassRateLimited})
		permits[1].Release(batchllm.Outcome{Class: batchllm.ClassRateLimited})
		time.Sleep(5 * time.Second) // the cooldown is over
		permits[2].Release(batchllm.Outcome{Class: batchllm.ClassRateLimited})
		permits[3].Release(batchllm.Outcome{Class: batchllm.ClassRateLimited})
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
