package main

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// errInterruptedRun is the cause a run is cancelled with at Ctrl-C.
var errInterruptedRun = errors.New("interrupted")

// watchInterrupt handles Ctrl-C for a run that stops in one step (a batch
// run, run --queue): the first interrupt prints notice and calls stop; the
// second calls exit, which leaves at once. It reports whether an interrupt
// came. It returns when done is closed.
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
