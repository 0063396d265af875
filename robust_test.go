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
)

// These tests are about plug-ins that misbehave: none of them may hang or
// crash the processor, or make it report something other than what it did.

// cleanOnly is a strategy with Cleanup but no Prepare.
type cleanOnly struct {
	batchllm.StrategyFunc[string, string]
	cleanups *atomic.Int32
}

func (c cleanOnly) Cleanup(context.Context) error { c.cleanups.Add(1); return nil }

func TestCloseCleansAStrategyWithoutPrepare(t *testing.T) {
	var n atomic.Int32
	s := &cleanOnly{StrategyFunc: func(_ context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
		return batchllm.Response[string]{Output: r.Input}, nil
	}, cleanups: &n}
	p := newProc(t, config{Strategy: s, Workers: 2})
	addN(t, p, 5)
	if _, err := p.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	p.Close(context.Background())
	p.Close(context.Background())
	if got := n.Load(); got != 1 {
		t.Fatalf("Cleanup called %d times, want once", got)
	}
}

func TestAStuckObserverCannotHangTheRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		stuck := batchllm.ObserverFunc(func(e batchllm.Event) {
			if e.Kind == batchllm.EventWorkerStopped {
				<-release // stuck until the test ends
			}
		})
		defer close(release)
		p := newProc(t, config{Strategy: echo(), Workers: 1, DrainTimeout: 3 * time.Second, Observers: []batchllm.Observer{stuck}})
		addN(t, p, 3)
		start := time.Now()
		sum, err := p.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 3*time.Second {
			t.Errorf("Run took %v, want the drain timeout, 3s", took)
		}
		// The observer is stuck in EventWorkerStopped; EventBatchCompleted,
		// queued behind it, is dropped and counted.
		if sum.Stats.Succeeded != 3 || sum.Stats.EventsDropped != 1 {
			t.Errorf("stats %+v, want 3 succeeded and 1 event dropped", sum.Stats)
		}
	})
}

func TestASlowObserverIsWaitedForWithinTheDrainTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got atomic.Int32
		slow := batchllm.ObserverFunc(func(e batchllm.Event) {
			time.Sleep(100 * time.Millisecond)
			got.Add(1)
		})
		p := newProc(t, config{Strategy: echo(), Workers: 1, Observers: []batchllm.Observer{slow}})
		addN(t, p, 3)
		sum, _ := p.Run(t.Context())
		// batch started/completed, worker started/stopped, 3 × (attempt started, item completed)
		if got.Load() != 10 || sum.Stats.EventsDropped != 0 {
			t.Errorf("delivered %d events, dropped %d; want 10 and 0", got.Load(), sum.Stats.EventsDropped)
		}
	})
}

func TestAPanickingPostProcessDoesNotChangeTheRecordedResult(t *testing.T) {
	var mu sync.Mutex
	recorded := map[string]bool{}
	p := newProc(t, config{Strategy: echo(), Workers: 2,
		Record: func(_ context.Context, r result) error {
			mu.Lock()
			recorded[r.ItemID] = r.OK()
			mu.Unlock()
			return nil
		},
		PostProcess: func(context.Context, result) { panic("post-process") },
	})
	addN(t, p, 4)
	sum, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sum.Results {
		if ok, seen := recorded[r.ItemID]; !seen || ok != r.OK() {
			t.Errorf("item %s: recorded ok=%v (seen %v), reported ok=%v", r.ItemID, ok, seen, r.OK())
		}
	}
	if len(sum.Results) != 4 {
		t.Fatalf("%d results", len(sum.Results))
	}
}

// panicGate panics when asked to admit an item whose estimate names model
// "bad", and in Release after a model "bad-release".
type panicGate struct{}

type panicPermit struct{ model string }

func (g panicGate) Admit(_ context.Context, e batchllm.Estimate) (batchllm.Permit, error) {
	if e.Model == "bad" {
		panic("gate")
	}
	return panicPermit{e.Model}, nil
}

func (p panicPermit) Release(batchllm.Outcome) {
	if p.model == "bad-release" {
		panic("release")
	}
}

// modelEstimator answers the input and estimates the input as the model.
type modelEstimator struct{}

func (modelEstimator) Call(_ context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
	return batchllm.Response[string]{Output: "ok:" + r.Input}, nil
}

func (modelEstimator) Estimate(r batchllm.Request[string]) batchllm.Estimate {
	return batchllm.Estimate{Model: r.Input}
}

func TestAPanickingGateIsRecovered(t *testing.T) {
	p := newProc(t, config{Strategy: modelEstimator{}, Workers: 2, Gate: panicGate{}})
	res := runInputs(t, p, "bad", "good", "bad-release")
	var pe *batchllm.PanicError
	if !errors.As(res["bad"].Err, &pe) || pe.Value != "gate" || res["bad"].Class() != batchllm.ClassFatalItem {
		t.Errorf("bad: %+v", res["bad"])
	}
	if !res["good"].OK() || !res["bad-release"].OK() {
		t.Errorf("good %+v; bad-release %+v: a panic in Release must not undo a success", res["good"], res["bad-release"])
	}
}

func TestASlowProgressCallbackDoesNotHoldUpTheWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		var calls atomic.Int32
		p := newProc(t, config{Strategy: echo(), Workers: 2, ProgressEvery: 1, DrainTimeout: time.Second,
			Progress: func(batchllm.Progress) {
				calls.Add(1)
				<-release
			}})
		addN(t, p, 50)
		start := time.Now()
		sum, err := p.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Stats.Succeeded != 50 {
			t.Errorf("%d succeeded, want 50", sum.Stats.Succeeded)
		}
		if took := time.Since(start); took != time.Second {
			t.Errorf("Run took %v, want the drain timeout, 1s, for the stuck final call", took)
		}
		if calls.Load() != 1 {
			t.Errorf("%d progress calls started, want 1 (the callback never returned)", calls.Load())
		}
	})
}

func TestProcessNeedsNoFinish(t *testing.T) {
	p := newProc(t, config{Strategy: echo(), Workers: 3})
	items := func(yield func(item) bool) {
		for i := range 20 {
			if !yield(item{ID: fmt.Sprintf("i%02d", i), Input: fmt.Sprint(i)}) {
				return
			}
		}
	}
	var ids []string
	for r := range p.Process(t.Context(), items) {
		if !r.OK() {
			t.Errorf("%s: %v", r.ItemID, r.Err)
		}
		ids = append(ids, r.ItemID)
	}
	slices.Sort(ids)
	if len(ids) != 20 || ids[0] != "i00" || ids[19] != "i19" || p.Err() != nil {
		t.Fatalf("results %v, err %v", ids, p.Err())
	}
}

func TestProcessStopsOnARejectedItem(t *testing.T) {
	p := newProc(t, config{Strategy: echo(), Workers: 1})
	items := slices.Values([]item{{ID: "a"}, {ID: "b"}, {ID: "a"}, {ID: "c"}})
	n := 0
	for range p.Process(t.Context(), items) {
		n++
	}
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), `"a": duplicate item ID`) {
		t.Fatalf("Err = %v, want the duplicate ID", err)
	}
	if n > 2 {
		t.Fatalf("%d results, want at most the 2 items before the duplicate", n)
	}
}

func TestProcessStoppedEarlyEndsTheFeeder(t *testing.T) {
	p := newProc(t, config{Strategy: echo(), Workers: 1})
	items := func(yield func(item) bool) {
		for i := 0; ; i++ { // endless: only the stop can end it
			if !yield(item{ID: fmt.Sprint(i)}) {
				return
			}
		}
	}
	n := 0
	for range p.Process(t.Context(), items) {
		if n++; n == 5 {
			break
		}
	}
	if n != 5 || p.Err() != nil {
		t.Fatalf("%d results, err %v", n, p.Err())
	}
}

func TestMetricsReset(t *testing.T) {
	var m batchllm.Metrics
	p := newProc(t, config{Strategy: echo(), Observers: []batchllm.Observer{&m}})
	addN(t, p, 3)
	p.Run(t.Context())
	if s := m.Snapshot(); s.ItemsSucceeded != 3 || s.Usage.InputTokens != 30 {
		t.Fatalf("before reset: %+v", s)
	}
	m.Reset()
	s := m.Snapshot()
	if s.ItemsProcessed != 0 || s.Attempts != 0 || s.Usage != (batchllm.Usage{}) || s.LatencySampleWindow != 0 {
		t.Fatalf("after reset: %+v", s)
	}
}
