// Package batchllmtest helps test code that uses batchllm: a mock strategy
// with latency, token counts and scripted failures that fire exactly when
// asked, however many workers call it at once.
package batchllmtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/batchllm/batchllm"
)

// Fault is a scripted failure of one call.
type Fault int

const (
	// RateLimit fails the call with a rate-limit error (ClassRateLimited)
	// that shows the shared quota exhausted (EvidenceQuota) and asks for
	// Mock.RetryAfter.
	RateLimit Fault = iota + 1
	// Timeout blocks the call until its context is done, like a request
	// that never gets an answer.
	Timeout
	// Transient fails the call with a transient error (a 500, say).
	Transient
	// Overloaded fails the call with an overloaded error (a 529).
	Overloaded
	// InvalidOutput fails the call with an invalid-output error, and still
	// reports the call's usage, as a real answer that failed validation would.
	InvalidOutput
	// FatalItem fails the call with an error that no retry can fix.
	FatalItem
	// FatalBatch fails the call with an error that stops the batch, like a
	// revoked API key.
	FatalBatch
	// Panic makes the call panic.
	Panic
	// BareRateLimit fails the call with a rate-limit error that shows
	// nothing about its cause (EvidenceNone), like a bare 429 from a busy
	// server or a proxy, and asks for Mock.RetryAfter.
	BareRateLimit
)

var faultNames = [...]string{"", "rate_limit", "timeout", "transient", "overloaded", "invalid_output", "fatal_item", "fatal_batch", "panic", "bare_rate_limit"}

func (f Fault) String() string {
	if f <= 0 || int(f) >= len(faultNames) {
		return fmt.Sprintf("Fault(%d)", int(f))
	}
	return faultNames[f]
}

// ErrMock is wrapped by every error a Mock returns.
var ErrMock = errors.New("batchllmtest: scripted failure")

// Mock is a [batchllm.Strategy] for tests. Set its fields before the first
// call; script failures with FailCall and FailItem at any time. Its methods
// are safe for concurrent use.
type Mock[In, Out any] struct {
	// Respond builds a successful call's output. Nil returns the zero Out.
	Respond func(req batchllm.Request[In]) Out
	// Latency is how long each call takes; the call ends early if its
	// context is done.
	Latency time.Duration
	// Usage is reported by every call that gets an answer (successes and
	// InvalidOutput failures).
	Usage batchllm.Usage
	// RetryAfter is what a RateLimit fault asks the client to wait.
	RetryAfter time.Duration

	mu       sync.Mutex
	calls    int
	perItem  map[string]int
	byCall   map[int]Fault
	byItem   map[string][]Fault
	inFlight int
	peak     int
}

// FailCall makes the n-th call (1-based, counted across all items in the
// order calls begin) fail with f.
func (m *Mock[In, Out]) FailCall(n int, f Fault) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byCall == nil {
		m.byCall = make(map[int]Fault)
	}
	m.byCall[n] = f
}

// FailItem makes the first len(faults) calls for item id fail, in order,
// with the given faults; later calls succeed.
func (m *Mock[In, Out]) FailItem(id string, faults ...Fault) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byItem == nil {
		m.byItem = make(map[string][]Fault)
	}
	m.byItem[id] = append(m.byItem[id], faults...)
}

// Calls returns the number of calls so far.
func (m *Mock[In, Out]) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// CallsFor returns the number of calls so far for item id.
func (m *Mock[In, Out]) CallsFor(id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.perItem[id]
}

// PeakConcurrency returns the largest number of calls that ran at once.
func (m *Mock[In, Out]) PeakConcurrency() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peak
}

// Call implements [batchllm.Strategy]. The fault of a call is decided when
// the call begins, under a lock, so scripts fire exactly once whatever the
// concurrency.
func (m *Mock[In, Out]) Call(ctx context.Context, req batchllm.Request[In]) (batchllm.Response[Out], error) {
	m.mu.Lock()
	m.calls++
	n := m.calls
	if m.perItem == nil {
		m.perItem = make(map[string]int)
	}
	m.perItem[req.ItemID]++
	fault := m.byCall[n]
	if q := m.byItem[req.ItemID]; len(q) > 0 {
		if fault == 0 {
			fault = q[0]
		}
		m.byItem[req.ItemID] = q[1:]
	}
	m.inFlight++
	m.peak = max(m.peak, m.inFlight)
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.inFlight--
		m.mu.Unlock()
	}()

	var resp batchllm.Response[Out]
	if fault == Timeout {
		<-ctx.Done()
		return resp, ctx.Err()
	}
	if m.Latency > 0 {
		t := time.NewTimer(m.Latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, ctx.Err()
		case <-t.C:
		}
	}
	switch fault {
	case 0:
		resp.Usage = m.Usage
		if m.Respond != nil {
			resp.Output = m.Respond(req)
		}
		return resp, nil
	case Panic:
		panic(fmt.Sprintf("batchllmtest: scripted panic on call %d", n))
	case InvalidOutput:
		resp.Usage = m.Usage
	}
	return resp, m.faultError(fault, n, req.ItemID)
}

func (m *Mock[In, Out]) faultError(f Fault, n int, id string) error {
	err := fmt.Errorf("%w: %s on call %d (item %q)", ErrMock, f, n, id)
	switch f {
	case RateLimit:
		return &batchllm.ClassifiedError{Class: batchllm.ClassRateLimited, RetryAfter: m.RetryAfter, Evidence: batchllm.EvidenceQuota, Err: err}
	case BareRateLimit:
		return batchllm.Classified(err, batchllm.ClassRateLimited, m.RetryAfter)
	case Overloaded:
		return batchllm.Classified(err, batchllm.ClassOverloaded, 0)
	case InvalidOutput:
		return batchllm.Classified(err, batchllm.ClassInvalidOutput, 0)
	case FatalItem:
		return batchllm.Classified(err, batchllm.ClassFatalItem, 0)
	case FatalBatch:
		return batchllm.Classified(err, batchllm.ClassFatalBatch, 0)
	default:
		return batchllm.Classified(err, batchllm.ClassTransient, 0)
	}
}
