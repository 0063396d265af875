package ratelimit

import (
	"time"

	"github.com/batchllm/batchllm"
)

// A scope that knows no limit at all (none configured) starts by probing,
// the way TCP's slow start does: one attempt in flight, and one more for
// each success, which doubles the attempts in flight every round trip.
// Without it, every worker starts at once, before the first answer can say
// what the limits are, and against a provider whose limit is below the
// number of workers (20 a second, 50 workers) the excess of that first
// wave is refused: 5% of a 600-item run. The first answer that reports a
// limit ends the probe (the buckets then govern), as does a quota refusal
// (the Ramp then governs), and so does reaching probeEnd attempts in
// flight. A provider that reports nothing (Gemini) costs a few round trips
// at the start: 64 workers are all busy after about six. The probe lasts at
// most probeFor from the first admission: an LLM call can take a minute,
// and a run must not wait several of them before it uses its workers.
const (
	probeEnd = 1024
	probeFor = time.Second
)

// probeWait returns how long the head attempt must wait, at most, for an
// attempt to end because the scope is probing: 0 when it need not. s.mu is
// held.
func (s *scope) probeWait(now time.Time) time.Duration {
	if s.probe == 0 || s.admitted == 0 {
		return 0
	}
	if !now.Before(s.firstAdmit.Add(probeFor)) {
		s.probe = 0
		return 0
	}
	if s.inflight < s.probe {
		return 0
	}
	return s.firstAdmit.Add(probeFor).Sub(now)
}

// probeOutcome moves the probe on for one outcome. s.mu is held.
func (s *scope) probeOutcome(o batchllm.Outcome, quota bool) {
	if s.probe == 0 {
		return
	}
	switch {
	case quota || reportsLimits(o.Limits):
		s.probe = 0
	case o.Class == batchllm.ClassNone:
		s.probe++
		if s.probe >= probeEnd {
			s.probe = 0
		}
	}
}

// reportsLimits reports whether li reports a limit, not only a retry delay.
func reportsLimits(li *batchllm.LimitInfo) bool {
	return li != nil && (li.Requests.Known() || li.Tokens.Known() || li.InputTokens.Known() || li.OutputTokens.Known())
}
