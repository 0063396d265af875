// Package ledgertest is the test suite that every [cost.Ledger] passes:
// the budgets of several processes that share one ledger never spend past
// their cap, and a process that dies holding reservations leaves them
// counted as spent.
package ledgertest

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
)

// Ledger is a cost.Ledger under test.
type Ledger interface {
	cost.Ledger
	// Totals reads the shared totals, charging lapsed leases first.
	Totals(ctx context.Context) (cost.LedgerTotals, error)
	// Close stops renewing the process's lease.
	Close()
}

// Open returns a new ledger (as a new process would open it) on the
// budget key, whose leases lapse after ttl.
type Open func(t *testing.T, key string, ttl time.Duration) Ledger

// Run runs the suite. Each test uses its own budget key.
func Run(t *testing.T, open Open) {
	t.Run("SharedCap", func(t *testing.T) { sharedCap(t, open) })
	t.Run("DeadProcessCharged", func(t *testing.T) { deadProcessCharged(t, open) })
}

type openGate struct{}

func (openGate) Admit(context.Context, batchllm.Estimate) (batchllm.Permit, error) {
	return openPermit{}, nil
}

type openPermit struct{}

func (openPermit) Release(batchllm.Outcome) {}

// sharedCap runs the workers of two processes, each with its own Budget on
// its own ledger of one key, until both are refused: what they spent,
// together, is within the cap, and within the largest attempt of it.
func sharedCap(t *testing.T, open Open) {
	key := t.Name()
	prices := cost.Default()
	limit := 4 * cost.Cent
	const processes, workers = 2, 8
	ledgers := make([]Ledger, processes)
	budgets := make([]*cost.Budget, processes)
	for i := range ledgers {
		ledgers[i] = open(t, key, 30*time.Second)
		b, err := cost.NewBudget(limit, cost.BudgetOptions{Prices: prices, Next: openGate{}, Ledger: ledgers[i]})
		if err != nil {
			t.Fatal(err)
		}
		budgets[i] = b
	}
	spent := SpendUntilRefused(t, prices, budgets, workers,
		func(rng *rand.Rand) batchllm.Estimate {
			return batchllm.Estimate{Model: "gpt-4o-mini", InputTokens: 500 + rng.Int64N(1000), MaxOutputTokens: 100 + rng.Int64N(500)}
		},
		func(rng *rand.Rand, e batchllm.Estimate) batchllm.Outcome {
			return batchllm.Outcome{Usage: batchllm.Usage{InputTokens: rng.Int64N(e.InputTokens + 1), OutputTokens: rng.Int64N(e.MaxOutputTokens + 1)}}
		})
	realSum, maxNeed, refusals, attempts := spent.Real, spent.MaxNeed, spent.Refusals, spent.Attempts
	tot, err := ledgers[0].Totals(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if realSum > limit || tot.Spent > limit {
		t.Fatalf("overspent: the attempts cost %v, the ledger says %v; the cap is %v", realSum, tot.Spent, limit)
	}
	if tot.Spent < realSum {
		t.Errorf("the ledger says %v was spent; the attempts cost %v", tot.Spent, realSum)
	}
	if tot.Reserved != 0 {
		t.Errorf("%v still reserved after every attempt ended", tot.Reserved)
	}
	if refusals != processes*workers {
		t.Errorf("%d workers were refused; want all %d", refusals, processes*workers)
	}
	if left := limit - tot.Spent; left >= maxNeed {
		t.Errorf("%v left unspent, more than the largest attempt (%v): refused too early", left, maxNeed)
	}
	t.Logf("%d attempts by %d processes, spent %v of %v", attempts, processes, tot.Spent, limit)
}

// deadProcessCharged reserves in one process that then stops renewing its
// lease, as a killed one would: once the lease lapses, another process
// finds the reservation charged as spent in full; the dead process's late
// settlement changes nothing; and it can reserve again under a new lease.
func deadProcessCharged(t *testing.T, open Open) {
	key := t.Name()
	const ttl = 300 * time.Millisecond
	dead, live := open(t, key, ttl), open(t, key, ttl)
	ctx := t.Context()
	limit, need := cost.Dollar, 10*cost.Cent
	_, settle, err := dead.Reserve(ctx, limit, need)
	if err != nil || settle == nil {
		t.Fatalf("Reserve = %v, %v; want a reservation", settle != nil, err)
	}
	dead.Close() // as kill -9 would: nothing renews its lease any more
	tot, err := live.Totals(ctx)
	if err != nil || tot.Reserved != need || tot.Spent != 0 {
		t.Fatalf("Totals while the lease holds = %+v, %v; want %v reserved, nothing spent", tot, err, need)
	}
	// The lease lapses on the store's clock: look until it has.
	deadline := time.Now().Add(10 * time.Second)
	for tot.Spent == 0 && time.Now().Before(deadline) {
		time.Sleep(ttl / 3)
		if tot, err = live.Totals(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if tot.Spent != need || tot.Reserved != 0 {
		t.Fatalf("Totals after the lease lapsed = %+v; want the reservation (%v) spent, nothing reserved", tot, need)
	}
	if err := settle(ctx, cost.Cent); err != nil {
		t.Fatal(err)
	}
	if tot, _ = live.Totals(ctx); tot.Spent != need {
		t.Errorf("a lapsed reservation's settlement changed the spent total to %v; want %v", tot.Spent, need)
	}
	// The process was not dead after all: it goes on under a new lease.
	_, settle, err = dead.Reserve(ctx, limit, need)
	if err != nil || settle == nil {
		t.Fatalf("Reserve after the lease lapsed = %v, %v; want a reservation", settle != nil, err)
	}
	if err := settle(ctx, 2*cost.Cent); err != nil {
		t.Fatal(err)
	}
	if tot, _ = live.Totals(ctx); tot.Spent != need+2*cost.Cent || tot.Reserved != 0 {
		t.Errorf("Totals = %+v; want %v spent, nothing reserved", tot, need+2*cost.Cent)
	}
	// Room left: 1 − 0.12; a reservation of 0.9 does not fit.
	tot, settle, err = live.Reserve(ctx, limit, 90*cost.Cent)
	if err != nil || settle != nil {
		t.Errorf("Reserve beyond the cap = %v, %v; want no reservation", settle != nil, err)
	}
	if tot.Spent != need+2*cost.Cent {
		t.Errorf("refused Reserve reports %v spent; want %v", tot.Spent, need+2*cost.Cent)
	}
}
