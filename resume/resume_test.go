package resume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/journal"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type (
	item   = batchllm.Item[batchllm.Prompt, string, int]
	result = batchllm.Result[string, int]
)

// batch runs items through a processor with a Resumer over the journal at
// path, with strategy s, and returns the results: the journaled ones first,
// then the new ones.
func batch(t *testing.T, path string, opts Options[batchllm.Prompt], s batchllm.Strategy[batchllm.Prompt, string], items []item) []result {
	t.Helper()
	j, err := journal.Open[journal.Outcome[string, int]](path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r := New(j, opts)
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, int]{
		Strategy: s, Workers: 4, Record: r.Record, Retry: batchllm.RetryPolicy{MaxAttempts: 1},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	var out []result
	for _, it := range items {
		rec, done, err := r.Add(context.Background(), p, it)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			res := rec.Result(it.ID)
			res.Context = it.Context // the caller's current context, not the journaled one
			out = append(out, res)
		}
	}
	sum, err := p.Run(context.Background())
	if err != nil && !errors.Is(err, batchllm.ErrBatchAborted) {
		t.Fatal(err)
	}
	return append(out, sum.Results...)
}

// counting answers "re: <prompt>" and counts calls per item; items whose
// prompt is "fail" fail with a 400-like error, "abort" with a fatal batch
// error.
type counting struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *counting) Call(_ context.Context, req batchllm.Request[batchllm.Prompt]) (batchllm.Response[string], error) {
	c.mu.Lock()
	c.calls[req.ItemID]++
	c.mu.Unlock()
	switch req.Input.Text() {
	case "fail":
		return batchllm.Response[string]{}, batchllm.Classified(errors.New("bad request"), batchllm.ClassFatalItem, 0)
	case "abort":
		return batchllm.Response[string]{}, batchllm.Classified(errors.New("bad key"), batchllm.ClassFatalBatch, 0)
	}
	return batchllm.Response[string]{Output: "re: " + req.Input.Text(), Usage: batchllm.Usage{InputTokens: 3, OutputTokens: 2}}, nil
}

func items(prompts ...string) []item {
	var its []item
	for i, p := range prompts {
		its = append(its, item{ID: fmt.Sprintf("i%d", i), Input: batchllm.Text(p), Context: i})
	}
	return its
}

func byID(rs []result) map[string]result {
	m := map[string]result{}
	for _, r := range rs {
		m[r.ItemID] = r
	}
	return m
}

func TestResumeSkipsFinishedAndResendsChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	s := &counting{calls: map[string]int{}}
	batch(t, path, Options[batchllm.Prompt]{}, s, items("a", "b", "fail"))

	its := items("a", "B", "fail", "d")
	its[0].Context = 100 // a new context comes back on a journaled result
	got := byID(batch(t, path, Options[batchllm.Prompt]{}, s, its))
	want := map[string]int{"i0": 1, "i1": 2, "i2": 1, "i3": 1}
	for id, n := range want {
		if s.calls[id] != n {
			t.Errorf("%s: %d calls, want %d", id, s.calls[id], n)
		}
	}
	if r := got["i0"]; r.Output != "re: a" || r.Context != 100 || r.Usage.InputTokens != 3 || r.Attempts != 1 {
		t.Errorf("journaled result %+v", r)
	}
	if got["i1"].Output != "re: B" || got["i3"].Output != "re: d" {
		t.Errorf("new results %+v", got)
	}
	if ie, ok := errors.AsType[*batchllm.ItemError](got["i2"].Err); !ok || ie.Class != batchllm.ClassFatalItem || ie.Err.Error() != "bad request" {
		t.Errorf("journaled failure %v", got["i2"].Err)
	}

	// RetryFailed sends the failed item again, and only it.
	batch(t, path, Options[batchllm.Prompt]{RetryFailed: true}, s, items("a", "B", "fail", "d"))
	if s.calls["i2"] != 2 || s.calls["i0"] != 1 || s.calls["i1"] != 2 {
		t.Errorf("calls after RetryFailed: %v", s.calls)
	}
}

func TestFatalBatchIsNotJournaled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	s := &counting{calls: map[string]int{}}
	got := byID(batch(t, path, Options[batchllm.Prompt]{}, s, items("abort")))
	if got["i0"].Class() != batchllm.ClassFatalBatch {
		t.Fatalf("result %+v", got["i0"])
	}
	batch(t, path, Options[batchllm.Prompt]{}, s, items("abort"))
	if s.calls["i0"] != 2 {
		t.Errorf("%d calls: a fatal batch error must not be final", s.calls["i0"])
	}
}

func TestRecordErrorStopsTheBatch(t *testing.T) {
	j, err := journal.Open[journal.Outcome[string, int]](filepath.Join(t.TempDir(), "j"))
	if err != nil {
		t.Fatal(err)
	}
	r := New(j, Options[batchllm.Prompt]{})
	s := &counting{calls: map[string]int{}}
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, int]{
		Strategy: s, Workers: 1, Record: r.Record, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for _, it := range items("a", "b", "c") {
		if _, _, err := r.Add(context.Background(), p, it); err != nil {
			t.Fatal(err)
		}
	}
	j.Close() // every append now fails
	sum, err := p.Run(context.Background())
	if !errors.Is(err, batchllm.ErrBatchAborted) || !errors.Is(err, journal.ErrClosed) {
		t.Fatalf("Run: %v, want an aborted batch caused by the closed journal", err)
	}
	for _, res := range sum.Results {
		if res.OK() {
			t.Errorf("%s reported as a success though it was not journaled", res.ItemID)
		}
	}
	if s.calls["i1"]+s.calls["i2"] != 0 {
		t.Errorf("calls after the journal failed: %v", s.calls)
	}
}
