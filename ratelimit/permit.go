package ratelimit

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/batchllm/batchllm"
)

// permit is one admitted attempt's reservation.
type permit struct {
	s        *scope
	cd       batchllm.Permit // the cooldown gate's permit, which knows the cooldown generation
	cost     [numDims]int64
	released atomic.Bool
}

// Release implements [batchllm.Permit]. It reconciles the reservation with
// o.Usage: unused tokens go back to the buckets, and tokens used beyond the
// reservation are taken from them, as debt if need be, which later
// admissions wait out. Zero usage means unknown, and the reservation stands.
// It learns from o.Limits, and a rate-limited outcome starts a cooldown.
// Calls after the first do nothing.
func (p *permit) Release(o batchllm.Outcome) {
	if p.released.Swap(true) {
		return
	}
	s := p.s
	// The cooldown gate decides whether this outcome starts a cooldown (one
	// per burst of rate limits) and resets its multiplier on success. Its
	// events reach s.onCooldownEvent, which takes s.mu: call it unlocked.
	co := o
	if o.Class == batchllm.ClassRateLimited {
		co.RetryAfter = s.cooldownWait(o, p.cost)
	}
	p.cd.Release(co)

	s.mu.Lock()
	now := time.Now()
	inflight := s.inflight
	s.inflight--
	if !o.Usage.IsZero() {
		in := o.Usage.InputTokens
		if s.exempt {
			in -= o.Usage.CachedInputTokens
		}
		out := o.Usage.OutputTokens
		if s.chargeMaxOut {
			out = max(out, p.cost[dimOutput])
		}
		used := [numDims]int64{1, in + out, in, out}
		for d := range s.b {
			s.b[d].advance(now, s.window)
			s.b[d].give(p.cost[d] - used[d])
		}
	}
	if o.Limits != nil && !s.l.cfg.NoAdapt {
		s.adapt(now, o.Limits)
	}
	if a := s.l.aimd; a != nil && o.Class == batchllm.ClassNone && s.cwnd > 0 && float64(inflight) >= math.Floor(s.cwnd) {
		s.cwnd += a.Increase / s.cwnd
	}
	s.mu.Unlock()
	s.wake()
}

// cooldownWait returns the wait a rate-limited outcome asks for: the largest
// of the server's Retry-After (header or body) and, for each limit the
// provider reports exhausted, its reset time (see [Config.FullResetWait]).
func (s *scope) cooldownWait(o batchllm.Outcome, cost [numDims]int64) time.Duration {
	wait := o.RetryAfter
	li := o.Limits
	if li == nil {
		return wait
	}
	wait = max(wait, li.RetryAfter)
	for d, w := range [numDims]batchllm.LimitWindow{li.Requests, li.Tokens, li.InputTokens, li.OutputTokens} {
		if !w.Known() || w.Remaining > 0 || w.Reset <= 0 {
			continue
		}
		r := w.Reset
		if !s.l.cfg.FullResetWait {
			r = time.Duration(mulDiv(int64(w.Reset), min(max(cost[d], 1), w.Limit), w.Limit))
		}
		wait = max(wait, r)
	}
	return wait
}

// adapt follows what the provider reported: it enforces a reported limit
// where none is configured or where it is lower than the configured one,
// and lowers each bucket to the remaining count. s.mu is held.
func (s *scope) adapt(now time.Time, li *batchllm.LimitInfo) {
	if li.Requests.Known() || li.Tokens.Known() || li.InputTokens.Known() || li.OutputTokens.Known() {
		s.dropInferred()
	}
	for d, w := range [numDims]batchllm.LimitWindow{li.Requests, li.Tokens, li.InputTokens, li.OutputTokens} {
		if !w.Known() {
			continue
		}
		s.reported[d] = w.Limit
		limit := w.Limit
		if s.conf[d] > 0 {
			limit = min(limit, s.conf[d])
		}
		b := &s.b[d]
		if b.limit != limit {
			b.setLimit(now, limit, s.burst, s.window)
		}
		b.advance(now, s.window)
		b.clamp(w.Remaining)
	}
}
