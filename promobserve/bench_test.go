package promobserve_test

import (
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/promobserve"
)

// BenchmarkOnEvent measures one attempt's events (started, completed) as an
// observer sees them.
func BenchmarkOnEvent(b *testing.B) {
	c := promobserve.New(promobserve.Options{Prices: cost.Default()})
	t0 := time.Unix(0, 0)
	start := batchllm.Event{Kind: batchllm.EventAttemptStarted, Time: t0, ItemID: "x", Attempt: 1, Duration: time.Millisecond}
	done := batchllm.Event{Kind: batchllm.EventItemCompleted, Time: t0.Add(time.Second), ItemID: "x", Attempt: 1, Model: "gpt-4o-mini",
		Usage: batchllm.Usage{InputTokens: 1000, OutputTokens: 100}}
	for b.Loop() {
		c.OnEvent(start)
		c.OnEvent(done)
	}
}
