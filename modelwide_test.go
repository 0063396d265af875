package batchllm_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

// wrongModel is a provider-like strategy: every call fails with the
// model-wide error err (if not nil), or succeeds after delay.
type wrongModel struct {
	err              error
	delay            time.Duration
	calls, inFlight  atomic.Int64
	maxInFlight      atomic.Int64
	failFirst        int64 // the first failFirst calls fail with err, the rest succeed
	reportsModelWide bool
}

func (s *wrongModel) ReportsModelWideErrors() bool { return s.reportsModelWide }

func (s *wrongModel) Estimate(batchllm.Request[string]) batchllm.Estimate {
	return batchllm.Estimate{Model: "gpt-4o-mni", Scope: "openai/gpt-4o-mni"}
}

func (s *wrongModel) Call(ctx context.Context, req batchllm.Request[string]) (batchllm.Response[string], error) {
	n := s.calls.Add(1)
	cur := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxInFlight.Load()
		if cur <= m || s.maxInFlight.CompareAndSwap(m, cur) {
			break
		}
	}
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return batchllm.Response[string]{}, ctx.Err()
		}
	}
	if s.err != nil && (s.failFirst == 0 || n <= s.failFirst) {
		return batchllm.Response[string]{}, s.err
	}
	return batchllm.Response[string]{Output: "ok"}, nil
}

var errNoModel = batchllm.Classified(batchllm.ModelWide(errors.New("openai: 404 model_not_found: The model `gpt-4o-mni` does not exist"), "unknown model"), batchllm.ClassFatalItem, 0)

// TestModelWideStop: a mistyped model in a 10,000-item batch costs 3
// requests, and the batch stops as fatal_batch naming the cause.
func TestModelWideStop(t *testing.T) { synctest.Test(t, testModelWideStop) }

func testModelWideStop(t *testing.T) {
	s := &wrongModel{err: errNoModel, delay: time.Millisecond, reportsModelWide: true}
	p := newProc(t, config{Strategy: s, Workers: 16})
	addN(t, p, 10_000)
	sum, err := p.Run(t.Context())
	if !errors.Is(err, batchllm.ErrBatchAborted) || !strings.Contains(err.Error(), "unknown model") || !strings.Contains(err.Error(), `"gpt-4o-mni"`) {
		t.Fatalf("Run err = %v, want the batch aborted naming the cause", err)
	}
	if n := s.calls.Load(); n != batchllm.ModelWideProbes {
		t.Fatalf("%d requests, want %d", n, batchllm.ModelWideProbes)
	}
	var fatalBatch, fatalItem, aborted int
	for _, r := range sum.Results {
		switch {
		case errors.Is(r.Err, batchllm.ErrBatchAborted):
			aborted++
		case r.Class() == batchllm.ClassFatalBatch:
			fatalBatch++
		case r.Class() == batchllm.ClassFatalItem:
			fatalItem++
		}
	}
	if fatalItem != 2 || fatalBatch != 1 || aborted != 10_000-3 {
		t.Errorf("fatal_item %d, fatal_batch %d, aborted %d", fatalItem, fatalBatch, aborted)
	}
}

// TestModelWideProbesThenFull: until the model has answered, at most 3
// attempts are in flight; after its first answer every worker runs.
func TestModelWideProbesThenFull(t *testing.T) { synctest.Test(t, testModelWideProbesThenFull) }

func testModelWideProbesThenFull(t *testing.T) {
	s := &wrongModel{delay: 5 * time.Millisecond, reportsModelWide: true}
	p := newProc(t, config{Strategy: s, Workers: 16})
	addN(t, p, 200)
	sum, err := p.Run(t.Context())
	if err != nil || sum.Stats.Succeeded != 200 {
		t.Fatalf("err %v, stats %+v", err, sum.Stats)
	}
	if m := s.maxInFlight.Load(); m != 16 {
		t.Errorf("max in flight %d, want all 16 workers once the model answered", m)
	}
}

// TestModelWideAfterSuccess: once the model has answered, a model-wide
// error fails only its item; two failures then a success never stop it.
func TestModelWideAfterSuccess(t *testing.T) {
	s := &wrongModel{err: errNoModel, failFirst: 2, reportsModelWide: true}
	p := newProc(t, config{Strategy: s, Workers: 1})
	addN(t, p, 20)
	sum, err := p.Run(t.Context())
	if err != nil {
		t.Fatalf("Run err = %v", err)
	}
	if sum.Stats.Succeeded != 18 || sum.Stats.Failed != 2 {
		t.Errorf("stats %+v", sum.Stats)
	}
}

// TestModelWideNotReported: a strategy that does not report model-wide
// errors keeps the old behaviour (every item tries).
func TestModelWideNotReported(t *testing.T) {
	s := &wrongModel{err: errNoModel}
	p := newProc(t, config{Strategy: s, Workers: 4})
	addN(t, p, 10)
	if _, err := p.Run(t.Context()); err != nil {
		t.Fatalf("Run err = %v", err)
	}
	if n := s.calls.Load(); n != 10 {
		t.Errorf("%d calls, want 10", n)
	}
}
