package ratelimit

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

func newLimiter(t *testing.T, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func est(in, out int64) batchllm.Estimate {
	return batchllm.Estimate{Scope: "s", InputTokens: in, MaxOutputTokens: out}
}

// admit admits e and fails the test on error.
func admit(t *testing.T, l *Limiter, e batchllm.Estimate) batchllm.Permit {
	t.Helper()
	p, err := l.Admit(t.Context(), e)
	if err != nil {
		t.Fatalf("Admit: %v", err)
	}
	return p
}

// admissions records when and in which order attempts were admitted.
type admissions struct {
	mu    sync.Mutex
	start time.Time
	order []string
	at    map[string]time.Duration
}

func newAdmissions() *admissions {
	return &admissions{start: time.Now(), at: map[string]time.Duration{}}
}

// goAdmit admits e in a new goroutine under the name id, records it, and
// releases with o at once unless hold is set. It waits until the goroutine
// is admitted or blocked, so that calls queue in program order.
func (a *admissions) goAdmit(t *testing.T, l *Limiter, id string, e batchllm.Estimate, o batchllm.Outcome) {
	go func() {
		p, err := l.Admit(t.Context(), e)
		if err != nil {
			t.Errorf("%s: Admit: %v", id, err)
			return
		}
		a.mu.Lock()
		a.order = append(a.order, id)
		a.at[id] = time.Since(a.start)
		a.mu.Unlock()
		p.Release(o)
	}()
	synctest.Wait()
}

func TestRefillAndBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 60 requests per minute with the default burst of 5 s: 5 at once,
		// then one per second.
		l := newLimiter(t, Config{Default: Limits{Requests: 60}})
		start := time.Now()
		var got []time.Duration
		for range 8 {
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
			got = append(got, time.Since(start))
		}
		want := []time.Duration{0, 0, 0, 0, 0, time.Second, 2 * time.Second, 3 * time.Second}
		if !slices.Equal(got, want) {
			t.Fatalf("admission times %v, want %v", got, want)
		}
		// A quiet spell refills the burst, and no more than the burst.
		time.Sleep(time.Minute)
		start = time.Now()
		got = got[:0]
		for range 7 {
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
			got = append(got, time.Since(start))
		}
		want = []time.Duration{0, 0, 0, 0, 0, time.Second, 2 * time.Second}
		if !slices.Equal(got, want) {
			t.Fatalf("after a quiet minute: admission times %v, want %v", got, want)
		}
	})
}

func TestBurstIsConfigurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 120 per 10 s window (12/s), burst 0.5 s = 6.
		l := newLimiter(t, Config{Default: Limits{Requests: 120, Window: 10 * time.Second, Burst: 500 * time.Millisecond}})
		start := time.Now()
		var got []time.Duration
		for range 8 {
			admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
			got = append(got, time.Since(start))
		}
		tick := time.Second/12 + 1 // 83.333… ms, rounded up to the nanosecond
		want := []time.Duration{0, 0, 0, 0, 0, 0, tick, 2*time.Second/12 + 1}
		if !slices.Equal(got, want) {
			t.Fatalf("admission times %v, want %v", got, want)
		}
	})
}

func TestEveryDimensionIsReservedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Per minute: tokens 6000 (burst 500, 100/s), input 3600 (burst
		// 300, 60/s), output 1200 (burst 100, 20/s).
		l := newLimiter(t, Config{Default: Limits{Tokens: 6000, InputTokens: 3600, OutputTokens: 1200}})
		start := time.Now()
		admit(t, l, est(200, 100)).Release(batchllm.Outcome{})
		// Left: tokens 200, input 100, output 0. The next (200 in, 50 out)
		// needs 250 tokens (0.5 s), 100 more input (1.67 s) and 50 output
		// (2.5 s): the slowest dimension decides.
		admit(t, l, est(200, 50)).Release(batchllm.Outcome{})
		if got, want := time.Since(start), 2500*time.Millisecond; got != want {
			t.Fatalf("second admission after %v, want %v", got, want)
		}
		st, _ := l.Stats().Scope("s")
		// At 2.5 s: tokens 200 + 250 − 250 = 200; input 100 + 150 − 200 = 50;
		// output 0 + 50 − 50 = 0.
		if st.Tokens.Available != 200 || st.InputTokens.Available != 50 || st.OutputTokens.Available != 0 {
			t.Fatalf("available tokens/input/output = %d/%d/%d, want 200/50/0",
				st.Tokens.Available, st.InputTokens.Available, st.OutputTokens.Available)
		}
		if st.Requests.Limit != 0 {
			t.Fatalf("requests limit %d, want none", st.Requests.Limit)
		}
	})
}

func TestFIFONoStarvation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 6000 tokens per minute: burst 500, 100 per second.
		l := newLimiter(t, Config{Default: Limits{Tokens: 6000}})
		a := newAdmissions()
		admit(t, l, est(500, 0)).Release(batchllm.Outcome{}) // empty the bucket
		time.Sleep(time.Second)                              // 100 tokens back
		a.goAdmit(t, l, "big", est(400, 0), batchllm.Outcome{})
		for _, id := range []string{"s1", "s2", "s3"} {
			a.goAdmit(t, l, id, est(10, 0), batchllm.Outcome{})
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		// The small attempts could start at once (100 tokens are there) if
		// they jumped the queue; they wait behind the big one, which needs
		// 300 more tokens, then take 0.1 s each.
		wantOrder := []string{"big", "s1", "s2", "s3"}
		if !slices.Equal(a.order, wantOrder) {
			t.Fatalf("order %v, want %v", a.order, wantOrder)
		}
		wantAt := map[string]time.Duration{"big": 4 * time.Second, "s1": 4100 * time.Millisecond, "s2": 4200 * time.Millisecond, "s3": 4300 * time.Millisecond}
		for id, w := range wantAt {
			if a.at[id] != w {
				t.Errorf("%s admitted at %v, want %v", id, a.at[id], w)
			}
		}
	})
}

func TestRefundAndDebt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{NoAdapt: true, Default: Limits{Tokens: 6000}}) // burst 500, 100/s; no calibration
		start := time.Now()
		// Reserve 400, use 150: 250 come back.
		admit(t, l, est(200, 200)).Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 100, OutputTokens: 50}})
		if st, _ := l.Stats().Scope("s"); st.Tokens.Available != 350 {
			t.Fatalf("after a refund: available %d, want 350", st.Tokens.Available)
		}
		// Reserve 300, use 650: 350 of debt beyond the reservation.
		admit(t, l, est(200, 100)).Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 250, OutputTokens: 400}})
		st, _ := l.Stats().Scope("s")
		if st.Tokens.Available != -300 || st.Tokens.Debt() != 300 {
			t.Fatalf("after debt: available %d debt %d, want -300 and 300", st.Tokens.Available, st.Tokens.Debt())
		}
		// The next attempt, even one with no tokens, waits for the debt.
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		if got := time.Since(start); got != 3*time.Second {
			t.Fatalf("admitted after %v, want 3s (300 tokens of debt at 100/s)", got)
		}
		// Unknown usage (zero) keeps the reservation.
		time.Sleep(5 * time.Second)
		admit(t, l, est(100, 100)).Release(batchllm.Outcome{Class: batchllm.ClassTransient})
		if st, _ := l.Stats().Scope("s"); st.Tokens.Available != 300 {
			t.Fatalf("after unknown usage: available %d, want 300", st.Tokens.Available)
		}
	})
}

func TestOutputChargedAtMaxIsNotRefunded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, atMax := range []bool{false, true} {
			l := newLimiter(t, Config{Default: Limits{Tokens: 6000, OutputTokens: 6000, OutputChargedAtMax: atMax}}) // burst 500
			// Reserve 200 in + 200 out; the answer uses 100 in + 50 out.
			admit(t, l, est(200, 200)).Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 100, OutputTokens: 50}})
			st, _ := l.Stats().Scope("s")
			wantTokens, wantOut := int64(350), int64(450) // 500 − 150, 500 − 50
			if atMax {
				wantTokens, wantOut = 200, 300 // 500 − (100 + 200), 500 − 200
			}
			if st.Tokens.Available != wantTokens || st.OutputTokens.Available != wantOut {
				t.Fatalf("atMax=%v: available tokens %d, output %d; want %d, %d", atMax, st.Tokens.Available, st.OutputTokens.Available, wantTokens, wantOut)
			}
			// Output beyond the maximum is still debt.
			admit(t, l, est(0, 10)).Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 1, OutputTokens: 30}})
			st2, _ := l.Stats().Scope("s")
			if got := st.OutputTokens.Available - st2.OutputTokens.Available; got != 30 {
				t.Fatalf("atMax=%v: 30 output tokens over a max of 10 cost %d", atMax, got)
			}
		}
	})
}

func TestCachedInputExempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := batchllm.Usage{InputTokens: 300, CachedInputTokens: 250, OutputTokens: 20}
		for _, exempt := range []bool{false, true} {
			l := newLimiter(t, Config{Default: Limits{InputTokens: 6000, CachedInputExempt: exempt}})
			admit(t, l, est(300, 100)).Release(batchllm.Outcome{Usage: u})
			st, _ := l.Stats().Scope("s")
			want := int64(200) // 500 − 300
			if exempt {
				want = 450 // only the 50 uncached tokens count
			}
			if st.InputTokens.Available != want {
				t.Errorf("exempt=%v: available input %d, want %d", exempt, st.InputTokens.Available, want)
			}
		}
	})
}

func TestTooLarge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Default: Limits{InputTokens: 1000, OutputTokens: 6000}})
		start := time.Now()
		_, err := l.Admit(t.Context(), est(1001, 10))
		if time.Since(start) != 0 {
			t.Fatal("an oversize attempt waited")
		}
		var ce *batchllm.ClassifiedError
		if !errors.As(err, &ce) || ce.Class != batchllm.ClassFatalItem {
			t.Fatalf("error %v, want a ClassifiedError of class fatal_item", err)
		}
		var te *TooLargeError
		if !errors.As(err, &te) || te.Dimension != "input tokens" || te.Cost != 1001 || te.Limit != 1000 || te.Window != time.Minute {
			t.Fatalf("error %#v, want a TooLargeError for 1001 input tokens of 1000", te)
		}
		if want := `ratelimit: attempt needs 1001 input tokens but scope "s" allows 1000 per 1m0s; it can never be admitted (lower the prompt or max output tokens)`; err.Error() != want {
			t.Fatalf("error text %q, want %q", err, want)
		}
		if batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassFatalItem {
			t.Fatal("the default classifier does not see fatal_item")
		}

		// Larger than the burst (83 input tokens) but within the limit: it
		// borrows when the bucket is full and leaves it in debt.
		admit(t, l, est(900, 0)).Release(batchllm.Outcome{})
		st, _ := l.Stats().Scope("s")
		if st.InputTokens.Available != 83-900 {
			t.Fatalf("available %d, want %d", st.InputTokens.Available, 83-900)
		}
		admit(t, l, est(900, 0)).Release(batchllm.Outcome{})
		// The bucket must be full (83) again: 900 tokens at 1000/min = 54 s.
		if got := time.Since(start); got != 54*time.Second {
			t.Fatalf("second large attempt after %v, want 54s", got)
		}
	})
}

func TestCancelWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Default: Limits{Requests: 60, Burst: time.Second}}) // 1 at once, 1/s
		admit(t, l, est(0, 0)).Release(batchllm.Outcome{})
		a := newAdmissions()
		// The head of the queue is cancelled after 300 ms; a queued one
		// behind it is cancelled too; the third is admitted when the first
		// would have been.
		ctxHead, cancelHead := context.WithCancel(t.Context())
		ctxMid, cancelMid := context.WithCancel(t.Context())
		errs := make(chan error, 2)
		var ended sync.Map
		for _, c := range []struct {
			id  string
			ctx context.Context
		}{{"head", ctxHead}, {"mid", ctxMid}} {
			go func() {
				_, err := l.Admit(c.ctx, est(0, 0))
				ended.Store(c.id, time.Since(a.start))
				errs <- err
			}()
			synctest.Wait()
		}
		a.goAdmit(t, l, "last", est(0, 0), batchllm.Outcome{})
		time.Sleep(300 * time.Millisecond)
		cancelMid()
		synctest.Wait()
		cancelHead()
		synctest.Wait()
		for range 2 {
			if err := <-errs; !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled Admit returned %v", err)
			}
		}
		for _, id := range []string{"head", "mid"} {
			if at, _ := ended.Load(id); at != 300*time.Millisecond {
				t.Errorf("%s returned at %v, want at once on cancel (300ms)", id, at)
			}
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if a.at["last"] != time.Second {
			t.Fatalf("last admitted at %v, want 1s", a.at["last"])
		}
		if st, _ := l.Stats().Scope("s"); st.Admitted != 2 || st.Waiting != 0 || st.InFlight != 0 {
			t.Fatalf("stats %+v, want 2 admitted and nobody waiting or in flight", st)
		}
	})
}

func TestScopesAreSeparate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{
			Scopes:  map[string]Limits{"a": {Requests: 12}}, // burst 1
			Default: Limits{Requests: 60},                   // burst 5, for each other scope
		})
		start := time.Now()
		for _, s := range []string{"a", "b", "c"} {
			admit(t, l, batchllm.Estimate{Scope: s}).Release(batchllm.Outcome{})
		}
		admit(t, l, batchllm.Estimate{Scope: "a"}).Release(batchllm.Outcome{})
		if got := time.Since(start); got != 5*time.Second {
			t.Fatalf("second attempt in scope a after %v, want 5s", got)
		}
		st := l.Stats()
		if len(st.Scopes) != 3 || st.Scopes[0].Scope != "a" || st.Scopes[0].Admitted != 2 || st.Scopes[1].Requests.Limit != 60 {
			t.Fatalf("stats %+v", st)
		}
		if st.Scopes[0].WaitTime != 5*time.Second {
			t.Fatalf("wait time %v, want 5s", st.Scopes[0].WaitTime)
		}
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Default: Limits{Requests: -1}},
		{Scopes: map[string]Limits{"x": {Window: -time.Second}}},
		{Default: Limits{Burst: -1}},
		{CooldownFloor: -1},
		{CooldownMultiplier: 0.5},
		{Ramp: &AIMD{Decrease: 1}},
		{Ramp: &LinearRamp{Items: -1}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted a bad config", cfg)
		}
	}
}

func TestReleaseTwiceIsHarmless(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Default: Limits{Requests: 60}})
		p := admit(t, l, est(0, 0))
		p.Release(batchllm.Outcome{})
		p.Release(batchllm.Outcome{})
		if st, _ := l.Stats().Scope("s"); st.InFlight != 0 {
			t.Fatalf("in flight %d after a double release, want 0", st.InFlight)
		}
	})
}
