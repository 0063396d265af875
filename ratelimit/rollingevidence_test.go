package ratelimit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

// bucketServer is a provider's continuously refilled bucket of limit per
// window, as OpenAI and Anthropic count, and reports as they do: the
// remaining count rounded down, and the time until the bucket is full,
// rounded to the millisecond (OpenAI's durations) or, as an absolute time
// in whole seconds read against a clock skewed by skew (Anthropic's RFC
// 3339 resets), to the second.
type bucketServer struct {
	limit   int64
	window  time.Duration
	seconds bool
	skew    time.Duration
	level   float64
	last    time.Time
}

func (b *bucketServer) handle() (ok bool, li *batchllm.LimitInfo) {
	now := time.Now()
	b.level = min(float64(b.limit), b.level+float64(b.limit)*float64(now.Sub(b.last))/float64(b.window))
	b.last = now
	if ok = b.level >= 1; ok {
		b.level--
	}
	full := time.Duration(math.Ceil((float64(b.limit) - b.level) * float64(b.window) / float64(b.limit)))
	reset := full.Round(time.Millisecond)
	if b.seconds {
		at := now.Add(full + b.skew)
		reset = at.Truncate(time.Second).Add(time.Second).Sub(now)
	}
	// The window as the provider package derives it from the reading.
	return ok, &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: b.limit, Remaining: int64(b.level), Reset: reset, Window: b.window}}
}

// Readings of a bucket never switch a scope to a rolling window, whatever
// the limit, the window, the resolution of the reset, and how much of the
// bucket each reading finds used: runs at the limit, idle spells of random
// length and bursts, for a few minutes each.
func TestBucketReadingsNeverLookRolling(t *testing.T) {
	for _, c := range []struct {
		limit   int64
		window  time.Duration
		seconds bool
		skew    time.Duration
	}{
		{10, time.Second, false, 0}, {20, time.Second, false, 0}, {60, time.Minute, false, 0},
		{1000, time.Minute, false, 0}, {200, 10 * time.Second, false, 0},
		{10, time.Minute, true, 0}, {50, time.Minute, true, 0}, {4000, time.Minute, true, 0},
		{50, time.Minute, true, 3 * time.Second}, {50, time.Minute, true, -3 * time.Second},
	} {
		t.Run(fmt.Sprintf("%d per %v, seconds %v, skew %v", c.limit, c.window, c.seconds, c.skew), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := &bucketServer{limit: c.limit, window: c.window, seconds: c.seconds, skew: c.skew, level: float64(c.limit), last: time.Now()}
				l := newLimiter(t, Config{Ramp: NoRamp{}})
				rng := rand.New(rand.NewPCG(1, uint64(c.limit)))
				end := time.Now().Add(5 * c.window)
				var low, high int
				count := func(ok bool, li *batchllm.LimitInfo) {
					used := li.Requests.Limit - li.Requests.Remaining
					switch {
					case !ok:
					case used*5 >= li.Requests.Limit*4:
						high++
					case used*2 <= li.Requests.Limit:
						low++
					}
				}
				for time.Now().Before(end) {
					switch rng.IntN(4) {
					case 0: // an idle spell of up to a window
						time.Sleep(time.Duration(rng.Int64N(int64(c.window))))
					case 1: // a burst, released together
						var ps []batchllm.Permit
						for range 1 + rng.IntN(int(c.limit)) {
							ps = append(ps, admit(t, l, est(0, 0)))
						}
						for _, p := range ps {
							ok, li := srv.handle()
							count(ok, li)
							p.Release(outcomeOf(ok, li))
						}
					default: // one at a time, as fast as the limiter admits
						ok, li := srv.handle()
						count(ok, li)
						admit(t, l, est(0, 0)).Release(outcomeOf(ok, li))
					}
				}
				if st, _ := l.Stats().Scope("s"); st.Rolling {
					t.Fatalf("a bucket's readings switched the scope to a rolling window of %v (%d low readings, %d high)", st.RollingWindow, low, high)
				}
				if low < rollingReadings || high == 0 {
					t.Fatalf("%d low readings and %d high: the run does not test the rule", low, high)
				}
			})
		})
	}
}

func outcomeOf(ok bool, li *batchllm.LimitInfo) batchllm.Outcome {
	if ok {
		return batchllm.Outcome{Limits: li}
	}
	return batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota, Limits: li}
}

// A rolling window reports, after each request, a reset of a whole window
// whatever is used. Once rollingReadings such readings with at most half
// used have come with one nearly all used, the scope counts the rolling
// window: all of the limit at once, and the next wave when what the
// reading showed used has left the window and the margin.
func TestRollingReadingsSwitchTheScope(t *testing.T) {
	reading := func(remaining int64) batchllm.Outcome {
		return batchllm.Outcome{Limits: &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: 20, Remaining: remaining, Reset: time.Second}}}
	}
	rolling := func(l *Limiter) bool {
		st, _ := l.Stats().Scope("s")
		return st.Rolling
	}
	// Two low readings and a high one are not enough; a third low is.
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Ramp: NoRamp{}})
		for _, rem := range []int64{19, 18, 0} {
			admit(t, l, est(0, 0)).Release(reading(rem))
			if rolling(l) {
				t.Fatalf("rolling after the reading of %d remaining, with fewer than %d low readings", rem, rollingReadings)
			}
		}
		admit(t, l, est(0, 0)).Release(reading(17))
		if !rolling(l) {
			t.Fatalf("not rolling after %d low readings and a high one", rollingReadings)
		}
	})
	// Low readings alone are not enough either; with a high one after
	// them, the scope rolls, and what that reading showed used leaves the
	// window a window and the margin later.
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Ramp: NoRamp{}})
		for _, rem := range []int64{19, 18, 17, 16, 15} {
			admit(t, l, est(0, 0)).Release(reading(rem))
		}
		if rolling(l) {
			t.Fatal("rolling without a high reading")
		}
		admit(t, l, est(0, 0)).Release(reading(0))
		switched := time.Now()
		st, _ := l.Stats().Scope("s")
		if !st.Rolling || st.RollingWindow != time.Second || st.Requests.Window != time.Second || st.Requests.Capacity != 20 {
			t.Fatalf("after a high reading: %+v, want a rolling window of 20 per 1s, all of it at once", st)
		}
		ats := admitTimes(t, l, 21)
		for i, at := range ats {
			want := 1020 * time.Millisecond
			if i == 20 {
				want = 2040 * time.Millisecond
			}
			if got := at.Sub(switched); got != want {
				t.Fatalf("admission %d %v after the switch, want %v (a wave of 20, then the next)", i, got, want)
			}
		}
	})
}
