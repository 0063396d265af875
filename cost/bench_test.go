package cost_test

import (
	"context"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
)

func BenchmarkTableCost(b *testing.B) {
	tab := cost.Default()
	u := batchllm.Usage{InputTokens: 12000, CachedInputTokens: 8000, OutputTokens: 700}
	for b.Loop() {
		if _, err := tab.Cost("gpt-4o-mini-2024-07-18", u, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBudgetAdmitRelease measures one reservation and its settlement
// under contention from all Ps, around a gate that admits at once.
func BenchmarkBudgetAdmitRelease(b *testing.B) {
	bud := mustBudget(b, cost.MaxAmount, cost.BudgetOptions{Next: &openGate{}})
	e := batchllm.Estimate{Model: "gpt-4o-mini", InputTokens: 1000, MaxOutputTokens: 500}
	o := batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 1000, OutputTokens: 200}}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, err := bud.Admit(context.Background(), e)
			if err != nil {
				b.Error(err)
				return
			}
			p.Release(o)
		}
	})
}
