package ratelimit

import (
	"context"
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

// hookStore runs hook once, just before the first SetLevel it is asked
// for, to admit an attempt in the middle of a reading.
type hookStore struct {
	Store
	hook func()
}

func (h *hookStore) Scope(name string) ScopeStore { return &hookScope{h.Store.Scope(name), h} }

type hookScope struct {
	ScopeStore
	h *hookStore
}

func (s *hookScope) SetLevel(ctx context.Context, now time.Time, d Dim, n int64, raise bool) error {
	if f := s.h.hook; f != nil {
		s.h.hook = nil
		f()
	}
	return s.ScopeStore.SetLevel(ctx, now, d, n, raise)
}

// An attempt admitted while a reading raises the level is not lost: the
// level is set from a count that did not include it, and it is taken
// again.
func TestReadingKeepsAttemptsAdmittedMeanwhile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := &hookStore{Store: NewMemoryStore()}
		l := newLimiter(t, Config{Default: Limits{Requests: 600}, Store: hs})
		a := admit(t, l, est(0, 0))
		var b batchllm.Permit
		hs.hook = func() { b = admit(t, l, est(0, 0)) }
		a.Release(batchllm.Outcome{Limits: &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: 600, Remaining: 599}}})
		// 599 left when a was answered, and b admitted since.
		if st, _ := l.Stats().Scope("s"); st.Requests.Available != 598 {
			t.Fatalf("available %d, want 598: b, admitted while the reading was applied, must count", st.Requests.Available)
		}
		b.Release(batchllm.Outcome{})
	})
}

// The discount for earlier attempts never takes a reading into debt: a
// reading of nothing left counts them already.
func TestReadingOfNothingLeftIsNotDiscounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Default: Limits{Requests: 600}})
		a, b, c := admit(t, l, est(0, 0)), admit(t, l, est(0, 0)), admit(t, l, est(0, 0))
		c.Release(batchllm.Outcome{Limits: &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: 600, Remaining: 0}}})
		if st, _ := l.Stats().Scope("s"); st.Requests.Available != 0 {
			t.Fatalf("available %d after a reading of 0 with two earlier attempts in flight, want 0", st.Requests.Available)
		}
		a.Release(batchllm.Outcome{})
		b.Release(batchllm.Outcome{})
	})
}
