package ratelimit

import "time"

// A token bucket of limit L per window W admits up to its burst plus L in
// any window W. OpenAI and Anthropic count their limits so, but gateways in
// front of OpenAI-compatible servers may count a rolling window (never
// more than L in any W; llmsim's RollingWindow cites two), and against one
// a bucket's burst is refused in every window, however well it paces. A
// rolling scope (told so by [Limits.Rolling], or found so by its readings:
// rollingevidence.go) also keeps a log of its admissions and admits an
// attempt only when every limit, over the window before it, still has
// room. Its bucket may then burst a whole window, so that each window's
// limit goes out at once as the server allows (the log is what governs).
//
// The window the log keeps is a margin longer than the limit's, because
// an attempt reaches the server a varying time after its admission here:
// a wave admitted W after the one before reaches the server less than W
// after it when the earlier wave was held up on its way (a busy CPU, a
// garbage collection), and the server refuses the difference. The margin
// starts at rollingMargin, which covers the delays measured on a loaded
// 2-core machine (99th percentile 2–20 ms from admission to the server at
// load 5–9, README's bench section); a quota refusal of the scope shows
// it too short and doubles it, up to rollingMaxMargin (once per burst of
// refusals: refusals of attempts admitted before the last widening do not
// widen it again), and each window without one takes back a quarter of
// what it has above rollingMargin. A wider margin costs its share of the
// rate: 2% is 98% of the limit at best.
//
// Windows longer than rollingMaxWindow are not rolled: a day's log would
// hold a day's admissions.
const (
	rollingMargin    = 0.02
	rollingMaxMargin = 0.16
	rollingMaxWindow = time.Minute
)

// rollingLog is what a scope admitted over its longest rolling window
// (rollingMaxMargin included), oldest first.
type rollingLog struct {
	entries []rollingEntry
	head    int     // entries[:head] have left the window
	sum     Amounts // of entries[head:]
}

type rollingEntry struct {
	at   time.Time
	cost Amounts
}

// prune forgets what was admitted at or before now − span.
func (r *rollingLog) prune(now time.Time, span time.Duration) {
	for r.head < len(r.entries) && !r.entries[r.head].at.Add(span).After(now) {
		for d, v := range r.entries[r.head].cost {
			r.sum[d] -= v
		}
		r.head++
	}
	// Reuse the array once most of it is dead.
	if r.head > 64 && r.head*2 > len(r.entries) {
		n := copy(r.entries, r.entries[r.head:])
		clear(r.entries[n:])
		r.entries, r.head = r.entries[:n], 0
	}
}

// wait returns how long from now until cost fits, in every dimension d
// with a limit, under limit[d] over the window span before: 0 if it fits
// now. The log may hold entries older than span (it is pruned to the
// longest span). A cost larger than a limit waits for its window to empty
// (the bucket then lets it through into debt, as it does without a log).
func (r *rollingLog) wait(now time.Time, cost, limit Amounts, span time.Duration) time.Duration {
	// Leave out what has left the span but not the log.
	first, sum := r.head, r.sum
	for first < len(r.entries) && !r.entries[first].at.Add(span).After(now) {
		for d, v := range r.entries[first].cost {
			sum[d] -= v
		}
		first++
	}
	var d time.Duration
	for dim := range limit {
		if limit[dim] <= 0 || cost[dim] == 0 {
			continue
		}
		// Let the oldest entries leave until the cost fits.
		need := sum[dim] + min(cost[dim], limit[dim]) - limit[dim]
		for _, e := range r.entries[first:] {
			if need <= 0 {
				break
			}
			need -= e.cost[dim]
			d = max(d, e.at.Add(span).Sub(now))
		}
	}
	return d
}

// add records an admission of cost at now.
func (r *rollingLog) add(now time.Time, cost Amounts) {
	r.entries = append(r.entries, rollingEntry{now, cost})
	for d, v := range cost {
		r.sum[d] += v
	}
}

// rollingSpan returns the limits a rolling scope keeps over any window,
// the window it keeps them over now (the margin included) and the longest
// it may keep them over; zero spans when the scope does not roll. s.mu is
// held.
func (s *scope) rollingSpan(now time.Time) (limit Amounts, span, longest time.Duration) {
	w := s.rollWindow
	if !s.rolling || w <= 0 || w > rollingMaxWindow {
		return limit, 0, 0
	}
	for d, r := range s.rate {
		limit[d] = r.Limit
	}
	return limit, w + time.Duration(float64(w)*s.rollingMargin(now)), w + time.Duration(float64(w)*rollingMaxMargin)
}

// rollingMargin returns the margin in force at now, after taking back a
// quarter of its excess over rollingMargin for each whole window since it
// last changed. s.mu is held.
func (s *scope) rollingMargin(now time.Time) float64 {
	if s.rollMargin <= rollingMargin {
		return rollingMargin
	}
	k := int(now.Sub(s.rollMarginAt) / s.rollWindow)
	for range min(k, 64) {
		s.rollMargin = rollingMargin + (s.rollMargin-rollingMargin)*3/4
	}
	if k > 0 {
		s.rollMarginAt = s.rollMarginAt.Add(time.Duration(k) * s.rollWindow)
	}
	return s.rollMargin
}

// widenRolling doubles a rolling scope's margin after a quota refusal of
// the attempt admitted n-th, unless it was admitted before the last
// widening (the same burst of refusals). s.mu is held.
func (s *scope) widenRolling(now time.Time, n int64) {
	if !s.rolling || n <= s.rollWidenedAt {
		return
	}
	s.rollMargin = min(2*s.rollingMargin(now), rollingMaxMargin)
	s.rollMarginAt, s.rollWidenedAt = now, s.admitted
}

// rollingWait is how long the head attempt, of cost, must wait at now
// for the scope's rolling window; 0 when the scope does not roll. s.mu is
// held.
func (s *scope) rollingWait(now time.Time, cost Amounts) time.Duration {
	limit, span, longest := s.rollingSpan(now)
	if span == 0 {
		return 0
	}
	s.rollLog.prune(now, longest)
	return s.rollLog.wait(now, cost, limit, span)
}

// logAdmission records an admission in a rolling scope's log. s.mu is
// held.
func (s *scope) logAdmission(now time.Time, cost Amounts) {
	if _, span, _ := s.rollingSpan(now); span > 0 {
		s.rollLog.add(now, cost)
	}
}
