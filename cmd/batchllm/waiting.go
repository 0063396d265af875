package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/ratelimit"
)

// admissions counts the attempts waiting in each of the run's two gates,
// so that the progress line can say why a run is slow: an attempt in the
// budget's Admit but not yet in the limiter's waits for the budget (for
// calls in flight to settle their reservations); one in the limiter waits
// for a rate limit or a cooldown, which the limiter's Stats tell apart.
type admissions struct {
	inBudget, inLimiter atomic.Int64
}

// countingGate counts the calls to its gate's Admit that have not returned.
type countingGate struct {
	next batchllm.Gate
	n    *atomic.Int64
}

func (g countingGate) Admit(ctx context.Context, e batchllm.Estimate) (batchllm.Permit, error) {
	g.n.Add(1)
	defer g.n.Add(-1)
	return g.next.Admit(ctx, e)
}

// ReportEvents forwards the wrapped gate's events (cooldowns, limits): the
// processor only sees them through the outermost gate.
func (g countingGate) ReportEvents(emit func(batchllm.Event)) (unsubscribe func()) {
	if rep, ok := g.next.(batchllm.EventReporter); ok {
		return rep.ReportEvents(emit)
	}
	return func() {}
}

// waitingFor says why attempts are waiting for admission, or "" if none
// is: a cooldown after a 429 (the most telling, so named first), the
// budget (the worst cases of the calls in flight leave no room for another
// until they settle), or the rate limit that is spent. lim is the limiter's state at
// now; budgetWaits the attempts held by the budget.
func waitingFor(now time.Time, lim ratelimit.Stats, budgetWaits int64) string {
	for _, s := range lim.Scopes {
		if s.CoolingUntil.After(now) {
			return fmt.Sprintf("429 cooldown %s", shortDuration(s.CoolingUntil.Sub(now)))
		}
	}
	if budgetWaits > 0 {
		return "budget"
	}
	for _, s := range lim.Scopes {
		if s.Waiting == 0 {
			continue
		}
		if s.Concurrency > 0 && float64(s.InFlight) >= s.Concurrency {
			return fmt.Sprintf("concurrency limit (%d in flight)", s.InFlight)
		}
		// The dimension with the least room left is the one that holds
		// the attempts back.
		name, least := "", 2.0
		for _, d := range limitDims(s) {
			if d.dim.Limit <= 0 || d.dim.Capacity <= 0 {
				continue
			}
			if room := float64(d.dim.Available) / float64(d.dim.Capacity); room < least {
				name, least = d.name, room
			}
		}
		if name == "" {
			return "rate limit"
		}
		return name + " limit"
	}
	return ""
}

// namedDim is one limit of a scope with the name the progress line gives
// it.
type namedDim struct {
	name string
	dim  ratelimit.Dimension
}

func limitDims(s ratelimit.ScopeStats) []namedDim {
	return []namedDim{{"rpm", s.Requests}, {"tpm", s.Tokens}, {"input tpm", s.InputTokens}, {"output tpm", s.OutputTokens}}
}

// limitsInForce describes the limits the limiter enforces, per minute
// ("500 rpm, 200k tpm learned"), those not told (--rpm, --tpm) but learned
// from the provider's headers or its 429s marked so: for the scope that admitted the most attempts, as a
// run of the CLI mostly has one (its provider and model).
func limitsInForce(lim ratelimit.Stats) string {
	var busiest *ratelimit.ScopeStats
	for i := range lim.Scopes {
		if busiest == nil || lim.Scopes[i].Admitted > busiest.Admitted {
			busiest = &lim.Scopes[i]
		}
	}
	if busiest == nil {
		return ""
	}
	out := ""
	for _, d := range limitDims(*busiest) {
		if d.dim.Limit <= 0 || d.dim.Window <= 0 {
			continue
		}
		perMin := d.dim.Limit * int64(time.Minute) / int64(d.dim.Window)
		if out != "" {
			out += ", "
		}
		out += count(perMin) + " " + d.name
		if d.dim.Configured != d.dim.Limit {
			out += " learned"
		}
	}
	return out
}

// shortDuration writes d rounded to what a person reads at a glance:
// "45s", "3m20s", "2h05m".
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "<1s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 100*time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
