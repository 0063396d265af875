package batchllmtest

import (
	"slices"
	"sync"

	"github.com/batchllm/batchllm"
)

// Events is a [batchllm.Observer] that keeps every event it is sent, for a
// test to inspect afterwards. Its OnEvent method value also serves as the
// emit function of an [batchllm.EventReporter] (a gate's ReportEvents). The
// zero value is ready to use, and it is safe for concurrent use.
type Events struct {
	mu sync.Mutex
	ev []batchllm.Event
}

// OnEvent implements [batchllm.Observer]: it keeps e.
func (r *Events) OnEvent(e batchllm.Event) {
	r.mu.Lock()
	r.ev = append(r.ev, e)
	r.mu.Unlock()
}

// All returns the events kept so far, in the order they came.
func (r *Events) All() []batchllm.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ev)
}

// Kinds returns the kinds of the events kept so far, in order, keeping only
// those of the given kinds if any are given.
func (r *Events) Kinds(only ...batchllm.EventKind) []batchllm.EventKind {
	var out []batchllm.EventKind
	for _, e := range r.All() {
		if len(only) == 0 || slices.Contains(only, e.Kind) {
			out = append(out, e.Kind)
		}
	}
	return out
}

// Count returns the number of events of kind k kept so far.
func (r *Events) Count(k batchllm.EventKind) int { return len(r.Kinds(k)) }
