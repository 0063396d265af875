package ratelimit

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

// slidingWindowServer is a provider that allows limit requests in any
// window of the given length (the strictest common model) and reports its
// limit and remaining count as OpenAI does.
type slidingWindowServer struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	log    []time.Time // accepted requests in the current window
}

func (s *slidingWindowServer) handle() (ok bool, li *batchllm.LimitInfo, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	i := 0
	for i < len(s.log) && now.Sub(s.log[i]) >= s.window {
		i++
	}
	s.log = s.log[i:]
	if len(s.log) >= s.limit {
		wait := s.log[0].Add(s.window).Sub(now)
		return false, &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: int64(s.limit), Remaining: 0, Reset: wait}}, wait
	}
	s.log = append(s.log, now)
	reset := s.log[0].Add(s.window).Sub(now)
	return true, &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: int64(s.limit), Remaining: int64(s.limit - len(s.log)), Reset: reset}}, 0
}

// TestConvergesWithoutConfiguredLimits runs 32 workers with no limit told
// to the gate against a provider that allows 600 requests a minute, and
// checks that the gate finds the limit, from the headers or, without them,
// from the 429s alone: at most 2% of requests are refused, and after the
// first minute it runs at 90% of the limit or more.
func TestConvergesWithoutConfiguredLimits(t *testing.T) {
	for _, headers := range []bool{true, false} {
		t.Run(map[bool]string{true: "headers", false: "429s only"}[headers], func(t *testing.T) {
			testConverges(t, headers)
		})
	}
}

func testConverges(t *testing.T, headers bool) {
	synctest.Test(t, func(t *testing.T) {
		const (
			workers = 32
			items   = 3000
			latency = 300 * time.Millisecond
		)
		srv := &slidingWindowServer{limit: 600, window: time.Minute}
		l := newLimiter(t, Config{})
		var next, refused, done atomic.Int64
		var afterFirstMinute atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for next.Add(1) <= items {
					for {
						p, err := l.Admit(t.Context(), batchllm.Estimate{Scope: "s"})
						if err != nil {
							t.Error(err)
							return
						}
						time.Sleep(latency)
						ok, li, ra := srv.handle()
						if !headers {
							li = nil // like Gemini
						}
						if ok {
							p.Release(batchllm.Outcome{Limits: li})
							break
						}
						refused.Add(1)
						p.Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota, RetryAfter: ra, Limits: li})
					}
					done.Add(1)
					if time.Since(start) >= time.Minute {
						afterFirstMinute.Add(1)
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		steady := float64(afterFirstMinute.Load()) / (elapsed - time.Minute).Minutes()
		t.Logf("%d items in %v, %d refused (%.2f%%), %.1f requests/min after the first minute",
			done.Load(), elapsed, refused.Load(), 100*float64(refused.Load())/float64(items+refused.Load()), steady)
		if r := refused.Load(); r > items*2/100 {
			t.Errorf("%d requests refused, more than 2%% of %d", r, items)
		}
		if steady < 0.9*600 {
			t.Errorf("%.1f requests per minute after the first minute, want ≥ 90%% of 600", steady)
		}
		if st, _ := l.Stats().Scope("s"); headers && st.Requests.Limit != 600 {
			t.Errorf("learned limit %d, want 600", st.Requests.Limit)
		}
	})
}
