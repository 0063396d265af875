package batchllm_test

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
)

var noop = batchllm.StrategyFunc[int, int](func(ctx context.Context, r batchllm.Request[int]) (batchllm.Response[int], error) {
	return batchllm.Response[int]{Output: r.Input, Usage: batchllm.Usage{InputTokens: 1, OutputTokens: 1}}, nil
})

// streamItems runs n items through a processor with a no-op strategy,
// streaming the results, and returns the number of results.
func streamItems(b *testing.B, n, workers int) int {
	ctx := context.Background()
	p, err := batchllm.New(batchllm.Config[int, int, struct{}]{Strategy: noop, Workers: workers, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(ctx)
	go func() {
		defer p.Finish()
		for i := range n {
			if err := p.Add(ctx, batchllm.Item[int, int, struct{}]{ID: strconv.Itoa(i), Input: i}); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	got := 0
	for range p.Results(ctx) {
		got++
	}
	return got
}

// BenchmarkOverhead measures the framework's cost per item: a no-op
// strategy, 64 workers, results streamed. Target: ≥ 500,000 items/s on 2
// cores.
func BenchmarkOverhead(b *testing.B) {
	b.ReportAllocs()
	start := time.Now()
	if got := streamItems(b, b.N, 64); got != b.N {
		b.Fatalf("%d results for %d items", got, b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "items/s")
}

// BenchmarkStreamMillion streams 1,000,000 items and reports the process's
// peak resident memory while it ran. Run it alone (-bench StreamMillion),
// since peak RSS belongs to the whole process. Target: ≤ 64 MiB.
func BenchmarkStreamMillion(b *testing.B) {
	for b.Loop() {
		var peak atomic.Int64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				peak.Store(max(peak.Load(), rssBytes()))
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		if got := streamItems(b, 1_000_000, 64); got != 1_000_000 {
			b.Fatalf("%d results", got)
		}
		close(stop)
		<-done
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-RSS-MiB")
	}
}

// rssBytes reads the resident set size from /proc/self/status (Linux); 0
// elsewhere.
func rssBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
