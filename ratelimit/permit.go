package ratelimit

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"github.com/batchllm/batchllm"
)

// permit is one admitted attempt's reservation.
type permit struct {
	s    *scope
	cost Amounts
	// generation and consecutive are the scope's cooldown state at
	// admission; cooldowns is this Limiter's count of the scope's
	// cooldowns then.
	generation  uint64
	consecutive int
	cooldowns   int64
	released    atomic.Bool
}

// Release implements [batchllm.Permit]. It reconciles the reservation with
// o.Usage: unused tokens go back to the buckets, and tokens used beyond the
// reservation are taken from them, as debt if need be, which later
// admissions wait out. Zero usage means unknown, and the reservation stands.
// It learns from o.Limits, and a refusal by the quota starts a cooldown
// (see the package documentation for the rule). Calls after the first do
// nothing. A store error leaves the store as it was and is counted in
// [ScopeStats.StoreErrors].
func (p *permit) Release(o batchllm.Outcome) {
	if p.released.Swap(true) {
		return
	}
	s := p.s
	ctx := context.Background()
	now := time.Now()

	s.mu.Lock()
	inflight := s.inflight
	s.inflight--
	quota := false
	switch o.Class {
	case batchllm.ClassNone:
		s.refusals.Add(false)
	case batchllm.ClassRateLimited:
		quota = o.Evidence == batchllm.EvidenceQuota || o.Evidence == batchllm.EvidenceNone && s.refusals.Add(true)
	}
	succeeded := o.Class == batchllm.ClassNone && (p.consecutive > 0 || s.cooldowns != p.cooldowns)
	if a := s.l.aimd; a != nil && o.Class == batchllm.ClassNone && s.cwnd > 0 && float64(inflight) >= math.Floor(s.cwnd) {
		s.cwnd += a.Increase / s.cwnd
	}
	var refund Amounts
	if !o.Usage.IsZero() {
		in := o.Usage.InputTokens
		if s.exempt {
			in -= o.Usage.CachedInputTokens
		}
		out := o.Usage.OutputTokens
		if s.chargeMaxOut {
			out = max(out, p.cost[DimOutputTokens])
		}
		used := Amounts{1, in + out, in, out}
		for d := range refund {
			refund[d] = p.cost[d] - used[d]
		}
	}
	s.mu.Unlock()

	if quota {
		s.startCooldown(ctx, now, p.generation, s.cooldownWait(o, p.cost), inflight)
	} else if succeeded {
		// A success ends the run of consecutive cooldowns.
		if _, err := s.store.UpdateCooldown(ctx, func(c *Cooldown) bool {
			if c.Consecutive == 0 {
				return false
			}
			c.Consecutive = 0
			return true
		}); err != nil {
			s.countStoreError()
		}
	}
	if refund != (Amounts{}) {
		if err := s.store.Refund(ctx, now, refund); err != nil {
			s.countStoreError()
		}
	}
	if o.Limits != nil && !s.l.cfg.NoAdapt {
		s.adapt(ctx, now, o.Limits)
	}
	s.wake()
}

// cooldownWait returns the wait a rate-limited outcome asks for: the largest
// of the server's Retry-After (header or body) and, for each limit the
// provider reports exhausted, its reset time (see [Config.FullResetWait]).
func (s *scope) cooldownWait(o batchllm.Outcome, cost Amounts) time.Duration {
	wait := o.RetryAfter
	li := o.Limits
	if li == nil {
		return wait
	}
	wait = max(wait, li.RetryAfter)
	for d, w := range windows(li) {
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

// windows returns the limits of li in the order of the dimensions.
func windows(li *batchllm.LimitInfo) [NumDims]batchllm.LimitWindow {
	return [NumDims]batchllm.LimitWindow{li.Requests, li.Tokens, li.InputTokens, li.OutputTokens}
}

// adapt follows what the provider reported: it enforces a reported limit
// where none is configured or where it is lower than the configured one,
// and lowers each bucket to the remaining count.
func (s *scope) adapt(ctx context.Context, now time.Time, li *batchllm.LimitInfo) {
	ws := windows(li)
	s.mu.Lock()
	if li.Requests.Known() || li.Tokens.Known() || li.InputTokens.Known() || li.OutputTokens.Known() {
		s.dropInferred()
	}
	for d, w := range ws {
		if !w.Known() {
			continue
		}
		s.reported[d] = w.Limit
		limit := w.Limit
		if s.conf[d] > 0 {
			limit = min(limit, s.conf[d])
		}
		s.setRate(Dim(d), Rate{Limit: limit, Window: s.window, Burst: s.burst})
	}
	s.mu.Unlock()
	s.applyLearned(ctx, now)
	for d, w := range ws {
		if w.Known() {
			if err := s.store.SetLevel(ctx, now, Dim(d), w.Remaining, false); err != nil {
				s.countStoreError()
			}
		}
	}
}
