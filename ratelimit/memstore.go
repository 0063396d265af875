package ratelimit

import (
	"context"
	"sync"
	"time"
)

// NewMemoryStore returns a [Store] that keeps its state in the process:
// the default of [Config.Store]. Limiters that share one share their
// limits, like a shared database would make them.
func NewMemoryStore() Store { return &memoryStore{} }

type memoryStore struct {
	scopes sync.Map // string → *memoryScope
}

func (m *memoryStore) Scope(name string) ScopeStore {
	if s, ok := m.scopes.Load(name); ok {
		return s.(*memoryScope)
	}
	s, _ := m.scopes.LoadOrStore(name, &memoryScope{})
	return s.(*memoryScope)
}

type memoryScope struct {
	mu sync.Mutex
	b  [NumDims]bucket
	cd Cooldown
}

func (s *memoryScope) Reserve(_ context.Context, now time.Time, cost Amounts) (Reservation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := Reservation{Cooldown: s.cd}
	if now.Before(s.cd.Until) {
		r.Wait = s.cd.Until.Sub(now)
		return r, nil
	}
	for d := range s.b {
		b := &s.b[d]
		if !b.active() {
			continue
		}
		b.advance(now)
		// A cost larger than the burst borrows against later refill once
		// the bucket is full: it must not wait for a level it never holds.
		r.Wait = max(r.Wait, b.fillTime(min(cost[d], b.capacity)))
	}
	if r.Wait > 0 {
		return r, nil
	}
	for d := range s.b {
		s.b[d].take(cost[d])
	}
	return r, nil
}

func (s *memoryScope) Refund(_ context.Context, now time.Time, n Amounts) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for d := range s.b {
		s.b[d].advance(now)
		s.b[d].give(n[d])
	}
	return nil
}

func (s *memoryScope) SetRate(_ context.Context, now time.Time, d Dim, r Rate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &s.b[d]
	if r.Limit > 0 {
		r = r.withDefaults()
	}
	if b.limit == r.Limit && (r.Limit == 0 || b.window == r.Window && b.burst == r.Burst) {
		return nil
	}
	b.setLimit(now, r)
	return nil
}

func (s *memoryScope) SetLevel(_ context.Context, now time.Time, d Dim, n int64, raise bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &s.b[d]
	b.advance(now)
	b.clamp(n)
	if raise {
		b.raise(n)
	}
	return nil
}

func (s *memoryScope) UpdateCooldown(_ context.Context, update func(*Cooldown) bool) (Cooldown, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cd
	if update(&c) {
		s.cd = c
	}
	return s.cd, nil
}

func (s *memoryScope) Snapshot(_ context.Context, now time.Time) (ScopeState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := ScopeState{Cooldown: s.cd}
	for d := range s.b {
		b := &s.b[d]
		if !b.active() {
			continue
		}
		b.advance(now)
		st.Buckets[d] = BucketState{Rate: Rate{Limit: b.limit, Window: b.window, Burst: b.burst}, Available: b.level, Capacity: b.capacity}
	}
	return st, nil
}
