package ledgertest

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
)

// Spent is what [SpendUntilRefused] did.
type Spent struct {
	// Real is the real cost of every admitted attempt.
	Real cost.Amount
	// MaxNeed is the largest worst case of an attempt, admitted or refused.
	MaxNeed  cost.Amount
	Attempts int
	Refusals int
}

// SpendUntilRefused runs workers goroutines on each budget (the budgets of
// several processes that share a ledger, or one alone). Each admits
// attempts whose estimates it draws with estimate and releases each with
// the outcome use draws, whose usage must not pass the estimate, until its
// budget refuses one. It checks that every refusal is a [*cost.BudgetError]
// of class fatal_batch for an attempt that did not fit, that no real cost
// passes its reservation, and that a budget's own spent and reserved
// amounts stay within its limit; and it returns what was spent.
func SpendUntilRefused(t *testing.T, prices *cost.Table, budgets []*cost.Budget, workers int,
	estimate func(*rand.Rand) batchllm.Estimate, use func(*rand.Rand, batchllm.Estimate) batchllm.Outcome) Spent {
	var (
		mu  sync.Mutex
		out Spent
		wg  sync.WaitGroup
	)
	for p, b := range budgets {
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(p), uint64(w)))
				for {
					e := estimate(rng)
					need, err := prices.Estimate(e, 0, false)
					if err != nil {
						t.Error(err)
						return
					}
					ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
					permit, err := b.Admit(ctx, e)
					cancel()
					if err != nil {
						var be *cost.BudgetError
						if !errors.As(err, &be) || batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassFatalBatch {
							t.Errorf("Admit: %v; want a fatal_batch refusal for an exhausted budget", err)
						} else if be.Spent+be.Need <= be.Limit {
							t.Errorf("refused although it fit: %+v", be)
						}
						mu.Lock()
						out.Refusals++
						out.MaxNeed = max(out.MaxNeed, need.Max)
						mu.Unlock()
						return
					}
					if s, r := b.Spent(), b.Reserved(); s+r > b.Limit() {
						t.Errorf("spent %v + reserved %v > limit %v", s, r, b.Limit())
					}
					o := use(rng, e)
					c, err := prices.Cost(e.Model, o.Usage, false)
					if err != nil {
						t.Error(err)
					}
					if c > need.Max {
						t.Errorf("real cost %v > reservation %v for %+v", c, need.Max, o.Usage)
					}
					mu.Lock()
					out.Real += c
					out.Attempts++
					out.MaxNeed = max(out.MaxNeed, need.Max)
					mu.Unlock()
					permit.Release(o)
				}
			})
		}
	}
	wg.Wait()
	return out
}
