package ratelimit

import (
	"math"
	"math/bits"
	"time"
)

// bucket is one dimension of a scope's quota: a token bucket that refills
// continuously at limit tokens per window, holds at most capacity tokens,
// and may go below zero (debt) when an attempt used more than it reserved.
//
// The arithmetic is exact and in integers, so that waits computed from it
// are exact to the nanosecond (which the synctest tests rely on): whole
// tokens are in level, and the part of the next token accrued so far is in
// frac, in token-nanoseconds (limit × elapsed ns), always in [0, window).
type bucket struct {
	limit    int64 // tokens per window; 0 means this dimension is not limited
	window   time.Duration
	burst    time.Duration
	capacity int64 // the most tokens the bucket holds: the burst
	level    int64 // tokens available now; negative is debt
	frac     int64 // token-nanoseconds toward the next token, in [0, window)
	last     time.Time
}

func (b *bucket) active() bool { return b.limit > 0 }

// setLimit makes the bucket refill at r.Limit per r.Window with a capacity
// of r.Burst's worth of refill (at least one token); a zero r.Limit turns
// it off. A bucket that was not active starts full; an active one keeps its
// level, cut to the new capacity.
func (b *bucket) setLimit(now time.Time, r Rate) {
	if r.Limit <= 0 {
		*b = bucket{}
		return
	}
	r = r.withDefaults()
	wasActive := b.active()
	if wasActive {
		b.advance(now)
		// frac/window is the part of a token accrued: keep it in the new
		// window's unit.
		b.frac = min(mulDiv(b.frac, int64(r.Window), int64(b.window)), int64(r.Window)-1)
	}
	b.limit, b.window, b.burst = r.Limit, r.Window, r.Burst
	b.capacity = max(1, mulDiv(r.Limit, int64(r.Burst), int64(r.Window)))
	if !wasActive {
		b.level, b.frac, b.last = b.capacity, 0, now
		return
	}
	if b.level >= b.capacity {
		b.level, b.frac = b.capacity, 0
	}
}

// advance adds the tokens accrued since the last call.
func (b *bucket) advance(now time.Time) {
	window := b.window
	if !b.active() {
		return
	}
	dt := now.Sub(b.last)
	if dt <= 0 {
		return
	}
	b.last = now
	if b.level >= b.capacity {
		b.frac = 0
		return
	}
	if dt >= b.fillTime(b.capacity) {
		b.level, b.frac = b.capacity, 0
		return
	}
	// dt is shorter than the time to fill, so the quotient fits in an int64.
	hi, lo := bits.Mul64(uint64(b.limit), uint64(dt))
	var carry uint64
	lo, carry = bits.Add64(lo, uint64(b.frac), 0)
	q, r := bits.Div64(hi+carry, lo, uint64(window))
	b.level += int64(q)
	b.frac = int64(r)
}

// fillTime returns the time until the level reaches target at the current
// refill rate: 0 if it already has, and at most math.MaxInt64 nanoseconds.
func (b *bucket) fillTime(target int64) time.Duration {
	window := b.window
	if b.level >= target {
		return 0
	}
	deficit := uint64(target - b.level)
	// ceil((deficit × window − frac) / limit), with a 128-bit numerator.
	hi, lo := bits.Mul64(deficit, uint64(window))
	var borrow uint64
	lo, borrow = bits.Sub64(lo, uint64(b.frac), 0)
	hi -= borrow
	lim := uint64(b.limit)
	if hi >= lim {
		return math.MaxInt64
	}
	q, r := bits.Div64(hi, lo, lim)
	if r != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(q)
}

// take removes n tokens; the level may go negative.
func (b *bucket) take(n int64) {
	if b.active() {
		b.level -= n
	}
}

// give returns n tokens (a refund), never above capacity, and never
// lowering a level a provider's report raised above it; a negative n is
// debt.
func (b *bucket) give(n int64) {
	if !b.active() {
		return
	}
	switch {
	case n < 0:
		b.level += n
	case b.level < b.capacity:
		b.level = min(b.level+n, b.capacity)
	}
	if b.level >= b.capacity {
		b.frac = 0
	}
}

// clamp lowers the level to at most n (never below zero by itself).
func (b *bucket) clamp(n int64) {
	n = max(n, 0)
	if b.active() && b.level > n {
		b.level, b.frac = n, 0
	}
}

// raise lifts the level to n if it is lower, as a provider's report of
// what remains may (at the start of a run, the opening allowance of a
// provider whose bucket holds more than the burst).
func (b *bucket) raise(n int64) {
	if b.active() && b.level < n {
		b.level = min(n, max(b.limit, b.capacity))
	}
}

// mulDiv returns a × b / c rounded down, for non-negative a, b and positive
// c, saturating at math.MaxInt64.
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(min(q, math.MaxInt64))
}
