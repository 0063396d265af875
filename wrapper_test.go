package batchllm_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/batchllm/batchllm"
)

// fullStrategy implements every optional interface and logs each call.
type fullStrategy struct {
	mu  sync.Mutex
	log []string
}

func (f *fullStrategy) note(s string) {
	f.mu.Lock()
	f.log = append(f.log, s)
	f.mu.Unlock()
}

func (f *fullStrategy) Call(_ context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
	f.note("call")
	if r.Attempt == 1 {
		return batchllm.Response[string]{}, batchllm.Classified(errors.New("again"), batchllm.ClassInvalidOutput, 0)
	}
	return batchllm.Response[string]{Output: "answer"}, nil
}
func (f *fullStrategy) Prepare(context.Context) error { f.note("prepare"); return nil }
func (f *fullStrategy) Cleanup(context.Context) error { f.note("cleanup"); return nil }
func (f *fullStrategy) OnError(context.Context, batchllm.Request[string], error) {
	f.note("on_error")
}
func (f *fullStrategy) Estimate(batchllm.Request[string]) batchllm.Estimate {
	return batchllm.Estimate{Model: "estimated"}
}
func (f *fullStrategy) DryRun(context.Context, batchllm.Request[string]) (batchllm.Response[string], error) {
	f.note("dry_run")
	return batchllm.Response[string]{Output: "would answer"}, nil
}

// upper wraps a strategy and only changes its Call; Wrapper forwards the rest.
type upper struct {
	batchllm.Wrapper[string, string]
}

func (u *upper) Call(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
	resp, err := u.Next.Call(ctx, r)
	resp.Output = "UP:" + resp.Output
	return resp, err
}

func TestWrapperForwardsTheOptionalInterfaces(t *testing.T) {
	for _, dry := range []bool{false, true} {
		inner := &fullStrategy{}
		w := &upper{batchllm.Wrapper[string, string]{Next: inner}}
		p, err := batchllm.New(config{Strategy: w, DryRun: dry, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		p.Add(t.Context(), item{ID: "a"})
		sum, err := p.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		r := sum.Results[0]
		want := []string{"prepare", "call", "on_error", "call", "cleanup"}
		out := "UP:answer"
		if dry { // a dry run calls DryRun instead of the wrapper's Call
			want, out = []string{"prepare", "dry_run", "cleanup"}, "would answer"
		}
		if !slices.Equal(inner.log, want) || r.Output != out || r.Model != "estimated" {
			t.Errorf("dry run %v: calls %v, output %q, model %q; want %v, %q, \"estimated\"", dry, inner.log, r.Output, r.Model, want, out)
		}
	}
}

func TestWrapperOfAPlainStrategyForwardsNothing(t *testing.T) {
	w := batchllm.Wrapper[string, string]{Next: batchllm.StrategyFunc[string, string](func(context.Context, batchllm.Request[string]) (batchllm.Response[string], error) {
		return batchllm.Response[string]{Output: "x"}, nil
	})}
	ctx := t.Context()
	if err := w.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	w.OnError(ctx, batchllm.Request[string]{}, errors.New("x"))
	if e := w.Estimate(batchllm.Request[string]{}); e != (batchllm.Estimate{}) {
		t.Fatalf("estimate %+v", e)
	}
	if r, err := w.DryRun(ctx, batchllm.Request[string]{}); err != nil || r.Output != "" {
		t.Fatalf("dry run %+v, %v", r, err)
	}
}
