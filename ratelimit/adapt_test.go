package ratelimit

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

// requestsInfo is a reading of a per-minute request limit (the window is
// left for the provider package to derive, so the Limiter assumes a
// minute).
func requestsInfo(limit, remaining int64) *batchllm.LimitInfo {
	return &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: limit, Remaining: remaining, Reset: time.Duration((limit - remaining) * int64(time.Minute) / limit)}}
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
		// A report above the local level raises it (the provider's opening
		// allowance), less what was admitted after the attempt it came with.
		p := admit(t, l, est(0, 0))
		time.Sleep(time.Second) // 10 more tokens
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		p.Release(batchllm.Outcome{Limits: requestsInfo(600, 500)})
		if st, _ := l.Stats().Scope("s"); st.Requests.Available != 498 {
			t.Fatalf("available %d after a remaining of 500 and 2 admitted since, want 498", st.Requests.Available)
		}
		// A configured limit below the provider's is not raised past.
		l2 := newLimiter(t, Config{Default: Limits{Requests: 60}}) // burst 5
		admit(t, l2, est(0, 0)).Release(batchllm.Outcome{Limits: requestsInfo(600, 500)})
		if st, _ := l2.Stats().Scope("s"); st.Requests.Available != 4 {
			t.Fatalf("available %d under a configured 60, want 4", st.Requests.Available)
		}
	})
}

func TestHeadersNeverLowerAConfiguredLimitButRefusalsDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logged strings.Builder
		log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
		l := newLimiter(t, Config{Logger: log, Ramp: NoRamp{}, Scopes: map[string]Limits{"low": {Requests: 60}, "high": {Requests: 6000}}})
		admit(t, l, batchllm.Estimate{Scope: "low"}).Release(batchllm.Outcome{Limits: requestsInfo(600, 599)})
		admit(t, l, batchllm.Estimate{Scope: "high"}).Release(batchllm.Outcome{Limits: requestsInfo(600, 599)})
		st := l.Stats()
		high, _ := st.Scope("high")
		low, _ := st.Scope("low")
		if low.Requests.Limit != 60 || low.Requests.Reported != 600 {
			t.Fatalf("low scope %+v, want the configured 60 kept", low.Requests)
		}
		if high.Requests.Limit != 6000 || high.Requests.Reported != 600 {
			t.Fatalf("high scope %+v, want the configured 6000 kept on a header reading alone", high.Requests)
		}
		// A quota refusal with nothing left proves 6000 too high: the
		// reported 600 is enforced, and the run says so once.
		for range 2 {
			admit(t, l, batchllm.Estimate{Scope: "high"}).Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, Evidence: batchllm.EvidenceQuota, Limits: requestsInfo(600, 0)})
		}
		high, _ = l.Stats().Scope("high")
		if high.Requests.Limit != 600 || high.Requests.Capacity != 50 {
			t.Fatalf("high scope %+v after refusals, want the reported 600 with burst 50", high.Requests)
		}
		want := `level=WARN msg="ratelimit: scope \"high\": the provider refused requests under the configured limit of 6000 requests per 1m0s; it reports 600 per 1m0s, which is enforced from now on"` + "\n"
		if logged.String() != want {
			t.Fatalf("logged %q, want %q", logged.String(), want)
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
		// What the provider says remains, above the burst (capacities 10000,
		// 5000, 1000): its opening allowance.
		if want := [3]int64{100000, 1000, 12000}; got != want {
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
		l := newLimiter(t, Config{Default: Limits{Requests: 12}}) // burst 1, one per 5 s
		p := admit(t, l, est(500, 0))
		errs := make(chan error, 1)
		go func() {
			_, err := l.Admit(t.Context(), est(2000, 0)) // waits for a request
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

// A reading that shows its window (the provider package derives it from
// limit, remaining and reset) sets the refill rate: 20 per second is not
// 20 per minute.
func TestLearnTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		perSecond := &batchllm.LimitInfo{Requests: batchllm.LimitWindow{Limit: 20, Remaining: 0, Reset: time.Second, Window: time.Second}}
		l := newLimiter(t, Config{Ramp: NoRamp{}})
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{Limits: perSecond})
		st, _ := l.Stats().Scope("s")
		if st.Requests.Limit != 20 || st.Requests.Window != time.Second || st.Requests.ReportedWindow != time.Second {
			t.Fatalf("requests %+v, want 20 per second", st.Requests)
		}
		start := time.Now()
		for range 3 {
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		}
		if got := time.Since(start); got != 150*time.Millisecond {
			t.Fatalf("3 admissions from empty took %v, want 150ms (20 per second)", got)
		}
		// The user's 1200 a minute is the same rate: it stays, and runs at
		// 20 per second too.
		told := newLimiter(t, Config{Ramp: NoRamp{}, Default: Limits{Requests: 1200}})
		admit(t, told, est(0, 0)).Release(batchllm.Outcome{Limits: perSecond})
		st, _ = told.Stats().Scope("s")
		if st.Requests.Limit != 1200 || st.Requests.Window != time.Minute || st.Requests.Reported != 20 {
			t.Fatalf("requests %+v, want the configured 1200 a minute kept", st.Requests)
		}
		start = time.Now()
		for range 3 {
			admit(t, told, est(0, 0)).Release(batchllm.Outcome{})
		}
		if got := time.Since(start); got != 150*time.Millisecond {
			t.Fatalf("3 admissions from empty took %v, want 150ms", got)
		}
	})
}

// OpenAI's usage reports the tokenizer's count of a prompt, but its limiter
// charges an estimate of its own (llmsim.ProviderConfig.LimitTokenFactor
// cites the documentation). The usage cannot show that difference; the
// remaining-tokens header does, and the bucket follows the header, not the
// reconciliation with the usage.
func TestTokenLevelFollowsTheChargeNotTheUsage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Default: Limits{Tokens: 60000, OutputChargedAtMax: true}}) // 1000/s, burst 5000
		first := admit(t, l, est(100, 50))
		second := admit(t, l, est(100, 50))
		// The provider charged the first attempt 125 prompt tokens (not
		// the 100 its usage reports) plus its 50 maximum output tokens,
		// and other work of the same key had spent the rest but 1175.
		first.Release(batchllm.Outcome{
			Usage:  batchllm.Usage{InputTokens: 100, OutputTokens: 10},
			Limits: &batchllm.LimitInfo{Tokens: batchllm.LimitWindow{Limit: 60000, Remaining: 1000}},
		})
		st, _ := l.Stats().Scope("s")
		// The reading less the 150 of the attempt admitted after it; by
		// the usage alone the bucket would hold 5000 − 300.
		if st.Tokens.Available != 850 {
			t.Fatalf("available tokens %d, want 850 (the header's 1000 less the 150 admitted since)", st.Tokens.Available)
		}
		second.Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 100, OutputTokens: 10}})
		if r := l.TokenRatios()["scope:s"]; r != 1 {
			t.Fatalf("token ratio %v, want 1: the usage agreed with the estimate", r)
		}
	})
}
