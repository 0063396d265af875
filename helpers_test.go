package batchllm_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/batchllmtest"
)

type (
	item   = batchllm.Item[string, string, int]
	result = batchllm.Result[string, int]
	config = batchllm.Config[string, string, int]
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// echo returns a mock whose output is "out:" + input.
func echo() *batchllmtest.Mock[string, string] {
	return &batchllmtest.Mock[string, string]{
		Respond: func(r batchllm.Request[string]) string { return "out:" + r.Input },
		Usage:   batchllm.Usage{InputTokens: 10, OutputTokens: 5},
	}
}

func newProc(t *testing.T, cfg config) *batchllm.Processor[string, string, int] {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	p, err := batchllm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func addN(t *testing.T, p *batchllm.Processor[string, string, int], n int) {
	t.Helper()
	for i := range n {
		if err := p.Add(context.Background(), item{ID: fmt.Sprintf("i%03d", i), Input: fmt.Sprint(i), Context: i}); err != nil {
			t.Fatal(err)
		}
	}
}

// runOne adds an item with the given ID, runs p, and returns its result.
func runOne(t *testing.T, p *batchllm.Processor[string, string, int], id string) result {
	t.Helper()
	if err := p.Add(t.Context(), item{ID: id}); err != nil {
		t.Fatal(err)
	}
	sum, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Results) != 1 {
		t.Fatalf("%d results, want 1", len(sum.Results))
	}
	return sum.Results[0]
}

// runInputs adds an item per input, with the input as its ID, and runs
// them.
func runInputs(t *testing.T, p *batchllm.Processor[string, string, int], inputs ...string) map[string]result {
	t.Helper()
	for _, in := range inputs {
		if err := p.Add(t.Context(), item{ID: in, Input: in}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return sum.ByID()
}

// callTimes is a middleware that records, per item, the offsets from t0 at
// which its attempts began.
type callTimes struct {
	mu    sync.Mutex
	t0    time.Time
	times map[string][]time.Duration
}

func newCallTimes() *callTimes {
	return &callTimes{t0: time.Now(), times: map[string][]time.Duration{}}
}

func (c *callTimes) middleware(next batchllm.Strategy[string, string]) batchllm.Strategy[string, string] {
	return batchllm.StrategyFunc[string, string](func(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
		c.mu.Lock()
		c.times[r.ItemID] = append(c.times[r.ItemID], time.Since(c.t0))
		c.mu.Unlock()
		return next.Call(ctx, r)
	})
}

func (c *callTimes) of(id string) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.times[id]...)
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
