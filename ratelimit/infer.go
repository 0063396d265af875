package ratelimit

import "time"

// When a scope knows no limit at all (none configured, none reported in
// headers, as with Gemini), rate limits are its only signal. Then, at each
// cooldown, the scope infers a request limit from what it admitted in the
// last window (scaled up to a whole window if it has not been watched for
// that long), a tenth below it, and raises it by a twentieth per window
// without a cooldown, to find the limit again if it was too cautious. This
// is AIMD on the request rate, at the time scale of the provider's window;
// it works beside the Ramp, which acts on concurrency at the time scale of
// a round trip.
const (
	inferDecrease = 0.9
	inferIncrease = 0.05
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
func (s *scope) inferOnCooldown(now time.Time) {
	if s.l.cfg.NoAdapt {
		return
	}
	if !s.inferred {
		for d := range s.b {
			if s.b[d].active() {
				return // a configured or reported limit is better information
			}
		}
	}
	n := s.recent.sum(now, s.window)
	// A scope watched for less than a window has seen only part of one:
	// scale its count up to a window's worth, or a rate limit in the first
	// seconds of a run would infer a limit of a few requests per minute.
	if span := now.Sub(s.firstAdmit); span < s.window {
		span = max(span, s.window/60) // one slot of the counter at least
		n = int64(float64(n) * float64(s.window) / float64(span))
	}
	if s.inferred {
		n = min(n, s.b[dimRequests].limit)
	}
	s.inferred = true
	s.inferredAt = now
	s.b[dimRequests].setLimit(now, max(1, int64(float64(n)*inferDecrease)), s.burst, s.window)
}

// growInferred raises an inferred request limit for each window that passed
// without a cooldown. s.mu is held.
func (s *scope) growInferred(now time.Time) {
	if !s.inferred {
		return
	}
	k := int64(now.Sub(s.inferredAt) / s.window)
	if k <= 0 {
		return
	}
	s.inferredAt = s.inferredAt.Add(time.Duration(k) * s.window)
	b := &s.b[dimRequests]
	limit := b.limit
	for range min(k, 100) {
		limit += max(1, int64(float64(limit)*inferIncrease))
	}
	b.setLimit(now, limit, s.burst, s.window)
}

// dropInferred forgets an inferred request limit once the provider reports
// limits of its own. s.mu is held.
func (s *scope) dropInferred() {
	if s.inferred {
		s.inferred = false
		s.b[dimRequests] = bucket{}
	}
}
