package ratelimit

import (
	"time"

	"github.com/batchllm/batchllm"
)

// A rolling window's headers look like a bucket's: a limit, what remains
// and a reset. What tells them apart is how the reset follows the count
// used (limit − remaining). A bucket's reset is the time until it is full
// again, (used / limit) × window give or take a unit of refill (OpenAI's
// "time until the rate limit resets to its initial state", a continuous
// refill: "remaining 59, reset 1s" at 60 a minute,
// https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers;
// Anthropic's "continuously replenished" bucket,
// https://docs.anthropic.com/en/api/rate-limits), so it grows in
// proportion to what is used. A rolling window's reset, read right after
// a request, is when that request leaves the window: a whole window,
// whatever is used (llmsim's RollingWindow). A fixed window's reset is
// longest when least is used.
//
// The rule, on the requests dimension only (its counts are exact; token
// counts are estimates), from readings of successful attempts of one
// limit L of at least rollingMinLimit: a reading is high when at least
// 80% of L is used, low when at most half is. A rolling window shows
// rollingReadings low readings whose reset is at least 90% of the longest
// reset of a high reading. A bucket cannot: its low readings have a reset
// of at most half its window, its high ones more than 80% less a unit,
// 70% of its window at L = 10, and (0.5 + e) / 0.7 stays under 0.9 for
// any error e in the reset (its rounding to a second, a clock skew) below
// 13% of the window. The scope then counts the rolling window found: the
// longest reset read, as told by [Limits.Rolling].
const (
	rollingReadings = 3
	rollingMinLimit = 10
)

// rollingEvidence gathers the readings of the requests limit that tell a
// rolling window from a bucket.
type rollingEvidence struct {
	limit   int64                          // the limit the readings are of
	high    time.Duration                  // the longest reset of a high reading
	low     [rollingReadings]time.Duration // the longest resets of low readings, longest first
	longest time.Duration                  // the longest reset of any reading
}

// observe adds a reading of a successful attempt and returns the window
// of the rolling window it shows, or 0 while it shows none.
func (e *rollingEvidence) observe(w batchllm.LimitWindow) time.Duration {
	if w.Limit < rollingMinLimit || w.Reset <= 0 || w.Remaining > w.Limit {
		return 0
	}
	if w.Limit != e.limit {
		*e = rollingEvidence{limit: w.Limit}
	}
	e.longest = max(e.longest, w.Reset)
	used := w.Limit - w.Remaining
	switch {
	case used*5 >= w.Limit*4:
		e.high = max(e.high, w.Reset)
	case used*2 <= w.Limit:
		for i, r := range e.low {
			if w.Reset > r {
				copy(e.low[i+1:], e.low[i:])
				e.low[i] = w.Reset
				break
			}
		}
	}
	if e.high > 0 && e.low[rollingReadings-1]*10 >= e.high*9 {
		return e.longest
	}
	return 0
}

// observeRolling looks for a rolling window in the requests reading li of
// a successful attempt, unless the scope already rolls, and switches the
// scope to it when found (see rollingEvidence). What the reading shows
// used then enters the log at now, when it leaves at the latest. s.mu is
// held.
func (s *scope) observeRolling(now time.Time, li *batchllm.LimitInfo) {
	if !li.Requests.Known() {
		return
	}
	if s.rollLearned {
		// A success's reset is the whole window: follow the longest.
		if r := li.Requests.Reset; r > s.rollWindow && r <= rollingMaxWindow {
			s.rollWindow = r
		}
		return
	}
	if s.rolling {
		return
	}
	w := s.rollSeen.observe(li.Requests)
	if w == 0 || w > rollingMaxWindow {
		return
	}
	s.rolling, s.rollLearned, s.rollWindow = true, true, w
	var used Amounts
	for d, r := range windows(li) {
		if r.Known() {
			used[d] = max(r.Limit-r.Remaining, 0)
		}
	}
	s.rollLog.add(now, used)
}
