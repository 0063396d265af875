package cost

import (
	"context"
	"time"
)

// A Ledger keeps a budget's totals where several processes share them (a
// Redis server, a database), so that the [Budget]s of every process that
// works one job share one cap. Each step is atomic across processes.
//
// An implementation must account for processes that die holding
// reservations: their attempts may have been sent and paid, so a
// reservation that is never settled must in time be counted as spent at
// its full amount, never dropped.
type Ledger interface {
	// Reserve adds need to the reserved total if the spent and reserved
	// totals leave room for it under limit, and returns the totals it
	// found (before its own reservation) and, if it reserved, the function
	// that settles the reservation: it releases need and adds cost to the
	// spent total. While the store cannot be reached Reserve waits, and
	// returns an error only when ctx ends.
	Reserve(ctx context.Context, limit, need Amount) (tot LedgerTotals, settle func(ctx context.Context, cost Amount) error, err error)
}

// LedgerTotals are a shared budget's totals.
type LedgerTotals struct {
	// Spent is the real cost of every settled attempt, and the full
	// reservations of processes that died before settling theirs.
	Spent Amount
	// Reserved is the worst cases of the attempts in flight, in every
	// process.
	Reserved Amount
}

// ledgerPoll is how often an attempt that waits for room in a shared
// budget looks again: the reservations that could make room are other
// processes', which cannot wake it.
const ledgerPoll = 100 * time.Millisecond

// settleTimeout bounds the settling of an attempt in a Ledger.
const settleTimeout = 30 * time.Second
