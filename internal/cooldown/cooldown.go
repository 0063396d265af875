// Package cooldown holds the mechanics of a cooldown after a rate limit,
// shared by the processor's default gate (batchllm.CooldownGate) and the
// rate limiter's scopes: how long it lasts, the rule that one burst of
// refusals makes one cooldown, and the multiplier on consecutive ones.
// Callers keep a [State] under their own lock (or in a shared store) and
// act on what [Policy.Start] returns directly, without events.
package cooldown

import (
	"math"
	"time"
)

// Defaults of [Policy].
const (
	DefaultFloor      = time.Second
	DefaultMax        = time.Minute
	DefaultMultiplier = 2.0
)

// Policy says how long cooldowns are. Zero fields mean the defaults.
type Policy struct {
	// Floor is the cooldown when the server names no wait. A wait the
	// server names (Retry-After, retry-after-ms, a reset header) is used
	// as it is, even below Floor: a server that says 200 ms means it.
	Floor time.Duration
	// Max caps every cooldown.
	Max time.Duration
	// Multiplier grows the cooldown on consecutive rate limits (>= 1).
	Multiplier float64
}

// WithDefaults returns p with its zero fields filled in.
func (p Policy) WithDefaults() Policy {
	if p.Floor <= 0 {
		p.Floor = DefaultFloor
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	if p.Multiplier < 1 {
		p.Multiplier = DefaultMultiplier
	}
	p.Max = max(p.Max, p.Floor)
	return p
}

// State is the cooldown state of one gate or scope.
type State struct {
	// Until is the end of the current or last cooldown.
	Until time.Time
	// Generation counts the cooldowns started: an attempt admitted in an
	// earlier generation was part of the burst that started the current
	// one, and its rate limit starts no other.
	Generation uint64
	// Consecutive counts the cooldowns since the last success.
	Consecutive int
}

// Started describes a cooldown that [Policy.Start] began.
type Started struct {
	At       time.Time
	Duration time.Duration
	// Reason says which signal chose the length: "floor" or "retry_after",
	// with "_multiplied" when consecutive rate limits lengthened it, or
	// "capped".
	Reason string
}

// Start begins a cooldown in s at now for a rate limit of an attempt
// admitted in generation admittedIn, with the server's requested wait
// retryAfter (0 if none). It reports false, and leaves s alone, while a
// cooldown is in force or when the attempt was admitted before the current
// cooldown began. p's defaults must have been applied.
func (p Policy) Start(s *State, now time.Time, admittedIn uint64, retryAfter time.Duration) (Started, bool) {
	if now.Before(s.Until) || admittedIn < s.Generation {
		return Started{}, false
	}
	d, reason := p.Floor, "floor"
	if retryAfter > 0 {
		d, reason = retryAfter, "retry_after"
	}
	s.Consecutive++
	if s.Consecutive > 1 {
		d = time.Duration(min(float64(d)*math.Pow(p.Multiplier, float64(s.Consecutive-1)), float64(p.Max)))
		reason += "_multiplied"
	}
	if d >= p.Max {
		d, reason = p.Max, "capped"
	}
	s.Until = now.Add(d)
	s.Generation++
	return Started{At: now, Duration: d, Reason: reason}, true
}

// Succeeded records a success: the next cooldown is not multiplied.
func (s *State) Succeeded() { s.Consecutive = 0 }
