package redisstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/ratelimit"
	"github.com/batchllm/batchllm/ratelimit/redisstore"
)

// BenchmarkAdmitRelease measures what the Redis store adds to one
// admission: Admit and Release through a Limiter on the store, under
// limits that never make it wait. Target: ≤ 1 ms at the median (p50-ms).
func BenchmarkAdmitRelease(b *testing.B) {
	c := testClient(b)
	st := redisstore.New(c, redisstore.Options{Prefix: testPrefix(b, c)})
	l, err := ratelimit.New(ratelimit.Config{Store: st, Default: ratelimit.Limits{Requests: 1 << 40, Tokens: 1 << 50}})
	if err != nil {
		b.Fatal(err)
	}
	e := batchllm.Estimate{Scope: "bench", InputTokens: 500, MaxOutputTokens: 500}
	var admit []time.Duration
	for b.Loop() {
		start := time.Now()
		p, err := l.Admit(b.Context(), e)
		if err != nil {
			b.Fatal(err)
		}
		admit = append(admit, time.Since(start))
		p.Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 480, OutputTokens: 120}})
	}
	slices.Sort(admit)
	b.ReportMetric(float64(admit[len(admit)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(admit[len(admit)*99/100])/1e6, "p99-ms")
}
