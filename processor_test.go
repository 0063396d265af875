package batchllm_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchllmtest"
)

func TestRunReturnsEveryResultWithItsOwnOutputAndContext(t *testing.T) {
	m := echo()
	p := newProc(t, config{Strategy: m, Workers: 8})
	addN(t, p, 200)
	sum, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Results) != 200 || m.Calls() != 200 {
		t.Fatalf("results=%d calls=%d, want 200 each", len(sum.Results), m.Calls())
	}
	for _, r := range sum.Results {
		if !r.OK() || r.Output != "out:"+fmt.Sprint(r.Context) || r.ItemID != fmt.Sprintf("i%03d", r.Context) {
			t.Fatalf("result %+v does not belong to its item", r)
		}
		if r.Attempts != 1 || r.Usage != (batchllm.Usage{InputTokens: 10, OutputTokens: 5}) {
			t.Fatalf("result %+v: want 1 attempt and the mock's usage", r)
		}
	}
	st := sum.Stats
	if st.Added != 200 || st.Finished != 200 || st.Succeeded != 200 || st.Failed != 0 || st.Attempts != 200 || st.Retries != 0 {
		t.Fatalf("stats %+v", st)
	}
	if st.Usage.InputTokens != 2000 || st.Usage.OutputTokens != 1000 {
		t.Fatalf("usage %+v, want 2000/1000", st.Usage)
	}
	if m.PeakConcurrency() > 8 {
		t.Fatalf("peak concurrency %d > 8 workers", m.PeakConcurrency())
	}
}

func TestAddRejectsBadItems(t *testing.T) {
	p := newProc(t, config{})
	ctx := t.Context()
	for _, id := range []string{"", "   ", "\t\n"} {
		if err := p.Add(ctx, item{ID: id, Strategy: echo()}); err == nil || !strings.Contains(err.Error(), "empty") {
			t.Errorf("Add(ID %q) = %v, want an 'empty' error", id, err)
		}
	}
	if err := p.Add(ctx, item{ID: "a"}); err == nil || !strings.Contains(err.Error(), "no strategy") {
		t.Errorf("Add without strategy = %v", err)
	}
	if err := p.Add(ctx, item{ID: "a", Strategy: echo()}); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(ctx, item{ID: "a", Strategy: echo()}); err == nil || !strings.Contains(err.Error(), `"a"`) || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate Add = %v, want an error naming the ID", err)
	}
	p.Finish()
	if err := p.Add(ctx, item{ID: "b", Strategy: echo()}); !errors.Is(err, batchllm.ErrClosed) {
		t.Errorf("Add after Finish = %v, want ErrClosed", err)
	}
	sum, err := p.Run(ctx)
	if err != nil || len(sum.Results) != 1 {
		t.Fatalf("Run = %d results, %v", len(sum.Results), err)
	}
	if _, err := p.Run(ctx); !errors.Is(err, batchllm.ErrClosed) {
		t.Errorf("second Run err = %v, want ErrClosed", err)
	}
}

// With UniqueIDs the caller vouches for its IDs: a repeat is not refused,
// and both items run.
func TestUniqueIDsTrustsTheCaller(t *testing.T) {
	p := newProc(t, config{UniqueIDs: true})
	ctx := t.Context()
	for range 2 {
		if err := p.Add(ctx, item{ID: "a", Strategy: echo()}); err != nil {
			t.Fatalf("Add = %v, want nil under UniqueIDs", err)
		}
	}
	p.Finish()
	sum, err := p.Run(ctx)
	if err != nil || len(sum.Results) != 2 {
		t.Fatalf("Run = %d results, %v; want 2", len(sum.Results), err)
	}
	for _, r := range sum.Results {
		if r.ItemID != "a" || r.Err != nil {
			t.Errorf("result %q err %v, want a, nil", r.ItemID, r.Err)
		}
	}
}

// The anchor deadlocks when more items than the queue holds are added before
// the run; here Add never blocks before the run starts.
func TestBoundedQueueDoesNotDeadlockBeforeRun(t *testing.T) {
	p := newProc(t, config{Strategy: echo(), Workers: 1, QueueSize: 1})
	addN(t, p, 50)
	sum, err := p.Run(t.Context())
	if err != nil || len(sum.Results) != 50 {
		t.Fatalf("got %d results, err %v", len(sum.Results), err)
	}
}

func TestAddBlocksWhenQueueIsFullDuringRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.Latency = time.Second
		p := newProc(t, config{Strategy: m, Workers: 1, QueueSize: 2})
		var got []string
		done := make(chan struct{})
		go func() {
			for r := range p.Results(t.Context()) {
				got = append(got, r.ItemID)
			}
			close(done)
		}()
		synctest.Wait() // the run has started: Add now applies backpressure
		var added atomic.Int32
		go func() {
			for i := range 10 {
				if err := p.Add(t.Context(), item{ID: fmt.Sprint(i)}); err != nil {
					t.Error(err)
				}
				added.Add(1)
			}
			p.Finish()
		}()
		synctest.Wait()
		// One item in the worker, two in the queue: the fourth Add blocks.
		if n := added.Load(); n != 3 {
			t.Fatalf("added %d before the first call ended, want 3", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := added.Load(); n != 4 {
			t.Fatalf("after one call, added %d, want 4", n)
		}
		<-done
		if len(got) != 10 {
			t.Fatalf("%d results", len(got))
		}
		want := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
		if !slices.Equal(got, want) {
			t.Fatalf("one worker must keep the order: %v", got)
		}
	})
}

func TestTransientErrorsBackOffExponentially(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.FailItem("a", batchllmtest.Transient, batchllmtest.Overloaded, batchllmtest.Transient)
		ct := newCallTimes()
		p := newProc(t, config{Strategy: m, Workers: 1, Middleware: []batchllm.Middleware[string, string]{ct.middleware},
			Retry: batchllm.RetryPolicy{MaxAttempts: 4, InitialWait: time.Second, Multiplier: 3, MaxWait: 5 * time.Second, NoJitter: true}})
		r := runOne(t, p, "a")
		if !r.OK() || r.Attempts != 4 {
			t.Fatalf("result %+v, want success on attempt 4", r)
		}
		// Waits 1 s, 3 s, then 9 s capped at 5 s.
		want := []time.Duration{0, time.Second, 4 * time.Second, 9 * time.Second}
		if got := ct.of("a"); !slices.Equal(got, want) {
			t.Fatalf("attempts began at %v, want %v", got, want)
		}
		if r.Usage.InputTokens != 10 {
			t.Fatalf("usage %+v: failed attempts without an answer report none", r.Usage)
		}
		if p.Stats().Retries != 3 || p.Stats().Attempts != 4 {
			t.Fatalf("stats %+v", p.Stats())
		}
	})
}

func TestJitterKeepsWaitsBetweenHalfAndFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ct := newCallTimes()
		m := echo()
		for i := range 50 {
			m.FailItem(fmt.Sprint(i), batchllmtest.Transient)
		}
		p := newProc(t, config{Strategy: m, Workers: 50, Middleware: []batchllm.Middleware[string, string]{ct.middleware},
			Retry: batchllm.RetryPolicy{InitialWait: 2 * time.Second}})
		for i := range 50 {
			p.Add(t.Context(), item{ID: fmt.Sprint(i)})
		}
		if _, err := p.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		distinct := map[time.Duration]bool{}
		for i := range 50 {
			ts := ct.of(fmt.Sprint(i))
			w := ts[1] - ts[0]
			if w < time.Second || w > 2*time.Second {
				t.Fatalf("item %d waited %v, want within [1s, 2s]", i, w)
			}
			distinct[w] = true
		}
		if len(distinct) < 10 {
			t.Fatalf("only %d distinct waits among 50: no jitter", len(distinct))
		}
	})
}

func TestServerRetryAfterLengthensTheBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ct := newCallTimes()
		calls := 0
		s := batchllm.StrategyFunc[string, string](func(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
			calls++
			if calls == 1 {
				return batchllm.Response[string]{}, batchllm.Classified(errors.New("503"), batchllm.ClassOverloaded, 7*time.Second)
			}
			return batchllm.Response[string]{Output: "ok"}, nil
		})
		p := newProc(t, config{Strategy: s, Middleware: []batchllm.Middleware[string, string]{ct.middleware}, Retry: batchllm.RetryPolicy{NoJitter: true}})
		p.Add(t.Context(), item{ID: "a"})
		if _, err := p.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := ct.of("a"); !slices.Equal(got, []time.Duration{0, 7 * time.Second}) {
			t.Fatalf("attempts at %v, want [0 7s]", got)
		}
	})
}

func TestInvalidOutputRetriesAtOnceAndCountsEveryAttemptsTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.FailItem("a", batchllmtest.InvalidOutput, batchllmtest.InvalidOutput)
		m.FailItem("b", batchllmtest.InvalidOutput, batchllmtest.InvalidOutput, batchllmtest.InvalidOutput)
		ct := newCallTimes()
		p := newProc(t, config{Strategy: m, Middleware: []batchllm.Middleware[string, string]{ct.middleware}})
		p.Add(t.Context(), item{ID: "a"})
		p.Add(t.Context(), item{ID: "b"})
		sum, _ := p.Run(t.Context())
		res := sum.ByID()
		if got := ct.of("a"); !slices.Equal(got, []time.Duration{0, 0, 0}) {
			t.Fatalf("attempts at %v, want all at once", got)
		}
		if a := res["a"]; !a.OK() || a.Attempts != 3 || a.Usage.InputTokens != 30 || a.Usage.OutputTokens != 15 {
			t.Fatalf("a = %+v, want success after 3 attempts with 3 attempts' tokens", a)
		}
		b := res["b"]
		var ie *batchllm.ItemError
		if !errors.As(b.Err, &ie) || ie.Class != batchllm.ClassInvalidOutput || ie.Attempts != 3 || b.Usage.InputTokens != 30 {
			t.Fatalf("b = %+v, want invalid_output after 3 attempts, 30 input tokens", b)
		}
		if sum.Stats.Usage.InputTokens != 60 {
			t.Fatalf("batch input tokens %d, want 60", sum.Stats.Usage.InputTokens)
		}
	})
}

func TestRateLimitsDoNotConsumeAttemptsAndWaitForTheCooldown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.RetryAfter = 5 * time.Second
		m.FailItem("a", batchllmtest.RateLimit, batchllmtest.RateLimit, batchllmtest.Transient, batchllmtest.RateLimit)
		ct := newCallTimes()
		rec := &batchllmtest.Events{}
		p := newProc(t, config{Strategy: m, Workers: 1, Middleware: []batchllm.Middleware[string, string]{ct.middleware},
			Observers: []batchllm.Observer{rec},
			Retry:     batchllm.RetryPolicy{MaxAttempts: 2, NoJitter: true, InitialWait: time.Second},
			Gate:      &batchllm.CooldownGate{Floor: time.Second, Max: time.Minute, Multiplier: 2}})
		r := runOne(t, p, "a")
		if !r.OK() || r.Attempts != 5 {
			t.Fatalf("result %+v: want success after 5 calls with MaxAttempts 2", r)
		}
		// 429 at 0 → cooldown 5 s; 429 at 5 → 10 s (consecutive); transient at
		// 15 → backoff 1 s; 429 at 16 → the failed attempt reset nothing, so
		// 20 s; success at 36.
		want := []time.Duration{0, 5 * time.Second, 15 * time.Second, 16 * time.Second, 36 * time.Second}
		if got := ct.of("a"); !slices.Equal(got, want) {
			t.Fatalf("calls at %v, want %v", got, want)
		}
		if n := rec.Count(batchllm.EventRateLimited); n != 3 {
			t.Fatalf("%d rate-limited events, want 3", n)
		}
		if n := rec.Count(batchllm.EventCooldownStarted); n != 3 {
			t.Fatalf("%d cooldowns, want 3", n)
		}
		if p.Stats().RateLimited != 3 {
			t.Fatalf("stats.RateLimited = %d", p.Stats().RateLimited)
		}
	})
}

func TestRateLimitRetriesAreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.FailItem("a", slices.Repeat([]batchllmtest.Fault{batchllmtest.RateLimit}, 10)...)
		p := newProc(t, config{Strategy: m, Retry: batchllm.RetryPolicy{MaxRateLimitRetries: 2}})
		p.Add(t.Context(), item{ID: "a"})
		sum, _ := p.Run(t.Context())
		r := sum.Results[0]
		if !errors.Is(r.Err, batchllm.ErrRateLimitRetriesExhausted) || r.Class() != batchllm.ClassRateLimited || m.Calls() != 3 {
			t.Fatalf("result %+v after %d calls, want rate-limit retries exhausted after 3", r, m.Calls())
		}
	})
}

func TestCooldownHoldsBackEveryWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.Latency = 100 * time.Millisecond
		m.RetryAfter = 10 * time.Second
		m.FailCall(3, batchllmtest.RateLimit)
		ct := newCallTimes()
		p := newProc(t, config{Strategy: m, Workers: 4, Middleware: []batchllm.Middleware[string, string]{ct.middleware}})
		addN(t, p, 40)
		if _, err := p.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		// The 429 answers at 100 ms. The three other first calls were admitted
		// before it; from then on nothing starts until 10.1 s.
		var starts []time.Duration
		for i := range 40 {
			starts = append(starts, ct.of(fmt.Sprintf("i%03d", i))...)
		}
		inCooldown := 0
		for _, s := range starts {
			if s > 100*time.Millisecond && s < 10100*time.Millisecond {
				inCooldown++
			}
		}
		if inCooldown != 0 {
			t.Fatalf("%d attempts started during the cooldown", inCooldown)
		}
		if len(starts) != 41 {
			t.Fatalf("%d calls, want 41", len(starts))
		}
	})
}

func TestFatalBatchErrorStopsTheBatchQuickly(t *testing.T) {
	m := echo()
	m.FailCall(3, batchllmtest.FatalBatch)
	p := newProc(t, config{Strategy: m, Workers: 1})
	addN(t, p, 100)
	sum, err := p.Run(t.Context())
	if !errors.Is(err, batchllm.ErrBatchAborted) || !errors.Is(err, batchllmtest.ErrMock) {
		t.Fatalf("Run err = %v, want ErrBatchAborted wrapping the cause", err)
	}
	if m.Calls() != 3 {
		t.Fatalf("%d calls after a fatal batch error on call 3", m.Calls())
	}
	if len(sum.Results) != 100 {
		t.Fatalf("%d results, want one per item", len(sum.Results))
	}
	res := sum.ByID()
	if r := res["i002"]; r.Class() != batchllm.ClassFatalBatch || errors.Is(r.Err, batchllm.ErrBatchAborted) {
		t.Fatalf("the item that hit the error: %+v", r)
	}
	for i := 3; i < 100; i++ {
		r := res[fmt.Sprintf("i%03d", i)]
		if !errors.Is(r.Err, batchllm.ErrBatchAborted) || !errors.Is(r.Err, batchllmtest.ErrMock) || r.Attempts != 0 {
			t.Fatalf("item %d: %+v, want aborted naming the cause, no attempt", i, r)
		}
	}
	if err := p.Add(t.Context(), item{ID: "late", Strategy: m}); err == nil {
		t.Fatal("Add after the run ended succeeded")
	}
}

func TestFatalItemErrorIsNotRetried(t *testing.T) {
	m := echo()
	m.FailItem("a", batchllmtest.FatalItem)
	p := newProc(t, config{Strategy: m})
	p.Add(t.Context(), item{ID: "a"})
	p.Add(t.Context(), item{ID: "b"})
	sum, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if a := sum.ByID()["a"]; a.Class() != batchllm.ClassFatalItem || m.CallsFor("a") != 1 {
		t.Fatalf("a = %+v after %d calls", a, m.CallsFor("a"))
	}
	if !sum.ByID()["b"].OK() {
		t.Fatal("b failed")
	}
	if sum.Stats.FailedByClass[batchllm.ClassFatalItem] != 1 {
		t.Fatalf("FailedByClass %v", sum.Stats.FailedByClass)
	}
}

func TestAttemptTimeoutIsTypedAndRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.FailItem("a", batchllmtest.Timeout)
		rec := &batchllmtest.Events{}
		p := newProc(t, config{Strategy: m, AttemptTimeout: 3 * time.Second, Observers: []batchllm.Observer{rec}, Retry: batchllm.RetryPolicy{NoJitter: true}})
		p.Add(t.Context(), item{ID: "a"})
		start := time.Now()
		sum, err := p.Run(t.Context())
		if err != nil || len(sum.Results) != 1 {
			t.Fatalf("Run: %d results, %v", len(sum.Results), err)
		}
		if r := sum.Results[0]; !r.OK() || r.Attempts != 2 || time.Since(start) != 4*time.Second {
			t.Fatalf("result %+v after %v, want success on attempt 2 at 4s", r, time.Since(start))
		}
		var te *batchllm.TimeoutError
		for _, e := range rec.All() {
			if e.Kind == batchllm.EventAttemptFailed {
				if !errors.As(e.Err, &te) {
					t.Fatalf("attempt error %v is not a TimeoutError", e.Err)
				}
			}
		}
		if te == nil || te.Scope != batchllm.ScopeAttempt || te.ItemID != "a" || te.Limit != 3*time.Second || te.Elapsed != 3*time.Second || te.Attempt != 1 {
			t.Fatalf("timeout error %+v", te)
		}
	})
}

// A strategy's own timeout error is not relabelled as the framework's.
func TestStrategyTimeoutErrorIsNotRelabelled(t *testing.T) {
	own := errors.New("upstream said: timeout")
	s := batchllm.StrategyFunc[string, string](func(context.Context, batchllm.Request[string]) (batchllm.Response[string], error) {
		return batchllm.Response[string]{}, batchllm.Classified(own, batchllm.ClassFatalItem, 0)
	})
	p := newProc(t, config{Strategy: s})
	p.Add(t.Context(), item{ID: "a"})
	sum, _ := p.Run(t.Context())
	var te *batchllm.TimeoutError
	if r := sum.Results[0]; !errors.Is(r.Err, own) || errors.As(r.Err, &te) {
		t.Fatalf("err %v", r.Err)
	}
}

func TestItemTimeoutCoversAttemptsAndWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.FailItem("a", slices.Repeat([]batchllmtest.Fault{batchllmtest.Timeout}, 10)...)
		p := newProc(t, config{Strategy: m, AttemptTimeout: 2 * time.Second, ItemTimeout: 5 * time.Second,
			Retry: batchllm.RetryPolicy{MaxAttempts: 10, NoJitter: true, InitialWait: time.Second}})
		p.Add(t.Context(), item{ID: "a"})
		start := time.Now()
		sum, err := p.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// 0–2 s attempt 1, 3 s wait, 3–5 s attempt 2 cut by the item deadline.
		r := sum.Results[0]
		var te *batchllm.TimeoutError
		if !errors.As(r.Err, &te) || te.Scope != batchllm.ScopeItem || te.Limit != 5*time.Second || time.Since(start) != 5*time.Second || r.Attempts != 2 {
			t.Fatalf("result %+v (timeout %+v) at %v", r, te, time.Since(start))
		}
		if !errors.Is(r.Err, context.DeadlineExceeded) {
			t.Fatal("an item timeout must match context.DeadlineExceeded")
		}
	})
}

func TestBatchTimeoutReturnsWhatFinished(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.Latency = time.Second
		p := newProc(t, config{Strategy: m, Workers: 2, BatchTimeout: 5500 * time.Millisecond})
		addN(t, p, 100)
		sum, err := p.Run(t.Context())
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "batch timeout") {
			t.Fatalf("err = %v", err)
		}
		if len(sum.Results) != 10 || sum.Stats.Finished != 10 {
			t.Fatalf("%d results, want the 10 that finished in 5.5 s", len(sum.Results))
		}
		for _, r := range sum.Results {
			if !r.OK() {
				t.Fatalf("unfinished items must not be reported: %+v", r)
			}
		}
	})
}

func TestCancelStopsDispatchAndReturnsFinishedResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.Latency = time.Second
		p := newProc(t, config{Strategy: m, Workers: 4})
		addN(t, p, 100)
		ctx, cancel := context.WithCancelCause(t.Context())
		stop := errors.New("operator stop")
		time.AfterFunc(2500*time.Millisecond, func() { cancel(stop) })
		start := time.Now()
		sum, err := p.Run(ctx)
		if !errors.Is(err, stop) {
			t.Fatalf("err = %v, want the cancel cause", err)
		}
		if time.Since(start) != 2500*time.Millisecond {
			t.Fatalf("Run returned after %v, want at once on cancel", time.Since(start))
		}
		if len(sum.Results) != 8 || m.Calls() != 12 {
			t.Fatalf("%d results after %d calls, want 8 and 12", len(sum.Results), m.Calls())
		}
	})
}

func TestStoppingTheIterationCancelsTheRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.Latency = time.Second
		p := newProc(t, config{Strategy: m, Workers: 2})
		addN(t, p, 50)
		p.Finish()
		n := 0
		for range p.Results(t.Context()) {
			n++
			if n == 3 {
				break
			}
		}
		if p.Err() != nil {
			t.Fatalf("Err = %v after the consumer stopped", p.Err())
		}
		// Items 1-4 finished at t=2s, when the third result was taken; the
		// workers may have started items 5 and 6 in that instant, and those
		// were cancelled. Nothing else may start.
		if c := m.Calls(); c > 6 || p.Stats().Elapsed != 2*time.Second {
			t.Fatalf("%d calls in %v: the run went on after the consumer stopped", c, p.Stats().Elapsed)
		}
	})
}

func TestResultsStreamsWhileItemsAreAdded(t *testing.T) {
	m := echo()
	p := newProc(t, config{Strategy: m, Workers: 4, QueueSize: 4})
	go func() {
		for i := range 1000 {
			if err := p.Add(t.Context(), item{ID: fmt.Sprint(i), Input: fmt.Sprint(i)}); err != nil {
				t.Error(err)
				return
			}
		}
		p.Finish()
	}()
	seen := map[string]bool{}
	for r := range p.Results(t.Context()) {
		if seen[r.ItemID] || r.Output != "out:"+r.ItemID {
			t.Fatalf("bad or duplicate result %+v", r)
		}
		seen[r.ItemID] = true
	}
	if len(seen) != 1000 || p.Err() != nil {
		t.Fatalf("%d results, err %v", len(seen), p.Err())
	}
}

// prepCounter counts Prepare and Cleanup calls.
type prepCounter struct {
	*batchllmtest.Mock[string, string]
	prepares, cleanups atomic.Int32
	failFirst          bool
}

func (s *prepCounter) Prepare(ctx context.Context) error {
	n := s.prepares.Add(1)
	time.Sleep(10 * time.Millisecond) // in a bubble: lets other workers pile up on the lock
	if s.failFirst && n == 1 {
		return errors.New("cache unavailable")
	}
	return nil
}

func (s *prepCounter) Cleanup(ctx context.Context) error { s.cleanups.Add(1); return nil }

func TestPrepareRunsOncePerInstanceAndCleanupAtClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &prepCounter{Mock: echo()}
		b := &prepCounter{Mock: echo()}
		p, _ := batchllm.New(config{Workers: 32, Logger: quiet})
		for i := range 200 {
			s := batchllm.Strategy[string, string](a)
			if i%2 == 1 {
				s = b
			}
			p.Add(t.Context(), item{ID: fmt.Sprint(i), Strategy: s})
		}
		sum, err := p.Run(t.Context())
		if err != nil || sum.Stats.Succeeded != 200 {
			t.Fatalf("%+v %v", sum.Stats, err)
		}
		if a.prepares.Load() != 1 || b.prepares.Load() != 1 {
			t.Fatalf("prepares %d and %d, want 1 each", a.prepares.Load(), b.prepares.Load())
		}
		if a.cleanups.Load() != 0 {
			t.Fatal("cleanup before Close")
		}
		if err := p.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		p.Close(t.Context())
		if a.cleanups.Load() != 1 || b.cleanups.Load() != 1 {
			t.Fatalf("cleanups %d and %d, want 1 each", a.cleanups.Load(), b.cleanups.Load())
		}
	})
}

func TestFailedPrepareFailsOneItemAndIsTriedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &prepCounter{Mock: echo(), failFirst: true}
		p := newProc(t, config{Strategy: s, Workers: 1})
		addN(t, p, 3)
		sum, _ := p.Run(t.Context())
		r := sum.ByID()["i000"]
		if r.Class() != batchllm.ClassFatalItem || !strings.Contains(r.Err.Error(), "cache unavailable") || r.Attempts != 0 {
			t.Fatalf("first item %+v", r)
		}
		if sum.Stats.Succeeded != 2 || s.prepares.Load() != 2 || s.Calls() != 2 {
			t.Fatalf("stats %+v, prepares %d, calls %d", sum.Stats, s.prepares.Load(), s.Calls())
		}
	})
}

// hooked records OnError calls and uses the retry state.
type hooked struct {
	mu    sync.Mutex
	seen  []string
	state map[string]*batchllm.RetryState
}

func (h *hooked) Call(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state[r.ItemID] == nil {
		h.state[r.ItemID] = r.State
	} else if h.state[r.ItemID] != r.State {
		return batchllm.Response[string]{}, batchllm.Classified(errors.New("state changed between attempts"), batchllm.ClassFatalItem, 0)
	}
	if r.Attempt < 3 {
		return batchllm.Response[string]{}, batchllm.Classified(errors.New("bad json"), batchllm.ClassInvalidOutput, 0)
	}
	parts, _ := batchllm.StateValue[[]string](r.State, "parts")
	return batchllm.Response[string]{Output: strings.Join(parts, ",")}, nil
}

func (h *hooked) OnError(ctx context.Context, r batchllm.Request[string], err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, fmt.Sprintf("%s#%d", r.ItemID, r.Attempt))
	parts, _ := batchllm.StateValue[[]string](r.State, "parts")
	r.State.Set("parts", append(parts, fmt.Sprintf("%s%d", r.ItemID, r.Attempt)))
}

func TestErrorHookSeesEachFailedAttemptAndStateIsPerItem(t *testing.T) {
	h := &hooked{state: map[string]*batchllm.RetryState{}}
	p := newProc(t, config{Strategy: h, Workers: 1})
	p.Add(t.Context(), item{ID: "a"})
	p.Add(t.Context(), item{ID: "b"})
	sum, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	res := sum.ByID()
	if res["a"].Output != "a1,a2" || res["b"].Output != "b1,b2" {
		t.Fatalf("outputs %q %q: state leaked or was lost", res["a"].Output, res["b"].Output)
	}
	if !slices.Equal(h.seen, []string{"a#1", "a#2", "b#1", "b#2"}) {
		t.Fatalf("hook calls %v", h.seen)
	}
}

func TestMiddlewareOrderSkipAndRewrite(t *testing.T) {
	var mu sync.Mutex
	var trace []string
	logf := func(s string) { mu.Lock(); trace = append(trace, s); mu.Unlock() }
	named := func(name string) batchllm.Middleware[string, string] {
		return func(next batchllm.Strategy[string, string]) batchllm.Strategy[string, string] {
			return batchllm.StrategyFunc[string, string](func(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
				logf(name + ".before")
				resp, err := next.Call(ctx, r)
				logf(name + ".after")
				resp.Output = name + "(" + resp.Output + ")"
				return resp, err
			})
		}
	}
	skip := func(next batchllm.Strategy[string, string]) batchllm.Strategy[string, string] {
		return batchllm.StrategyFunc[string, string](func(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
			if strings.HasPrefix(r.Input, "spam") {
				return batchllm.Response[string]{}, batchllm.Skip("spam")
			}
			return next.Call(ctx, r)
		})
	}
	m := echo()
	p := newProc(t, config{Strategy: m, Workers: 1, Middleware: []batchllm.Middleware[string, string]{named("A"), named("B"), skip}})
	p.Add(t.Context(), item{ID: "a", Input: "hello"})
	p.Add(t.Context(), item{ID: "s", Input: "spam!"})
	sum, _ := p.Run(t.Context())
	res := sum.ByID()
	if res["a"].Output != "A(B(out:hello))" {
		t.Fatalf("output %q", res["a"].Output)
	}
	var se *batchllm.SkipError
	if !errors.As(res["s"].Err, &se) || se.Reason != "spam" || res["s"].Attempts != 1 || m.CallsFor("s") != 0 {
		t.Fatalf("skipped item %+v", res["s"])
	}
	want := []string{"A.before", "B.before", "B.after", "A.after", "A.before", "B.before", "B.after", "A.after"}
	if !slices.Equal(trace, want) {
		t.Fatalf("trace %v", trace)
	}
}

func TestFallbackReplacesAFailedResult(t *testing.T) {
	m := echo()
	m.FailItem("a", batchllmtest.FatalItem)
	rec := &batchllmtest.Events{}
	p := newProc(t, config{Strategy: m, Observers: []batchllm.Observer{rec},
		Fallback: func(ctx context.Context, it item, err *batchllm.ItemError) (string, bool) {
			return "fallback for " + it.ID, err.Class == batchllm.ClassFatalItem
		}})
	p.Add(t.Context(), item{ID: "a"})
	sum, _ := p.Run(t.Context())
	r := sum.Results[0]
	if !r.OK() || r.Output != "fallback for a" || r.Recovered == nil {
		t.Fatalf("result %+v", r)
	}
	if sum.Stats.Succeeded != 1 {
		t.Fatalf("stats %+v", sum.Stats)
	}
}

func TestPanicsAreRecovered(t *testing.T) {
	m := echo()
	m.FailItem("boom", batchllmtest.Panic)
	var progress atomic.Int32
	p := newProc(t, config{Strategy: m, Workers: 2, ProgressEvery: 1,
		Observers: []batchllm.Observer{batchllm.ObserverFunc(func(batchllm.Event) { panic("observer") })},
		Progress:  func(batchllm.Progress) { progress.Add(1); panic("progress") },
		PostProcess: func(ctx context.Context, r result) {
			if r.ItemID == "pp" {
				panic("post-process")
			}
		}})
	for _, id := range []string{"boom", "pp", "ok"} {
		p.Add(t.Context(), item{ID: id})
	}
	sum, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	res := sum.ByID()
	var pe *batchllm.PanicError
	if !errors.As(res["boom"].Err, &pe) || res["boom"].Class() != batchllm.ClassFatalItem || m.CallsFor("boom") != 1 {
		t.Fatalf("boom: %+v", res["boom"])
	}
	if !res["pp"].OK() { // a post-processor's panic is logged; the result stands (see robust_test.go)
		t.Fatalf("pp: %+v", res["pp"])
	}
	if !res["ok"].OK() || progress.Load() != 4 {
		t.Fatalf("ok: %+v, progress calls %d", res["ok"], progress.Load())
	}
}

func TestEventSequenceForOneItem(t *testing.T) {
	rec := &batchllmtest.Events{}
	p := newProc(t, config{Strategy: echo(), Workers: 1, Observers: []batchllm.Observer{rec}})
	p.Add(t.Context(), item{ID: "a"})
	p.Run(t.Context())
	want := []batchllm.EventKind{batchllm.EventBatchStarted, batchllm.EventWorkerStarted, batchllm.EventAttemptStarted,
		batchllm.EventItemCompleted, batchllm.EventWorkerStopped, batchllm.EventBatchCompleted}
	if got := rec.Kinds(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// The anchor forgets ITEM_FAILED when retries run out.
func TestItemFailedIsEmittedWhenRetriesRunOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.FailItem("a", batchllmtest.Transient, batchllmtest.Transient, batchllmtest.Transient)
		rec := &batchllmtest.Events{}
		p := newProc(t, config{Strategy: m, Observers: []batchllm.Observer{rec}})
		p.Add(t.Context(), item{ID: "a"})
		p.Run(t.Context())
		got := rec.Kinds(batchllm.EventAttemptStarted, batchllm.EventAttemptFailed, batchllm.EventItemFailed, batchllm.EventItemCompleted)
		want := []batchllm.EventKind{batchllm.EventAttemptStarted, batchllm.EventAttemptFailed, batchllm.EventAttemptStarted,
			batchllm.EventAttemptFailed, batchllm.EventAttemptStarted, batchllm.EventAttemptFailed, batchllm.EventItemFailed}
		if !slices.Equal(got, want) {
			t.Fatalf("events %v", got)
		}
	})
}

func TestSlowObserverDoesNotStallWorkers(t *testing.T) {
	release := make(chan struct{})
	var got atomic.Int32
	slow := batchllm.ObserverFunc(func(batchllm.Event) { <-release; got.Add(1) })
	p := newProc(t, config{Strategy: echo(), Workers: 4, ObserverBuffer: 8, Observers: []batchllm.Observer{slow}})
	addN(t, p, 500)
	p.Finish()
	n := 0
	for range p.Results(t.Context()) {
		n++
		if n == 500 {
			// Every item finished while the observer was stuck on its
			// first event; let it go, so that the run can end.
			if got.Load() != 0 {
				t.Fatal("the observer was not stuck")
			}
			close(release)
		}
	}
	dropped := p.Stats().EventsDropped
	// 1 batch start, 4+4 worker start/stop, 500 × (attempt, completed),
	// 1 batch end: each was delivered or dropped.
	if dropped == 0 || int64(got.Load())+dropped != 500*2+10 {
		t.Fatalf("delivered %d + dropped %d, want every event accounted for", got.Load(), dropped)
	}
}

func TestProgressAtIntervalAndAtTheEnd(t *testing.T) {
	var calls []batchllm.Progress
	p := newProc(t, config{Strategy: echo(), Workers: 3, ProgressEvery: 10, Progress: func(pr batchllm.Progress) { calls = append(calls, pr) }})
	addN(t, p, 25)
	p.Run(t.Context())
	var done []int64
	for _, c := range calls {
		done = append(done, c.Done)
		if c.Total != 25 || c.ItemID == "" {
			t.Fatalf("progress %+v", c)
		}
	}
	if !slices.Equal(done, []int64{10, 20, 25}) || !calls[2].Final || calls[1].Final {
		t.Fatalf("progress calls %+v", calls)
	}
}

type dryRunner struct {
	*batchllmtest.Mock[string, string]
}

func (dryRunner) DryRun(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
	return batchllm.Response[string]{Output: "would send " + r.Input, Usage: batchllm.Usage{InputTokens: 1}}, nil
}

func TestDryRunNeverCallsTheStrategy(t *testing.T) {
	m := echo()
	p := newProc(t, config{DryRun: true, Workers: 2})
	p.Add(t.Context(), item{ID: "a", Input: "x", Strategy: dryRunner{m}})
	p.Add(t.Context(), item{ID: "b", Input: "y", Strategy: m})
	sum, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	res := sum.ByID()
	if m.Calls() != 0 || res["a"].Output != "would send x" || res["b"].Output != "" || !res["b"].OK() {
		t.Fatalf("calls %d, results %+v", m.Calls(), res)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := map[string]config{
		"Workers":           {Workers: -1},
		"QueueSize":         {QueueSize: -2},
		"Retry.MaxAttempts": {Retry: batchllm.RetryPolicy{MaxAttempts: -1}},
		"Retry.Multiplier":  {Retry: batchllm.RetryPolicy{Multiplier: 0.5}},
		"Retry.MaxWait":     {Retry: batchllm.RetryPolicy{InitialWait: time.Minute, MaxWait: time.Second}},
		"ItemTimeout":       {ItemTimeout: -time.Second},
		"Middleware[1]":     {Middleware: []batchllm.Middleware[string, string]{func(s batchllm.Strategy[string, string]) batchllm.Strategy[string, string] { return s }, nil}},
	}
	for field, cfg := range cases {
		if _, err := batchllm.New(cfg); err == nil || !strings.Contains(err.Error(), "Config."+field+" ") {
			t.Errorf("%s: err = %v", field, err)
		}
	}
}

func TestDoubtfulConfigIsLoggedAsAWarning(t *testing.T) {
	var buf strings.Builder
	log := slogTo(&buf)
	if _, err := batchllm.New(config{ItemTimeout: time.Second, AttemptTimeout: time.Minute, Logger: log}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "shorter than AttemptTimeout") {
		t.Fatalf("log: %s", buf.String())
	}
}

func TestRecordRunsBeforeReportingAndItsFailureStopsTheBatch(t *testing.T) {
	m := echo()
	var recorded sync.Map
	diskFull := errors.New("disk full")
	p := newProc(t, config{Strategy: m, Workers: 1,
		Record: func(ctx context.Context, r result) error {
			if r.ItemID == "i005" {
				return diskFull
			}
			recorded.Store(r.ItemID, true)
			return nil
		},
		PostProcess: func(ctx context.Context, r result) {
			if _, ok := recorded.Load(r.ItemID); !ok && r.OK() {
				t.Errorf("item %s reported before it was recorded", r.ItemID)
			}
		}})
	addN(t, p, 20)
	sum, err := p.Run(t.Context())
	if !errors.Is(err, diskFull) || !errors.Is(err, batchllm.ErrBatchAborted) {
		t.Fatalf("Run err = %v", err)
	}
	res := sum.ByID()
	if _, ok := res["i005"]; ok {
		t.Fatal("the unrecorded result was reported")
	}
	if len(res) != 19 || !res["i004"].OK() || !errors.Is(res["i006"].Err, batchllm.ErrBatchAborted) {
		t.Fatalf("%d results; i004 %+v; i006 %+v", len(res), res["i004"], res["i006"])
	}
}

// A backoff wait does not hold a worker: other items run meanwhile.
func TestBackoffFreesTheWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.Latency = time.Second
		m.FailItem("a", batchllmtest.Transient)
		p := newProc(t, config{Strategy: m, Workers: 1, Retry: batchllm.RetryPolicy{NoJitter: true, InitialWait: 10 * time.Second, MaxWait: time.Minute}})
		for _, id := range []string{"a", "b", "c"} {
			p.Add(t.Context(), item{ID: id})
		}
		p.Finish()
		start := time.Now()
		var order []string
		var at []time.Duration
		for r := range p.Results(t.Context()) {
			order = append(order, r.ItemID)
			at = append(at, time.Since(start))
		}
		if !slices.Equal(order, []string{"b", "c", "a"}) || !slices.Equal(at, []time.Duration{2 * time.Second, 3 * time.Second, 12 * time.Second}) {
			t.Fatalf("results %v at %v, want b, c, a at 2s, 3s, 12s", order, at)
		}
	})
}

// An item parked in a backoff wakes at once when its deadline passes or the
// batch is aborted, and leaves no goroutine behind when the run is cancelled.
func TestParkedItemsWakeOnDeadlineAbortAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := echo()
		m.FailItem("late", batchllmtest.Transient)
		p := newProc(t, config{Strategy: m, Workers: 2, ItemTimeout: 5 * time.Second,
			Retry: batchllm.RetryPolicy{NoJitter: true, InitialWait: time.Minute, MaxWait: time.Minute}})
		p.Add(t.Context(), item{ID: "late"})
		start := time.Now()
		sum, err := p.Run(t.Context())
		var te *batchllm.TimeoutError
		if err != nil || !errors.As(sum.Results[0].Err, &te) || te.Scope != batchllm.ScopeItem || time.Since(start) != 5*time.Second {
			t.Fatalf("result %+v, err %v, after %v", sum.Results[0], err, time.Since(start))
		}

		m2 := echo()
		m2.Latency = time.Second
		m2.FailItem("x", batchllmtest.Transient)
		m2.FailItem("y", batchllmtest.FatalBatch)
		p2 := newProc(t, config{Strategy: m2, Workers: 1, Retry: batchllm.RetryPolicy{NoJitter: true, InitialWait: time.Minute, MaxWait: time.Minute}})
		p2.Add(t.Context(), item{ID: "x"})
		p2.Add(t.Context(), item{ID: "y"})
		start = time.Now()
		sum2, err := p2.Run(t.Context())
		if !errors.Is(err, batchllm.ErrBatchAborted) || time.Since(start) != 2*time.Second || !errors.Is(sum2.ByID()["x"].Err, batchllm.ErrBatchAborted) {
			t.Fatalf("err %v after %v; x = %+v", err, time.Since(start), sum2.ByID()["x"])
		}

		m3 := echo()
		m3.FailItem("z", batchllmtest.Transient)
		p3 := newProc(t, config{Strategy: m3, Retry: batchllm.RetryPolicy{NoJitter: true, InitialWait: time.Hour, MaxWait: time.Hour}})
		p3.Add(t.Context(), item{ID: "z"})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		sum3, err := p3.Run(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || len(sum3.Results) != 0 || time.Since(start) != 3*time.Second {
			t.Fatalf("cancelled run: %d results, err %v, after %v", len(sum3.Results), err, time.Since(start))
		}
		// synctest fails the test if the parked item's timer goroutine leaked.
	})
}
