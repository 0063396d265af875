package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// errInterruptedRun is the cause a run is cancelled with at Ctrl-C.
var errInterruptedRun = errors.New("interrupted")

// watchInterrupt handles Ctrl-C for every kind of run: the first interrupt
// prints notice and calls stop, which winds the run down; the second calls
// exit, which leaves at once. It reports whether an interrupt came. It
// returns when done is closed.
func (r *runner) watchInterrupt(done <-chan struct{}, notice string, stop, exit func()) *atomic.Bool {
	var got atomic.Bool
	if r.signals == nil {
		return &got
	}
	go func() {
		select {
		case <-r.signals:
		case <-done:
			return
		}
		got.Store(true)
		fmt.Fprintf(r.stderr, "\nbatchllm: interrupt: %s (Ctrl-C again to exit now)\n", notice)
		stop()
		select {
		case <-r.signals:
			exit()
		case <-done:
		}
	}()
	return &got
}

// drainInFlight winds a live run down after an interrupt: it lets the
// calls in flight finish for --grace, then cancels them. Items waiting out
// a cooldown or a backoff have no call in flight: once none is left (the
// drain middleware starts no new one), there is nothing to wait for, and it
// cancels at once. It returns when it has cancelled or done is closed.
func (r *runner) drainInFlight(done <-chan struct{}, cancel context.CancelCauseFunc, inFlight func() int64) {
	grace := time.NewTimer(r.f.grace)
	defer grace.Stop()
	idle := time.NewTicker(20 * time.Millisecond)
	defer idle.Stop()
	for {
		select {
		case <-grace.C:
			fmt.Fprintln(r.stderr, "batchllm: grace period over: cancelling the calls in flight")
			cancel(errors.New("interrupted: grace period over"))
			return
		case <-idle.C:
			if inFlight() == 0 {
				cancel(errInterruptedRun)
				return
			}
		case <-done:
			return
		}
	}
}
