package ratelimit

import (
	"context"
	"time"
)

// A Store holds the state of a [Limiter] that every process enforcing the
// same quota must share: the token buckets of each scope (their limits,
// learned ones included, and levels, with reservations, refunds and debt)
// and each scope's cooldown. The default, [NewMemoryStore], keeps them in
// the process; a store in a shared database (Redis, say) lets several
// processes keep one provider quota together.
//
// What stays in each Limiter is what only makes sense per process: the
// queue that admits attempts in arrival order, attempts in flight and the
// slow-start ramp on them, and the statistics that lead to learning a limit
// (which it then writes to the store). The module's conformance suite,
// internal/testing/ratelimittest, checks a Store against the Limiter's
// behaviour.
//
// Every method takes the caller's clock reading, so that time is the
// Limiter's (and, in tests, the synctest bubble's); a shared store should
// be used by hosts whose clocks agree to well under a bucket's refill time.
type Store interface {
	// Scope returns the state of the named scope. A scope not yet stored
	// has no limits and no cooldown.
	Scope(name string) ScopeStore
}

// A ScopeStore is the shared state of one quota scope. Its methods are
// safe for concurrent use, each is atomic, and errors are the store's own
// (a lost connection); the in-process store never fails.
//
// A bucket refills continuously at Limit per Window and holds at most
// Limit × Burst / Window (at least 1) of it, its capacity; its level may go
// below zero (debt). The arithmetic is exact: a level reaches target at
// the first nanosecond the refill makes it so, as in [NewMemoryStore].
type ScopeStore interface {
	// Reserve takes cost from every limited dimension at once if no
	// cooldown is in force at now and each can pay: its level is at least
	// min(cost, capacity). Otherwise it takes nothing and returns how long
	// until that could be the case: the rest of the cooldown, or the
	// longest refill. A cost above a dimension's capacity is paid when the
	// bucket is full and leaves it in debt.
	Reserve(ctx context.Context, now time.Time, cost Amounts) (Reservation, error)
	// Refund adds n to the levels of the limited dimensions (what a
	// reservation did not use), never above capacity; a negative amount
	// takes what was used beyond it, below zero if need be.
	Refund(ctx context.Context, now time.Time, n Amounts) error
	// SetRate sets the rate of dimension d; a zero Limit removes its
	// limit. A bucket that had no limit starts full; one that had keeps
	// its level, cut to the new capacity. Setting the rate a bucket
	// already has changes nothing.
	SetRate(ctx context.Context, now time.Time, d Dim, r Rate) error
	// SetLevel makes dimension d's level n (at least 0, at most its
	// Limit), as the provider reported what remains; with raise false,
	// only if that lowers it. A level raised above capacity is not
	// refilled until it is below it again.
	SetLevel(ctx context.Context, now time.Time, d Dim, n int64, raise bool) error
	// UpdateCooldown calls update with the scope's cooldown state and
	// stores the state it leaves if it returns true, atomically: a store
	// that retries on conflict may call update more than once. It returns
	// the state stored.
	UpdateCooldown(ctx context.Context, update func(*Cooldown) bool) (Cooldown, error)
	// Snapshot returns the buckets at now and the cooldown state.
	Snapshot(ctx context.Context, now time.Time) (ScopeState, error)
}

// Dim names one dimension of a scope's limits.
type Dim int

// The dimensions, in the order of [Amounts].
const (
	DimRequests Dim = iota
	DimTokens
	DimInputTokens
	DimOutputTokens
	NumDims
)

var dimNames = [NumDims]string{"requests", "tokens", "input tokens", "output tokens"}

func (d Dim) String() string { return dimNames[d] }

// Amounts holds one number per dimension, indexed by [Dim].
type Amounts [NumDims]int64

// Rate is the limit of one dimension: Limit per Window, with a bucket
// that holds Burst's worth of refill.
type Rate struct {
	Limit  int64
	Window time.Duration // default a minute
	Burst  time.Duration // default Window/12, at most Window
}

func (r Rate) withDefaults() Rate {
	if r.Window <= 0 {
		r.Window = time.Minute
	}
	if r.Burst <= 0 {
		r.Burst = r.Window / 12
	}
	r.Burst = min(r.Burst, r.Window)
	return r
}

// perSecond returns the rate in units per second, for comparing rates
// counted over different windows.
func (r Rate) perSecond() float64 {
	if r.Limit <= 0 {
		return 0
	}
	return float64(r.Limit) / r.withDefaults().Window.Seconds()
}

// Reservation is the answer of [ScopeStore.Reserve].
type Reservation struct {
	// Wait is 0 if the cost was taken; otherwise how long to wait before
	// asking again.
	Wait time.Duration
	// Cooldown is the scope's cooldown state: an attempt remembers the
	// generation it was admitted in.
	Cooldown Cooldown
}

// Cooldown is a scope's cooldown state.
type Cooldown struct {
	// Until is the end of the current or last cooldown.
	Until time.Time
	// Generation counts the cooldowns started.
	Generation uint64
	// Consecutive counts the cooldowns since the last success.
	Consecutive int
}

// BucketState is one dimension of a [ScopeState].
type BucketState struct {
	Rate
	// Available is the level now; negative is debt. Capacity is the most
	// the bucket refills to.
	Available, Capacity int64
}

// ScopeState is a snapshot of a scope's shared state.
type ScopeState struct {
	Buckets  [NumDims]BucketState
	Cooldown Cooldown
}
