package ratelimit

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// Stats is a snapshot of a [Limiter]'s state, one entry per scope seen so
// far, sorted by scope name.
type Stats struct {
	Scopes []ScopeStats
}

// ScopeStats describes one quota scope.
type ScopeStats struct {
	Scope string
	// Admitted counts the attempts admitted so far; InFlight those not yet
	// released; Waiting those waiting for admission now.
	Admitted int64
	InFlight int
	Waiting  int
	// WaitTime is the total time admitted attempts spent waiting in Admit,
	// cooldowns included.
	WaitTime time.Duration
	// The state of each dimension.
	Requests, Tokens, InputTokens, OutputTokens Dimension
	// Cooldowns counts the cooldowns started and CooldownTime adds up their
	// lengths; CoolingUntil is the end of the cooldown in force, or zero.
	Cooldowns    int64
	CooldownTime time.Duration
	CoolingUntil time.Time
	// Concurrency is the AIMD limit on attempts in flight; 0 means none.
	Concurrency float64
	// Rolling says that admissions are kept within each limit over any
	// RollingWindow, stretched by RollingMargin (a share of it):
	// [Limits.Rolling], or a rolling window found in the provider's
	// readings (see the package documentation).
	Rolling       bool
	RollingWindow time.Duration
	RollingMargin float64
	// StoreErrors counts the [Store] calls that failed on release.
	StoreErrors int64
}

// Dimension is the state of one limit of a scope.
type Dimension struct {
	// Limit is the limit in force per Window; 0 means not limited.
	Limit int64
	// Configured is the limit from [Config]; Reported the one the provider
	// last reported (0 if it never did).
	Configured int64
	Reported   int64
	// ReportedWindow is the window of the reported limit: the one the
	// provider's readings showed, or the scope's window.
	ReportedWindow time.Duration
	// Inferred says that Limit was inferred from rate limits alone (see
	// [Config.NoAdapt]).
	Inferred bool
	// Available is what the bucket holds now; negative is debt.
	Available int64
	// Capacity is the most the bucket holds (the burst).
	Capacity int64
	Window   time.Duration
}

// Stats returns a snapshot of the limiter's state. The buckets and the
// cooldown are read from the store; a scope whose store fails to answer
// shows them empty.
func (l *Limiter) Stats() Stats {
	var st Stats
	now := time.Now()
	l.scopes.Range(func(_, v any) bool {
		s := v.(*scope)
		shared, err := s.store.Snapshot(context.Background(), now)
		s.mu.Lock()
		ss := ScopeStats{
			Scope:        s.name,
			Admitted:     s.admitted,
			InFlight:     s.inflight,
			Waiting:      len(s.queue),
			WaitTime:     s.waited,
			Cooldowns:    s.cooldowns,
			CooldownTime: s.cooldownTime,
			Concurrency:  s.cwnd,
			Rolling:      s.rolling,
			StoreErrors:  s.storeErrors,
		}
		if s.rolling {
			ss.RollingWindow, ss.RollingMargin = s.rollWindow, s.rollingMargin(now)
		}
		if err != nil {
			ss.StoreErrors++
		}
		if now.Before(shared.Cooldown.Until) {
			ss.CoolingUntil = shared.Cooldown.Until
		}
		if s.head {
			ss.Waiting++
		}
		var dims [NumDims]Dimension
		for d, b := range shared.Buckets {
			dims[d] = Dimension{Limit: b.Limit, Configured: s.conf[d], Reported: s.reported[d].Limit, ReportedWindow: s.reported[d].Window, Window: b.Window,
				Available: b.Available, Capacity: b.Capacity}
			if b.Limit == 0 {
				dims[d].Window = s.window
			}
			dims[d].Inferred = d == int(DimRequests) && s.inferred
		}
		s.mu.Unlock()
		ss.Requests, ss.Tokens, ss.InputTokens, ss.OutputTokens = dims[0], dims[1], dims[2], dims[3]
		st.Scopes = append(st.Scopes, ss)
		return true
	})
	slices.SortFunc(st.Scopes, func(a, b ScopeStats) int { return cmp.Compare(a.Scope, b.Scope) })
	return st
}

// Scope returns the stats of the named scope, and false if the limiter has
// not seen it.
func (s Stats) Scope(name string) (ScopeStats, bool) {
	i, ok := slices.BinarySearchFunc(s.Scopes, name, func(a ScopeStats, n string) int { return cmp.Compare(a.Scope, n) })
	if !ok {
		return ScopeStats{}, false
	}
	return s.Scopes[i], true
}

// Debt is the part of the dimension's bucket owed to later attempts: the
// tokens used beyond what was reserved, not yet refilled.
func (d Dimension) Debt() int64 { return max(-d.Available, 0) }
