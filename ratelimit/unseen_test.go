package ratelimit

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

// A reading that raises the level is lowered by the attempts admitted
// before its own and still in flight, which the provider may not have seen
// yet; attempts admitted after it are subtracted as before, and a reading
// that lowers the level is taken as it is.
func TestReadingDiscountsEarlierAttemptsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Default: Limits{Requests: 600}}) // burst 50
		a, b := admit(t, l, est(0, 0)), admit(t, l, est(0, 0))
		c, d := admit(t, l, est(0, 0)), admit(t, l, est(0, 0))
		reading := func(remaining int64) batchllm.Outcome {
			return batchllm.Outcome{Limits: &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: 600, Remaining: remaining}}}
		}
		// c's answer: the provider saw only c (599 left); a and b are in
		// flight before it and d after it: 599 − 1 (d) − 2 (a, b).
		c.Release(reading(599))
		if st, _ := l.Stats().Scope("s"); st.Requests.Available != 596 {
			t.Fatalf("available %d after c's reading of 599, want 596 (less d admitted after it and a, b before it)", st.Requests.Available)
		}
		// a's answer lowers the level: taken as it is, less d (and b, c
		// admitted after a: c has ended, but its cost stays subtracted).
		a.Release(reading(10))
		if st, _ := l.Stats().Scope("s"); st.Requests.Available != 7 {
			t.Fatalf("available %d after a's reading of 10, want 7 (less b, c, d admitted after it)", st.Requests.Available)
		}
		time.Sleep(time.Second)
		b.Release(batchllm.Outcome{})
		d.Release(batchllm.Outcome{})
	})
}
