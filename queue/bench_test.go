package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/queue"
)

// promptItems returns n items with a prompt-sized input.
func promptItems(n int) iter.Seq2[queue.Item, error] {
	return func(yield func(queue.Item, error) bool) {
		for i := range n {
			in, _ := json.Marshal(map[string]any{"model": "gpt-4o-mini", "messages": []map[string]string{{"role": "user", "content": fmt.Sprintf("question number %d: why is the sky blue?", i)}}})
			if !yield(queue.Item{ID: fmt.Sprintf("q%07d", i), Input: in, Context: json.RawMessage(`{"Digest":"0123456789abcdef0123456789abcdef"}`)}, nil) {
				return
			}
		}
	}
}

// BenchmarkEnqueue100k creates runs of 100,000 items: one transaction of
// River bulk inserts each. Target: ≤ 10 s per run.
func BenchmarkEnqueue100k(b *testing.B) {
	q, _, _ := testQueue(b)
	const n = 100_000
	i := 0
	for b.Loop() {
		if _, err := q.CreateRun(b.Context(), fmt.Sprintf("enq%d", i), json.RawMessage(`{}`), promptItems(n)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(i), "s/run")
	b.ReportMetric(float64(n*i)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkQueueNoop works runs of no-op items through one worker: fetch,
// processor, and the results recorded with their jobs' completions in
// batched transactions. Target: ≥ 2,000 items/s on a 2-core machine. The
// worker has 256 slots: LLM calls last seconds, so a run that sends 2,000
// items a second has thousands in flight.
func BenchmarkQueueNoop(b *testing.B) {
	q, _, _ := testQueue(b)
	const n = 10_000
	noop := batchllm.StrategyFunc[string, string](func(ctx context.Context, r batchllm.Request[string]) (batchllm.Response[string], error) {
		return batchllm.Response[string]{Output: r.Input}, nil
	})
	var worked time.Duration
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("noop%d", i)
		i++
		b.StopTimer()
		if _, err := q.CreateRun(b.Context(), id, json.RawMessage(`{}`), items(n)); err != nil {
			b.Fatal(err)
		}
		cfg := workerConfig(noop, nil)
		cfg.Workers, cfg.Runs = 256, []string{id}
		w, err := queue.NewWorker(q, cfg)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { done <- w.Run(ctx) }()
		got := 0
		for _, err := range q.Follow(b.Context(), id, 10*time.Millisecond) {
			if err != nil {
				b.Fatal(err)
			}
			got++
		}
		worked += time.Since(start)
		b.StopTimer()
		cancel()
		<-done
		if got != n {
			b.Fatalf("%d results; want %d", got, n)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*i)/worked.Seconds(), "items/s")
}
