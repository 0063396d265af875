// Package fanout delivers values to a changing set of subscribers: the
// subscriber list of the cooldown gates and the rate limiter, written once.
package fanout

import "sync"

// Subscribers is a set of functions that each receive every value sent.
// The zero value is ready to use; it is safe for concurrent use.
type Subscribers[E any] struct {
	mu   sync.Mutex
	subs map[int]func(E)
	next int
}

// Subscribe adds f and returns the function that removes it.
func (s *Subscribers[E]) Subscribe(f func(E)) (unsubscribe func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs == nil {
		s.subs = make(map[int]func(E))
	}
	id := s.next
	s.next++
	s.subs[id] = f
	return func() {
		s.mu.Lock()
		delete(s.subs, id)
		s.mu.Unlock()
	}
}

// Snapshot returns the subscribers of now, to send to later without a lock
// (a cooldown's end is sent to those who saw its start).
func (s *Subscribers[E]) Snapshot() Sent[E] {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(Sent[E], 0, len(s.subs))
	for _, f := range s.subs {
		out = append(out, f)
	}
	return out
}

// Send delivers e to every current subscriber, on the caller's goroutine and
// without holding a lock, so a subscriber may subscribe or unsubscribe.
func (s *Subscribers[E]) Send(e E) { s.Snapshot().Send(e) }

// Sent is a fixed list of subscribers.
type Sent[E any] []func(E)

// Send delivers e to each of them.
func (fs Sent[E]) Send(e E) {
	for _, f := range fs {
		f(e)
	}
}
