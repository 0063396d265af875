package ratelimit

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

func requestsInfo(limit, remaining int64) *batchllm.LimitInfo {
	return &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: limit, Remaining: remaining, Reset: time.Second}}
}

func TestLearnLimitFromHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{})
		start := time.Now()
		for range 10 {
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		}
		if time.Since(start) != 0 {
			t.Fatal("a limiter with no limits waited")
		}
		// The provider reports 60 requests per minute, none left.
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Limits: requestsInfo(60, 0)})
		st, _ := l.Stats().Scope("s")
		if st.Requests.Limit != 60 || st.Requests.Reported != 60 || st.Requests.Configured != 0 || st.Requests.Capacity != 5 {
			t.Fatalf("requests %+v, want a learned limit of 60 with a burst of 5", st.Requests)
		}
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		if got := time.Since(start); got != 2*time.Second {
			t.Fatalf("two admissions after learning took %v, want 2s (one per second from empty)", got)
		}
	})
}

func TestClampToRemaining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Default: Limits{Requests: 600}}) // burst 50, 10/s
		start := time.Now()
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Limits: requestsInfo(600, 2)})
		for range 3 {
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		}
		if got := time.Since(start); got != 100*time.Millisecond {
			t.Fatalf("3 admissions after a remaining of 2 took %v, want 100ms", got)
		}
		// A report above the local level never raises it.
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Limits: requestsInfo(600, 500)})
		if st, _ := l.Stats().Scope("s"); st.Requests.Available != 0 {
			t.Fatalf("available %d after a high remaining, want 0", st.Requests.Available)
		}
	})
}

func TestReportedLimitNeverRaisesConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Scopes: map[string]Limits{"low": {Requests: 60}, "high": {Requests: 6000}}})
		admit(t, l, batchllm.Estimate{Scope: "low"}).Release(batchllm.Outcome{Limits: requestsInfo(600, 599)})
		admit(t, l, batchllm.Estimate{Scope: "high"}).Release(batchllm.Outcome{Limits: requestsInfo(600, 599)})
		st := l.Stats()
		high, _ := st.Scope("high")
		low, _ := st.Scope("low")
		if low.Requests.Limit != 60 || low.Requests.Reported != 600 {
			t.Fatalf("low scope %+v, want the configured 60 kept", low.Requests)
		}
		if high.Requests.Limit != 600 || high.Requests.Capacity != 50 {
			t.Fatalf("high scope %+v, want the lower reported 600 with burst 50", high.Requests)
		}
	})
}

func TestNoAdapt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{NoAdapt: true, Default: Limits{Requests: 600}})
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Limits: &batchllm.LimitInfo{
			Requests: batchllm.LimitWindow{Limit: 60, Remaining: 0},
			Tokens:   batchllm.LimitWindow{Limit: 1000, Remaining: 0},
		}})
		st, _ := l.Stats().Scope("s")
		if st.Requests.Limit != 600 || st.Requests.Available != 49 || st.Tokens.Limit != 0 {
			t.Fatalf("stats %+v, want the reports ignored", st)
		}
	})
}

func TestLearnEveryDimension(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{})
		admit(t, l, est(10, 10)).Release(batchllm.Outcome{Limits: &batchllm.LimitInfo{
			Tokens:       batchllm.LimitWindow{Limit: 120000, Remaining: 100000},
			InputTokens:  batchllm.LimitWindow{Limit: 60000, Remaining: 1000},
			OutputTokens: batchllm.LimitWindow{Limit: 12000, Remaining: 12000},
		}})
		st, _ := l.Stats().Scope("s")
		got := [3]int64{st.Tokens.Available, st.InputTokens.Available, st.OutputTokens.Available}
		if want := [3]int64{10000, 1000, 1000}; got != want { // capacities 10000, 5000, 1000
			t.Fatalf("available tokens/input/output %v, want %v", got, want)
		}
		// Too large for a learned limit: fails at once.
		if _, err := l.Admit(t.Context(), est(10, 20000)); err == nil {
			t.Fatal("an attempt above the learned output limit was admitted")
		}
	})
}

func TestLimitLearnedWhileWaitingFailsTheHead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Default: Limits{Tokens: 6000}}) // burst 500, 100/s
		p := admit(t, l, est(500, 0))
		errs := make(chan error, 1)
		go func() {
			_, err := l.Admit(t.Context(), est(2000, 0)) // waits: 500 tokens first
			errs <- err
		}()
		synctest.Wait()
		// The provider says the limit is 1000: the waiting attempt can never
		// be admitted, and says so when it next looks.
		p.Release(batchllm.Outcome{Limits: &batchllm.LimitInfo{Tokens: batchllm.LimitWindow{Limit: 1000, Remaining: 0}}})
		err := <-errs
		var te *TooLargeError
		if !errors.As(err, &te) || te.Limit != 1000 {
			t.Fatalf("error %v, want a TooLargeError against the learned 1000", err)
		}
	})
}
