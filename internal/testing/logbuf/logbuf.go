// Package logbuf is a log destination for tests whose code logs from
// several goroutines: a bytes.Buffer behind a lock.
package logbuf

import (
	"bytes"
	"sync"
)

// Buffer collects what is written to it, safe for concurrent writes, such
// as those of a slog handler shared by workers. The zero value is ready.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
