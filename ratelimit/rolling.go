package ratelimit

import "time"

// A token bucket of limit L per window W admits up to its burst plus L in
// any window W. OpenAI and Anthropic count their limits so, but gateways in
// front of OpenAI-compatible servers may count a rolling window (never
// more than L in any W; llmsim's RollingWindow cites two), and against one
// a bucket's burst is refused in every window, however well it paces. A
// scope told so ([Limits.Rolling]) also keeps a log of its admissions and
// admits an attempt only when every limit, over the window before it,
// still has room. The window is rollingMargin longer than the limit's,
// because an attempt reaches the server a varying time after its
// admission here. Windows longer than rollingMaxWindow are not rolled: a
// day's log would hold a day's admissions.
const (
	rollingMargin    = 0.02
	rollingMaxWindow = time.Minute
)

// rollingLog is what a scope admitted over its longest rolling window,
// oldest first.
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
// now. A cost larger than a limit waits for its window to empty (the
// bucket then lets it through into debt, as it does without a log).
func (r *rollingLog) wait(now time.Time, cost, limit Amounts, span time.Duration) time.Duration {
	var d time.Duration
	for dim := range limit {
		if limit[dim] <= 0 || cost[dim] == 0 {
			continue
		}
		// Let the oldest entries leave until the cost fits.
		need := r.sum[dim] + min(cost[dim], limit[dim]) - limit[dim]
		for _, e := range r.entries[r.head:] {
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
// and that window: the scope's own, stretched by rollingMargin. It
// returns a zero span when the scope does not roll. s.mu is held.
func (s *scope) rollingSpan() (limit Amounts, span time.Duration) {
	if !s.rolling || s.window > rollingMaxWindow {
		return limit, 0
	}
	for d, r := range s.rate {
		limit[d] = r.Limit
	}
	return limit, s.window + time.Duration(float64(s.window)*rollingMargin)
}

// rollingWait is how long the head attempt, of cost, must wait at now
// for the scope's rolling window; 0 when the scope does not roll. s.mu is
// held.
func (s *scope) rollingWait(now time.Time, cost Amounts) time.Duration {
	limit, span := s.rollingSpan()
	if span == 0 {
		return 0
	}
	s.rollLog.prune(now, span)
	return s.rollLog.wait(now, cost, limit, span)
}

// logAdmission records an admission in a rolling scope's log. s.mu is
// held.
func (s *scope) logAdmission(now time.Time, cost Amounts) {
	if _, span := s.rollingSpan(); span > 0 {
		s.rollLog.add(now, cost)
	}
}
