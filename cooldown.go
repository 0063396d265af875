package batchllm

import (
	"context"
	"math"
	"sync"
	"time"
)

// CooldownGate is the processor's default [Gate]. It admits every attempt at
// once, except during a cooldown: when an attempt is rate limited, no worker
// starts a new attempt until the cooldown ends. Only one cooldown runs at a
// time, and rate-limit errors from attempts admitted before a cooldown began
// do not start another one (they were part of the same burst).
//
// The cooldown's length is the largest of the server's requested wait
// (Retry-After, retry-after-ms, Gemini's retryDelay, a reset header) and
// Floor, multiplied by Multiplier for each further consecutive rate limit,
// and capped at Max. Any successful attempt resets the multiplier.
//
// The zero value is ready to use with the defaults below. The fields must
// not be changed once the gate is in use.
type CooldownGate struct {
	// Floor is the shortest cooldown. Default 1 s: OpenAI's retry-after-ms is
	// often well under a second, and a pause shorter than a second rarely
	// clears a per-minute window.
	Floor time.Duration
	// Max caps every cooldown. Default 60 s: no provider's per-minute window
	// needs longer, and Gemini's largest retryDelay seen in practice is under
	// a minute. (The Python library waited 300 s.)
	Max time.Duration
	// Multiplier grows the cooldown on consecutive rate limits. Default 2.
	Multiplier float64

	mu          sync.Mutex
	until       time.Time      // end of the current or last cooldown
	generation  uint64         // counts cooldowns started
	epoch       *cooldownEpoch // the permit handed out in this generation
	consecutive int            // cooldowns since the last success
	subs        map[int]func(Event)
	nextSub     int
}

func (g *CooldownGate) defaults() (floor, maxd time.Duration, mult float64) {
	floor, maxd, mult = g.Floor, g.Max, g.Multiplier
	if floor <= 0 {
		floor = time.Second
	}
	if maxd <= 0 {
		maxd = time.Minute
	}
	if mult < 1 {
		mult = 2
	}
	return floor, max(floor, maxd), mult
}

// Admit waits until no cooldown is in force, or ctx is done.
func (g *CooldownGate) Admit(ctx context.Context, _ Estimate) (Permit, error) {
	for {
		g.mu.Lock()
		wait := time.Until(g.until)
		if g.epoch == nil || g.epoch.generation != g.generation {
			g.epoch = &cooldownEpoch{g: g, generation: g.generation}
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
	if time.Now().Before(g.until) {
		return g.until
	}
	return time.Time{}
}

// ReportEvents implements [EventReporter].
func (g *CooldownGate) ReportEvents(emit func(Event)) func() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.subs == nil {
		g.subs = make(map[int]func(Event))
	}
	id := g.nextSub
	g.nextSub++
	g.subs[id] = emit
	return func() {
		g.mu.Lock()
		delete(g.subs, id)
		g.mu.Unlock()
	}
}

// RateLimited starts a cooldown as if an attempt admitted in the current
// generation had been rate limited with the given server-requested wait.
// It returns the cooldown's length, or 0 if one was already in force.
// Gates that build on CooldownGate call it; the processor never does.
func (g *CooldownGate) RateLimited(retryAfter time.Duration) time.Duration {
	g.mu.Lock()
	return g.startLocked(g.generation, retryAfter)
}

// startLocked starts a cooldown and unlocks g.mu.
func (g *CooldownGate) startLocked(admittedIn uint64, retryAfter time.Duration) time.Duration {
	now := time.Now()
	if now.Before(g.until) || admittedIn < g.generation {
		g.mu.Unlock()
		return 0
	}
	floor, maxd, mult := g.defaults()
	d, reason := floor, "floor"
	if retryAfter > d {
		d, reason = retryAfter, "retry_after"
	}
	g.consecutive++
	if g.consecutive > 1 {
		d = time.Duration(min(float64(d)*math.Pow(mult, float64(g.consecutive-1)), float64(maxd)))
		reason += "_multiplied"
	}
	if d >= maxd {
		d, reason = maxd, "capped"
	}
	g.until = now.Add(d)
	g.generation++
	subs := make([]func(Event), 0, len(g.subs))
	for _, s := range g.subs {
		subs = append(subs, s)
	}
	g.mu.Unlock()
	for _, s := range subs {
		s(Event{Kind: EventCooldownStarted, Time: now, Duration: d, Reason: reason})
	}
	time.AfterFunc(d, func() {
		for _, s := range subs {
			s(Event{Kind: EventCooldownEnded, Time: time.Now(), Duration: d})
		}
	})
	return d
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
		p.g.consecutive = 0
		p.g.mu.Unlock()
	case ClassRateLimited:
		retryAfter := o.RetryAfter
		if o.Limits != nil {
			retryAfter = max(retryAfter, o.Limits.RetryAfter)
		}
		p.g.mu.Lock()
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
