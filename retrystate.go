package batchllm

import (
	"fmt"
	"maps"
)

// RetryState holds values that the attempts of one item pass to each other,
// such as the parts of an answer that already validated. Each item gets its
// own; all of its attempts and its error hook see the same one, and no other
// item ever does. Attempts of one item never run at the same time, so a
// RetryState needs no locking. The zero value is empty and ready to use.
type RetryState struct {
	m map[string]any
}

// Get returns the value stored under key and whether there was one.
func (s *RetryState) Get(key string) (any, bool) {
	v, ok := s.m[key]
	return v, ok
}

// Set stores v under key.
func (s *RetryState) Set(key string, v any) {
	if s.m == nil {
		s.m = make(map[string]any)
	}
	s.m[key] = v
}

// Delete removes key, and reports whether it was there.
func (s *RetryState) Delete(key string) bool {
	_, ok := s.m[key]
	delete(s.m, key)
	return ok
}

// Clear removes every key.
func (s *RetryState) Clear() { clear(s.m) }

// Len returns the number of keys.
func (s *RetryState) Len() int { return len(s.m) }

func (s *RetryState) String() string { return fmt.Sprintf("RetryState(%v)", s.m) }

// StateValue returns the value stored under key as a T. It returns false if
// there is no such key or its value is not a T.
func StateValue[T any](s *RetryState, key string) (T, bool) {
	v, ok := s.m[key].(T)
	return v, ok
}

// Snapshot returns a copy of the state's contents, for logging and tests.
func (s *RetryState) Snapshot() map[string]any { return maps.Clone(s.m) }
