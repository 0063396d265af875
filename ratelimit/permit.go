package ratelimit

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/batchllm/batchllm"
)

// permit is one admitted attempt's reservation.
type permit struct {
	s    *scope
	n    int64 // the scope's admissions when this one was admitted, itself included
	cost Amounts
	// generation and consecutive are the scope's cooldown state at
	// admission; cooldowns is this Limiter's count of the scope's
	// cooldowns then.
	generation  uint64
	consecutive int
	cooldowns   int64
	cumAt       Amounts // the scope's admitted total, this attempt included
	calib       *calibration
	estIn       int64 // the input tokens estimated, before calibration
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
	if o.Class == batchllm.ClassNone {
		p.calib.observe(o.Usage.InputTokens, p.estIn)
	}
	s := p.s
	ctx := context.Background()
	now := time.Now()

	s.mu.Lock()
	inflight := s.inflight
	s.inflight--
	earlier := s.removeLive(p.n)
	quota := false
	switch o.Class {
	case batchllm.ClassNone:
		s.refusals.Add(false)
	case batchllm.ClassRateLimited:
		quota = o.Evidence == batchllm.EvidenceQuota || o.Evidence == batchllm.EvidenceNone && s.refusals.Add(true)
	}
	if !s.l.cfg.NoAdapt {
		s.probeOutcome(o, quota)
		if o.Class == batchllm.ClassNone && o.Limits != nil {
			s.observeRolling(now, o.Limits)
		}
	}
	if quota {
		s.widenRolling(now, p.n)
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
		if !s.l.cfg.NoAdapt {
			s.refute(ctx, now, o.Limits)
		}
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
		s.adapt(ctx, now, o.Limits, p.cumAt, earlier)
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

// adapt follows what the provider reported (see "Adaptation" in the
// package documentation): the limit of each dimension, over the window
// the reading shows (a minute when nothing does), is enforced where none
// is configured; a configured limit stands unless quota refusals proved it
// too high (see refute). The bucket's level becomes what the provider says
// remains, less what this Limiter admitted after the attempt the reading
// came with; it may rise above the burst when the provider's own bucket
// holds more, its opening allowance, unless a configured limit below the
// provider's is in force; a level raised so is lowered by what earlier
// attempts still in flight cost (see unseen.go).
func (s *scope) adapt(ctx context.Context, now time.Time, li *batchllm.LimitInfo, cumAt, earlier Amounts) {
	ws := windows(li)
	var level Amounts
	var raise, known [NumDims]bool
	s.mu.Lock()
	if li.Requests.Known() || li.Tokens.Known() || li.InputTokens.Known() || li.OutputTokens.Known() {
		s.dropInferred()
	}
	for d, w := range ws {
		if !w.Known() {
			continue
		}
		if w.Window > 0 {
			s.learnedWindow[d] = w.Window
		}
		rep := s.reportedRate(Dim(d), w.Limit)
		s.reported[d] = rep
		rate := rep
		if s.conf[d] > 0 && !s.refuted[d] {
			rate = s.confRate(Dim(d))
		}
		s.setRate(Dim(d), rate)
		known[d] = true
		level[d] = w.Remaining - (s.cum[d] - cumAt[d])
		raise[d] = rate.perSecond() >= rep.perSecond()
		if raise[d] && level[d] > 0 {
			// Never into debt: a reading of nothing left (a quota
			// refusal) already counts the attempts before it.
			level[d] = max(level[d]-earlier[d], 0)
		}
	}
	cumSet, rolling := s.cum, s.rolling // a scope may be found to roll at any answer
	s.mu.Unlock()
	s.applyLearned(ctx, now)
	for d := range known {
		// A rolling window's remaining count comes back whole a window
		// after each admission, not continuously: the log, not the
		// level, follows it (rolling.go).
		if known[d] && !rolling {
			if err := s.store.SetLevel(ctx, now, Dim(d), level[d], raise[d]); err != nil {
				s.countStoreError()
			}
		}
	}
	// A raised level is set, not lowered: attempts that reserved while it
	// was being set took their share from the level it replaced, so take
	// it again. An attempt counts in s.cum once its reservation is made,
	// so this catches all of them, and takes twice the few that reserved
	// after the level was set (cautious, and made up by the next reading).
	s.mu.Lock()
	var again Amounts
	for d := range again {
		if raise[d] && known[d] && !rolling {
			again[d] = cumSet[d] - s.cum[d]
		}
	}
	s.mu.Unlock()
	if again != (Amounts{}) {
		if err := s.store.Refund(ctx, now, again); err != nil {
			s.countStoreError()
		}
	}
}

// reportedRate is a reported limit over the window the provider showed
// for it, or the scope's window when it showed none; in a scope found to
// roll, over its rolling window, all of which may go at once. s.mu is
// held.
func (s *scope) reportedRate(d Dim, limit int64) Rate {
	if s.rollLearned {
		// Its readings show no window: the reset is the rolling one's.
		return Rate{Limit: limit, Window: s.rollWindow, Burst: s.rollWindow}
	}
	w := s.learnedWindow[d]
	if w == 0 {
		return Rate{Limit: limit, Window: s.window, Burst: s.burst}
	}
	// The same share of the window as the configured burst.
	return Rate{Limit: limit, Window: w, Burst: time.Duration(mulDiv(int64(w), int64(s.burst), int64(s.window)))}
}

// confRate is the configured limit of dimension d. s.mu is held.
func (s *scope) confRate(d Dim) Rate {
	return Rate{Limit: s.conf[d], Window: s.window, Burst: s.burst}
}

// refute handles a quota refusal under a configured limit: a dimension the
// provider reports exhausted, with a reported limit below the configured
// one, proves the configured limit too high. From then on the reported
// limit is enforced, and the Limiter says so once per dimension. A header
// alone (a reported limit lower than the configured one, with no refusal)
// never lowers a configured limit.
func (s *scope) refute(ctx context.Context, now time.Time, li *batchllm.LimitInfo) {
	if li == nil {
		return
	}
	var warn []string
	s.mu.Lock()
	for d, w := range windows(li) {
		if !w.Known() || s.conf[d] == 0 || s.refuted[d] || w.Remaining*100 > w.Limit {
			continue
		}
		if w.Window > 0 {
			s.learnedWindow[d] = w.Window
		}
		rep, conf := s.reportedRate(Dim(d), w.Limit), s.confRate(Dim(d))
		if rep.perSecond() >= conf.perSecond() {
			continue
		}
		s.refuted[d] = true
		s.setRate(Dim(d), rep)
		warn = append(warn, fmt.Sprintf("ratelimit: scope %q: the provider refused requests under the configured limit of %d %s per %v; it reports %d per %v, which is enforced from now on",
			s.name, conf.Limit, Dim(d), conf.Window, rep.Limit, rep.Window))
	}
	s.mu.Unlock()
	s.applyLearned(ctx, now)
	for _, msg := range warn {
		s.l.log.Warn(msg)
	}
}
