package dedupe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/batchllm/batchllm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var paid = batchllm.Usage{InputTokens: 100, OutputTokens: 20}

// counting is a strategy that counts its calls per input, answers
// "answer to <input>" with usage paid, and lets a test control each call.
type counting struct {
	calls atomic.Int64
	// hook, if set, runs first in every call; a non-nil error fails it.
	hook func(ctx context.Context, n int64, input string) error
}

func (s *counting) Call(ctx context.Context, req batchllm.Request[string]) (batchllm.Response[string], error) {
	n := s.calls.Add(1)
	if s.hook != nil {
		if err := s.hook(ctx, n, req.Input); err != nil {
			return batchllm.Response[string]{Usage: batchllm.Usage{InputTokens: 100}}, err
		}
	}
	return batchllm.Response[string]{Output: "answer to " + req.Input, Usage: paid, Model: "m-1", Limits: &batchllm.LimitInfo{}}, nil
}

func identity(s string) (string, error) { return s, nil }

func wrap(d *Deduper[string, string], s batchllm.Strategy[string, string]) batchllm.Strategy[string, string] {
	return d.Middleware()(s)
}

func req(id, input string) batchllm.Request[string] {
	return batchllm.Request[string]{ItemID: id, Input: input, Attempt: 1, State: &batchllm.RetryState{}}
}

type outcome struct {
	resp batchllm.Response[string]
	err  error
}

// callAll makes n concurrent calls with the given input and returns their
// outcomes once all have returned; wait runs while they are in flight.
func callAll(s batchllm.Strategy[string, string], n int, input string, wait func()) []outcome {
	out := make([]outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := s.Call(context.Background(), req(fmt.Sprint("item-", i), input))
			out[i] = outcome{r, err}
		})
	}
	wait()
	wg.Wait()
	return out
}

func TestConcurrentIdenticalRequestsMakeOneCall(t *testing.T) {
	for name, max := range map[string]int{"unbounded cache": 0, "no cache": -1} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				s := &counting{hook: func(context.Context, int64, string) error { <-release; return nil }}
				d := New[string, string](identity, Options{MaxEntries: max})
				out := callAll(wrap(d, s), 50, "q", func() {
					synctest.Wait() // one call blocked in the strategy, 49 waiting for it
					close(release)
				})
				if n := s.calls.Load(); n != 1 {
					t.Fatalf("strategy called %d times for 50 identical requests; want 1", n)
				}
				payers := 0
				for i, o := range out {
					if o.err != nil || o.resp.Output != "answer to q" || o.resp.Model != "m-1" {
						t.Fatalf("call %d: %+v, %v", i, o.resp, o.err)
					}
					switch {
					case o.resp.Usage == paid && o.resp.Limits != nil:
						payers++
					case !o.resp.Usage.IsZero() || o.resp.Limits != nil:
						t.Errorf("call %d: shared answer reports usage %+v, limits %v; want zero, nil", i, o.resp.Usage, o.resp.Limits)
					}
				}
				if payers != 1 {
					t.Errorf("%d answers report the paid usage; want exactly 1", payers)
				}
				if st := d.Stats(); st.Calls != 1 || st.Shared != 49 || st.Hits != 0 {
					t.Errorf("Stats = %+v; want 1 call, 49 shared, 0 hits", st)
				}
			})
		})
	}
}

func TestCacheAnswersLaterRequests(t *testing.T) {
	s := &counting{}
	d := New[string, string](identity, Options{})
	m := wrap(d, s)
	ctx := context.Background()
	for i := range 5 {
		for _, q := range []string{"a", "b"} {
			r, err := m.Call(ctx, req(fmt.Sprint(q, i), q))
			if err != nil || r.Output != "answer to "+q {
				t.Fatalf("%s: %+v, %v", q, r, err)
			}
			if wantPaid := i == 0; (r.Usage == paid) != wantPaid || (!wantPaid && !r.Usage.IsZero()) {
				t.Errorf("%s round %d: usage %+v; want paid only on the first call", q, i, r.Usage)
			}
		}
	}
	if n := s.calls.Load(); n != 2 {
		t.Fatalf("strategy called %d times for 2 distinct requests; want 2", n)
	}
	if st := d.Stats(); st != (Stats{Calls: 2, Hits: 8, Cached: 2}) {
		t.Errorf("Stats = %+v", st)
	}
}

func TestNoCacheCallsAgainLater(t *testing.T) {
	s := &counting{}
	m := wrap(New[string, string](identity, Options{MaxEntries: -1}), s)
	for range 3 {
		if _, err := m.Call(context.Background(), req("x", "q")); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.calls.Load(); n != 3 {
		t.Fatalf("strategy called %d times for 3 sequential requests without a cache; want 3", n)
	}
}

func TestLRUEviction(t *testing.T) {
	s := &counting{}
	d := New[string, string](identity, Options{MaxEntries: 2})
	m := wrap(d, s)
	var calls []string
	s.hook = func(_ context.Context, _ int64, input string) error { calls = append(calls, input); return nil }
	for _, q := range []string{"a", "b", "a", "c", "a", "b", "c"} {
		if _, err := m.Call(context.Background(), req(q, q)); err != nil {
			t.Fatal(err)
		}
	}
	// a b → cached {a,b}; a hit (a most recent); c evicts b; a hit; b
	// evicts c; c evicts a.
	if got, want := fmt.Sprint(calls), "[a b c b c]"; got != want {
		t.Fatalf("calls %s; want %s", got, want)
	}
	if st := d.Stats(); st.Cached != 2 || st.Hits != 2 {
		t.Errorf("Stats = %+v; want 2 cached, 2 hits", st)
	}
}

func TestEmptyKeyIsNotShared(t *testing.T) {
	s := &counting{}
	d := New[string, string](func(string) (string, error) { return "", nil }, Options{})
	m := wrap(d, s)
	for range 3 {
		if r, err := m.Call(context.Background(), req("x", "q")); err != nil || r.Usage != paid {
			t.Fatalf("%+v, %v", r, err)
		}
	}
	if n := s.calls.Load(); n != 3 {
		t.Fatalf("strategy called %d times; want 3", n)
	}
}

func TestKeyErrorFailsTheItem(t *testing.T) {
	s := &counting{}
	boom := errors.New("cannot digest")
	m := wrap(New[string, string](func(string) (string, error) { return "", boom }, Options{}), s)
	_, err := m.Call(context.Background(), req("x", "q"))
	if !errors.Is(err, boom) || batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassFatalItem {
		t.Fatalf("error %v (class %v); want the key error, fatal for the item", err, batchllm.DefaultClassifier.Classify(err).Class)
	}
	if s.calls.Load() != 0 {
		t.Fatal("strategy called despite the key error")
	}
}

// TestFailureIsNotShared: the first call fails; its error goes to its own
// attempt only, and one of the waiters calls again and shares its success.
func TestFailureIsNotShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		boom := errors.New("503")
		s := &counting{hook: func(_ context.Context, n int64, _ string) error {
			if n == 1 {
				<-release
				return boom
			}
			return nil
		}}
		d := New[string, string](identity, Options{})
		out := callAll(wrap(d, s), 10, "q", func() {
			synctest.Wait()
			close(release)
		})
		if n := s.calls.Load(); n != 2 {
			t.Fatalf("strategy called %d times; want 2 (the failure, then one retry by a waiter)", n)
		}
		failed, payers := 0, 0
		for _, o := range out {
			switch {
			case errors.Is(o.err, boom):
				failed++
				if o.resp.Usage.InputTokens != 100 {
					t.Errorf("failed call lost its usage: %+v", o.resp.Usage)
				}
			case o.err != nil:
				t.Errorf("unexpected error %v", o.err)
			case o.resp.Usage == paid:
				payers++
			}
		}
		if failed != 1 || payers != 1 {
			t.Errorf("%d failed, %d paid; want 1 and 1", failed, payers)
		}
		// The second call returns at once, so the other waiters get its
		// answer either while it is in flight or from the cache.
		if st := d.Stats(); st.Calls != 2 || st.Shared+st.Hits != 8 {
			t.Errorf("Stats = %+v; want 2 calls, 8 shared or hits", st)
		}
	})
}

func TestWaiterHonoursItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		s := &counting{hook: func(context.Context, int64, string) error { <-release; return nil }}
		m := wrap(New[string, string](identity, Options{}), s)
		leader := make(chan error, 1)
		go func() {
			_, err := m.Call(context.Background(), req("leader", "q"))
			leader <- err
		}()
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		waiter := make(chan error, 1)
		go func() {
			_, err := m.Call(ctx, req("waiter", "q"))
			waiter <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-waiter; !errors.Is(err, context.Canceled) {
			t.Fatalf("waiter returned %v; want context.Canceled while the call is in flight", err)
		}
		close(release)
		if err := <-leader; err != nil {
			t.Fatalf("leader: %v", err)
		}
	})
}

func TestPanicReleasesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		s := &counting{hook: func(_ context.Context, n int64, _ string) error {
			if n == 1 {
				<-release
				panic("strategy bug")
			}
			return nil
		}}
		m := wrap(New[string, string](identity, Options{}), s)
		panicked := make(chan any, 1)
		go func() {
			defer func() { panicked <- recover() }()
			m.Call(context.Background(), req("first", "q"))
		}()
		synctest.Wait()
		waiter := make(chan outcome, 1)
		go func() {
			r, err := m.Call(context.Background(), req("second", "q"))
			waiter <- outcome{r, err}
		}()
		synctest.Wait()
		close(release)
		if p := <-panicked; p != "strategy bug" {
			t.Fatalf("recovered %v; want the strategy's panic", p)
		}
		if o := <-waiter; o.err != nil || o.resp.Usage != paid {
			t.Fatalf("waiter after a panicked call: %+v, %v; want its own paid call", o.resp, o.err)
		}
	})
}

// TestManyKeysUnderRace checks, with real concurrency, that every distinct
// key is paid for exactly once and every answer is right.
func TestManyKeysUnderRace(t *testing.T) {
	const goroutines, each, keys = 32, 200, 50
	s := &counting{}
	d := New[string, string](identity, Options{})
	m := wrap(d, s)
	var paidCalls atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range each {
				q := fmt.Sprint("k", rng.IntN(keys))
				r, err := m.Call(context.Background(), req(fmt.Sprint(g, "-", i), q))
				if err != nil || r.Output != "answer to "+q {
					t.Errorf("%s: %+v, %v", q, r, err)
					return
				}
				if r.Usage == paid {
					paidCalls.Add(1)
				}
			}
		})
	}
	wg.Wait()
	st := d.Stats()
	if n := s.calls.Load(); n != keys || paidCalls.Load() != keys || st.Calls != keys {
		t.Fatalf("strategy calls %d, paid answers %d, Stats.Calls %d; want %d each", n, paidCalls.Load(), st.Calls, keys)
	}
	if st.Calls+st.Shared+st.Hits != goroutines*each {
		t.Fatalf("Stats %+v do not add up to %d attempts", st, goroutines*each)
	}
}

// TestMiddlewareOrder: middleware inside the Deduper runs once per paid call,
// middleware outside it once per attempt.
func TestMiddlewareOrder(t *testing.T) {
	var outside, inside atomic.Int64
	counter := func(n *atomic.Int64) batchllm.Middleware[string, string] {
		return func(next batchllm.Strategy[string, string]) batchllm.Strategy[string, string] {
			return batchllm.StrategyFunc[string, string](func(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
				n.Add(1)
				return next.Call(ctx, r)
			})
		}
	}
	d := New[string, string](identity, Options{})
	// As the processor composes Config.Middleware: the first is outermost.
	chain := []batchllm.Middleware[string, string]{counter(&outside), d.Middleware(), counter(&inside)}
	var s batchllm.Strategy[string, string] = &counting{}
	for i := len(chain) - 1; i >= 0; i-- {
		s = chain[i](s)
	}
	for i := range 4 {
		if _, err := s.Call(context.Background(), req(fmt.Sprint(i), "q")); err != nil {
			t.Fatal(err)
		}
	}
	if outside.Load() != 4 || inside.Load() != 1 {
		t.Fatalf("outside ran %d times, inside %d; want 4 and 1", outside.Load(), inside.Load())
	}
}
