package ratelimit

import "time"

// When a scope knows no limit at all (none configured, none reported in
// headers, as with Gemini), quota refusals are its only signal. Then, at a
// cooldown, the scope infers a request limit from what it admitted in the
// last window (scaled up to a whole window if it has not been watched for
// that long), a tenth below it; the limit it had is remembered as the
// level where refusals began. One burst of refusals cuts once: cooldowns
// within a burst's time (Window/12) of the last cut cut no further. The
// limit never falls below half the highest rate the scope sustained for a
// whole window without a cooldown (its floor), and each window without a
// cooldown wins back half the distance to 97% of the level where refusals
// began, then a fortieth more per window beyond it, to find the limit again
// if it rose or was underestimated: after a cut the scope is back within a
// few percent of the old level in four windows. This is the
// request rate's counterpart of TCP's CUBIC, at the time scale of the
// provider's window; it works beside the Ramp, which acts on concurrency at
// the time scale of a round trip.
const (
	inferDecrease = 0.9
	inferRecover  = 0.97
	inferIncrease = 0.025
)

// recentCounter counts admissions over the last window, in 60 slots of a
// sixtieth of the window each.
type recentCounter struct {
	slots [60]int64
	slot  int64 // the number of the newest slot: time / slot width
}

func (c *recentCounter) roll(now time.Time, window time.Duration) {
	i := now.UnixNano() / max(int64(window)/60, 1)
	switch {
	case i <= c.slot:
		return
	case i-c.slot >= int64(len(c.slots)):
		clear(c.slots[:])
	default:
		for j := c.slot + 1; j <= i; j++ {
			c.slots[j%int64(len(c.slots))] = 0
		}
	}
	c.slot = i
}

func (c *recentCounter) add(now time.Time, window time.Duration) {
	c.roll(now, window)
	c.slots[c.slot%int64(len(c.slots))]++
}

func (c *recentCounter) sum(now time.Time, window time.Duration) int64 {
	c.roll(now, window)
	var n int64
	for _, v := range c.slots {
		n += v
	}
	return n
}

// inferOnCooldown infers a lower request limit at the start of a cooldown,
// if the scope knows no other limit. s.mu is held.
func (s *scope) inferOnCooldown(now time.Time, cooldown time.Duration) {
	if s.l.cfg.NoAdapt {
		return
	}
	if !s.inferred {
		for _, r := range s.rate {
			if r.Limit > 0 {
				return // a configured or reported limit is better information
			}
		}
	}
	if s.inferred && now.Sub(s.lastCut) < s.burst {
		return // the same burst of refusals
	}
	n := s.recent.sum(now, s.window)
	// A scope watched for less than a window has seen only part of one:
	// scale its count up to a window's worth, or a rate limit in the first
	// seconds of a run would infer a limit of a few requests per minute.
	// The cooldown the server imposes is part of the span: a server that
	// let 600 requests through in 6 s and then asks for 54 s of quiet
	// allows 600 a minute, not 6000.
	if span := now.Sub(s.firstAdmit) + cooldown; span < s.window {
		span = max(span, s.window/60) // one slot of the counter at least
		n = int64(float64(n) * float64(s.window) / float64(span))
	}
	// The level where refusals began: the limit in force (or, the first
	// time, the rate seen), the highest of a series of cuts with no quiet
	// window between them.
	began := n
	if s.inferred {
		began = s.rate[DimRequests].Limit
		n = min(n, began)
	}
	if s.inSeries {
		began = max(began, s.refusedAt)
	}
	s.refusedAt, s.inSeries = began, true
	limit := max(1, int64(float64(n)*inferDecrease), s.proven/2)
	s.inferred = true
	s.inferredAt, s.lastCut = now, now
	s.setRate(DimRequests, Rate{Limit: limit, Window: s.window, Burst: s.burst})
}

// growInferred raises an inferred request limit for each window that passed
// without a cooldown: half the way back to the level where refusals began,
// or a twentieth beyond it. s.mu is held.
func (s *scope) growInferred(now time.Time) {
	if !s.inferred {
		return
	}
	k := int64(now.Sub(s.inferredAt) / s.window)
	if k <= 0 {
		return
	}
	s.inferredAt = s.inferredAt.Add(time.Duration(k) * s.window)
	s.inSeries = false
	limit := s.rate[DimRequests].Limit
	for range min(k, 100) {
		if gap := int64(float64(s.refusedAt)*inferRecover) - limit; gap > 1 {
			limit += gap / 2
		} else {
			limit += max(1, int64(float64(limit)*inferIncrease))
		}
	}
	s.setRate(DimRequests, Rate{Limit: limit, Window: s.window, Burst: s.burst})
}

// prove records the rate of each whole window without a cooldown, the
// floor of an inferred limit. s.mu is held.
func (s *scope) prove(now time.Time) {
	if now.Sub(s.provenAt) < s.window {
		return
	}
	if s.cooldowns == s.provenCooldowns && !s.provenAt.IsZero() {
		s.proven = max(s.proven, s.recent.sum(now, s.window))
	}
	s.provenAt, s.provenCooldowns = now, s.cooldowns
}

// dropInferred forgets an inferred request limit once the provider reports
// limits of its own. s.mu is held.
func (s *scope) dropInferred() {
	if s.inferred {
		s.inferred = false
		s.setRate(DimRequests, Rate{})
	}
}
