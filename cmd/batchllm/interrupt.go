package main

import (
	"context"

	"github.com/batchllm/batchllm"
)

// interruptibleGate ends the admission waits at Ctrl-C: an attempt waiting
// for a cooldown after a 429, for room under a rate limit or for the budget
// has nothing in flight, so it ends at once as interrupted (its item is
// neither written nor journaled, and a rerun sends it), instead of waiting
// for the gate only to be refused by the drain middleware.
type interruptibleGate struct {
	next batchllm.Gate
	// stopped is done at the first Ctrl-C.
	stopped context.Context
}

func (g interruptibleGate) Admit(ctx context.Context, e batchllm.Estimate) (batchllm.Permit, error) {
	if g.stopped.Err() != nil {
		return nil, batchllm.Classified(errInterrupted, batchllm.ClassFatalItem, 0)
	}
	wait, cancel := context.WithCancel(ctx)
	defer cancel()
	unhook := context.AfterFunc(g.stopped, cancel)
	defer unhook()
	p, err := g.next.Admit(wait, e)
	if err != nil && ctx.Err() == nil && g.stopped.Err() != nil {
		return nil, batchllm.Classified(errInterrupted, batchllm.ClassFatalItem, 0)
	}
	return p, err
}

// ReportEvents forwards the wrapped gate's events (cooldowns, limits) to the
// processor's observers.
func (g interruptibleGate) ReportEvents(emit func(batchllm.Event)) (unsubscribe func()) {
	if rep, ok := g.next.(batchllm.EventReporter); ok {
		return rep.ReportEvents(emit)
	}
	return func() {}
}
