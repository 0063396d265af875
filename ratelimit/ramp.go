package ratelimit

import (
	"fmt"
	"time"
)

// A Ramp says how a scope's admissions recover after a cooldown. It is one
// of [*LinearRamp], [*AIMD] or [NoRamp]; a nil Ramp in [Config] means
// &AIMD{}.
//
// AIMD is the default because it adapts to the limit instead of assuming
// one: a rate limit halves the attempts in flight, which halves the request
// rate of a latency-bound run at once, and successes add the concurrency
// back one step per round trip, so the gate settles just under the point
// where the provider starts refusing. It also works when no limit is known
// at all (Gemini sends no rate-limit headers). The linear ramp of the Python
// library is there for compatibility: its fixed delays know nothing of the
// real limit, and with its defaults enforced for all workers together the
// ramp alone spreads 50 admissions over about 52 s.
type Ramp interface {
	ramp() // only the types of this package are Ramps
}

// LinearRamp is the Python library's slow start, enforced at admission for
// all workers of the scope together (the Python library paused each worker
// separately). After a cooldown ends, admission number k (0-based) waits
// until at least
//
//	max(FinalDelay, InitialDelay − (InitialDelay − FinalDelay) × k / Items)
//
// has passed since the previous one (or since the end of the cooldown, for
// k = 0). After Items admissions the ramp is over. Another cooldown starts it
// again. The buckets and the other limits still apply.
type LinearRamp struct {
	// Items is the length of the ramp in admissions. Default 50.
	Items int
	// InitialDelay is the spacing of the first admission. Default 2 s.
	InitialDelay time.Duration
	// FinalDelay is the smallest spacing. Default 100 ms.
	FinalDelay time.Duration
}

func (*LinearRamp) ramp() {}

// delay returns the spacing before admission k of the ramp. The ramp's
// defaults must have been applied.
func (r *LinearRamp) delay(k int) time.Duration {
	d := r.InitialDelay - time.Duration(int64(r.InitialDelay-r.FinalDelay)*int64(k)/int64(r.Items))
	return max(d, r.FinalDelay)
}

func (r LinearRamp) withDefaults() (*LinearRamp, error) {
	switch {
	case r.Items < 0:
		return nil, fmt.Errorf("ratelimit: LinearRamp.Items is %d; it must be >= 0 (0 means 50)", r.Items)
	case r.InitialDelay < 0 || r.FinalDelay < 0:
		return nil, fmt.Errorf("ratelimit: LinearRamp delays must be >= 0, got %v and %v", r.InitialDelay, r.FinalDelay)
	}
	if r.Items == 0 {
		r.Items = 50
	}
	if r.InitialDelay == 0 {
		r.InitialDelay = 2 * time.Second
	}
	if r.FinalDelay == 0 {
		r.FinalDelay = 100 * time.Millisecond
	}
	r.FinalDelay = min(r.FinalDelay, r.InitialDelay)
	return &r, nil
}

// AIMD limits the attempts in flight in a scope with additive increase and
// multiplicative decrease, as TCP does with its congestion window. There is
// no limit until the first cooldown; when a cooldown starts the limit
// becomes Decrease × the attempts in flight (at least Min). Then each
// successful attempt that ends while the limit is reached adds
// Increase / limit to it, that is Increase per window of successes.
type AIMD struct {
	// Increase is added to the concurrency limit per window of successes.
	// Default 1.
	Increase float64
	// Decrease multiplies the attempts in flight when a cooldown starts;
	// between 0 and 1. Default 0.5.
	Decrease float64
	// Min is the smallest concurrency limit. Default 1.
	Min int
}

func (*AIMD) ramp() {}

func (a AIMD) withDefaults() (*AIMD, error) {
	switch {
	case a.Increase < 0:
		return nil, fmt.Errorf("ratelimit: AIMD.Increase is %v; it must be >= 0 (0 means 1)", a.Increase)
	case a.Decrease < 0 || a.Decrease >= 1:
		return nil, fmt.Errorf("ratelimit: AIMD.Decrease is %v; it must be in [0, 1) (0 means 0.5)", a.Decrease)
	case a.Min < 0:
		return nil, fmt.Errorf("ratelimit: AIMD.Min is %d; it must be >= 0 (0 means 1)", a.Min)
	}
	if a.Increase == 0 {
		a.Increase = 1
	}
	if a.Decrease == 0 {
		a.Decrease = 0.5
	}
	if a.Min == 0 {
		a.Min = 1
	}
	return &a, nil
}

// NoRamp turns slow start off: admission resumes at full speed when a
// cooldown ends.
type NoRamp struct{}

func (NoRamp) ramp() {}
