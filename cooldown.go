package batchllm

import (
	"context"
	"sync"
	"time"

	"github.com/batchllm/batchllm/internal/cooldown"
	"github.com/batchllm/batchllm/internal/fanout"
)

// CooldownGate is the processor's default [Gate]. It admits every attempt at
// once, except during a cooldown: when the shared quota refuses an attempt,
// no worker starts a new attempt until the cooldown ends. Only one cooldown
// runs at a time, and rate-limit errors from attempts admitted before a
// cooldown began do not start another one (they were part of the same
// burst).
//
// Only a refusal that shows the quota exhausted ([EvidenceQuota]) starts a
// cooldown at once. A refusal that shows a want of capacity
// ([EvidenceCapacity]) starts none: the processor retries that item alone.
// Bare 429s ([EvidenceNone]) start one only when they are too frequent to
// be random: at least 10 of the last 32 outcomes.
//
// The cooldown lasts the wait the server asked for (Retry-After,
// retry-after-ms, Gemini's retryDelay, a reset header), even below a
// second, or Floor when it asked for none; it is multiplied by Multiplier
// for each further consecutive rate limit, and capped at Max. Any
// successful attempt resets the multiplier.
//
// The zero value is ready to use with the defaults below. The fields must
// not be changed once the gate is in use.
type CooldownGate struct {
	// Floor is the cooldown when the server names no wait. Default 1 s.
	Floor time.Duration
	// Max caps every cooldown. Default 60 s: no provider's per-minute window
	// needs longer, and Gemini's largest retryDelay seen in practice is under
	// a minute. (The Python library waited 300 s.)
	Max time.Duration
	// Multiplier grows the cooldown on consecutive rate limits. Default 2.
	Multiplier float64

	mu       sync.Mutex
	state    cooldown.State
	refusals cooldown.Refusals
	epoch    *cooldownEpoch // the permit handed out in this generation
	subs     fanout.Subscribers[Event]
}

func (g *CooldownGate) policy() cooldown.Policy {
	return cooldown.Policy{Floor: g.Floor, Max: g.Max, Multiplier: g.Multiplier}.WithDefaults()
}

// Admit waits until no cooldown is in force, or ctx is done.
func (g *CooldownGate) Admit(ctx context.Context, _ Estimate) (Permit, error) {
	for {
		g.mu.Lock()
		wait := time.Until(g.state.Until)
		if g.epoch == nil || g.epoch.generation != g.state.Generation {
			g.epoch = &cooldownEpoch{g: g, generation: g.state.Generation}
		}
		permit := g.epoch
		g.mu.Unlock()
		if wait <= 0 {
			return permit, nil
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// CoolingUntil returns the end of the cooldown in force, or the zero time.
func (g *CooldownGate) CoolingUntil() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Now().Before(g.state.Until) {
		return g.state.Until
	}
	return time.Time{}
}

// ReportEvents implements [EventReporter].
func (g *CooldownGate) ReportEvents(emit func(Event)) func() {
	return g.subs.Subscribe(emit)
}

// RateLimited starts a cooldown as if an attempt admitted in the current
// generation had been refused by the quota with the given server-requested
// wait. It returns the cooldown's length, or 0 if one was already in force.
// Gates that build on CooldownGate call it; the processor never does.
func (g *CooldownGate) RateLimited(retryAfter time.Duration) time.Duration {
	g.mu.Lock()
	return g.startLocked(g.state.Generation, retryAfter)
}

// startLocked starts a cooldown and unlocks g.mu.
func (g *CooldownGate) startLocked(admittedIn uint64, retryAfter time.Duration) time.Duration {
	st, ok := g.policy().Start(&g.state, time.Now(), admittedIn, retryAfter)
	if ok {
		g.refusals.Reset()
	}
	g.mu.Unlock()
	if !ok {
		return 0
	}
	subs := g.subs.Snapshot()
	subs.Send(Event{Kind: EventCooldownStarted, Time: st.At, Duration: st.Duration, Reason: st.Reason})
	time.AfterFunc(st.Duration, func() {
		subs.Send(Event{Kind: EventCooldownEnded, Time: time.Now(), Duration: st.Duration})
	})
	return st.Duration
}

// cooldownEpoch is the permit of every attempt admitted in one generation
// (between two cooldowns): all it needs to know is the generation, so one
// value serves them all and admission allocates nothing.
type cooldownEpoch struct {
	g          *CooldownGate
	generation uint64
}

func (p *cooldownEpoch) Release(o Outcome) {
	switch o.Class {
	case ClassNone:
		p.g.mu.Lock()
		p.g.state.Succeeded()
		p.g.refusals.Add(false)
		p.g.mu.Unlock()
	case ClassRateLimited:
		retryAfter := o.RetryAfter
		if o.Limits != nil {
			retryAfter = max(retryAfter, o.Limits.RetryAfter)
		}
		p.g.mu.Lock()
		// Bare 429s count as the quota's once they are too frequent to be
		// random; capacity refusals never do.
		quota := o.Evidence == EvidenceQuota || o.Evidence == EvidenceNone && p.g.refusals.Add(true)
		if !quota {
			p.g.mu.Unlock()
			return
		}
		p.g.startLocked(p.generation, retryAfter)
	}
}

// sleepCtx waits for d or until ctx is done, and returns ctx's cause then.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
