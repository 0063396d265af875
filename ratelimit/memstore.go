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

// memoryScope is a scope's [ScopeData] under a lock.
type memoryScope struct {
	mu sync.Mutex
	d  ScopeData
}

func (s *memoryScope) Reserve(_ context.Context, now time.Time, cost Amounts) (Reservation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d.Reserve(now, cost), nil
}

func (s *memoryScope) Refund(_ context.Context, now time.Time, n Amounts) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d.Refund(now, n)
	return nil
}

func (s *memoryScope) SetRate(_ context.Context, now time.Time, d Dim, r Rate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d.SetRate(now, d, r)
	return nil
}

func (s *memoryScope) SetLevel(_ context.Context, now time.Time, d Dim, n int64, raise bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d.SetLevel(now, d, n, raise)
	return nil
}

func (s *memoryScope) UpdateCooldown(_ context.Context, update func(*Cooldown) bool) (Cooldown, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.d.Cooldown()
	if update(&c) {
		s.d.SetCooldown(c)
	}
	return s.d.Cooldown(), nil
}

func (s *memoryScope) Snapshot(_ context.Context, now time.Time) (ScopeState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d.Snapshot(now), nil
}
