package ratelimit

import "slices"

// A provider's reading of what remains counts the requests it has seen
// when it answered. Attempts admitted after the one the reading came with
// are not in it, and adapt subtracts them. Attempts admitted before it
// may not be in it either: under load, a request admitted earlier can
// reach the provider later than one admitted after it. A reading that
// raises the level (the provider holds more than the local bucket) is
// therefore lowered by what the attempts admitted earlier and still in
// flight cost, lest their reservations be spent twice. That is cautious by
// at most those attempts, most of which the provider had in fact seen; the
// next readings make it up. The discount never takes the level below
// zero: a reading of nothing left (Gemini's quota refusals, a 429's
// headers) is exhausted already, and pushing it into debt would idle the
// scope for a share of the window after every refusal.

// liveAttempt is an attempt in flight: its admission number and cost.
type liveAttempt struct {
	n    int64
	cost Amounts
}

// addLive records an admitted attempt, number n (the scope's admissions
// so far, itself included). Numbers increase, so live stays sorted. s.mu
// is held.
func (s *scope) addLive(n int64, cost Amounts) {
	s.live = append(s.live, liveAttempt{n, cost})
}

// removeLive forgets attempt n and returns what the attempts admitted
// before it and still in flight cost. s.mu is held.
func (s *scope) removeLive(n int64) (earlier Amounts) {
	i, found := slices.BinarySearchFunc(s.live, n, func(a liveAttempt, n int64) int {
		switch {
		case a.n < n:
			return -1
		case a.n > n:
			return 1
		}
		return 0
	})
	for _, a := range s.live[:i] {
		for d := range earlier {
			earlier[d] += a.cost[d]
		}
	}
	if found {
		s.live = slices.Delete(s.live, i, i+1)
	}
	return earlier
}
