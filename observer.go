package batchllm

import (
	"fmt"
	"sync/atomic"
	"time"
)

// observerQueue delivers events to one observer on its own goroutine, so
// that a slow observer never stalls a worker.
type observerQueue struct {
	o       Observer
	ch      chan Event
	quit    chan struct{} // closed at the end of the run: deliver what is queued, then stop
	abandon chan struct{} // closed when the drain timed out: stop delivering
	done    chan struct{}
	dropped atomic.Int64
}

func (p *Processor[In, Out, C]) startObservers() {
	for _, o := range p.cfg.Observers {
		q := &observerQueue{o: o, ch: make(chan Event, p.cfg.ObserverBuffer), quit: make(chan struct{}), abandon: make(chan struct{}), done: make(chan struct{})}
		p.observers = append(p.observers, q)
		go q.run(p.logObserverPanic)
	}
	p.emitting = len(p.observers) > 0
	if rep, ok := p.cfg.Gate.(EventReporter); ok && p.emitting {
		p.unsubscribeGate = rep.ReportEvents(p.emit)
	}
}

// stopObservers delivers what is queued and stops the observers'
// goroutines, waiting at most DrainTimeout for all of them. An observer
// still busy then is abandoned: the events still queued for it are dropped
// and counted, and its goroutine ends once its current OnEvent returns.
// Events emitted after stopObservers (by a gate's timer, say) are dropped
// silently.
func (p *Processor[In, Out, C]) stopObservers() {
	if p.unsubscribeGate != nil {
		p.unsubscribeGate()
	}
	for _, q := range p.observers {
		close(q.quit)
	}
	deadline := time.NewTimer(p.cfg.DrainTimeout)
	defer deadline.Stop()
	timedOut := false
	for _, q := range p.observers {
		if !timedOut {
			select {
			case <-q.done:
				continue
			case <-deadline.C:
				timedOut = true
			}
		}
		select {
		case <-q.done:
			continue
		default:
		}
		close(q.abandon)
		n := q.dropQueued()
		p.log.Warn("batchllm: observer still busy at the end of the run; its last events are dropped",
			"observer", fmt.Sprintf("%T", q.o), "drain_timeout", p.cfg.DrainTimeout, "dropped", n)
	}
}

// dropQueued empties the queue, counting each event it held as dropped,
// and returns how many there were. Each event is taken once, by dropQueued
// or by run, so none is counted twice.
func (q *observerQueue) dropQueued() int64 {
	var n int64
	for {
		select {
		case <-q.ch:
			n++
		default:
			q.dropped.Add(n)
			return n
		}
	}
}

// emit sends e to every observer without blocking; an observer whose queue
// is full misses it.
func (p *Processor[In, Out, C]) emit(e Event) {
	if !p.emitting {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	for _, q := range p.observers {
		select {
		case q.ch <- e:
		default:
			q.dropped.Add(1)
		}
	}
}

func (q *observerQueue) run(onPanic func(error)) {
	defer close(q.done)
	for {
		select {
		case <-q.abandon:
			return
		default:
		}
		select {
		case e := <-q.ch:
			q.deliver(e, onPanic)
		case <-q.quit:
			for {
				select {
				case e := <-q.ch:
					select {
					case <-q.abandon:
						q.dropped.Add(1)
						return
					default:
					}
					q.deliver(e, onPanic)
				default:
					return
				}
			}
		}
	}
}

func (q *observerQueue) deliver(e Event, onPanic func(error)) {
	if err := callSafely(func() error { q.o.OnEvent(e); return nil }); err != nil {
		onPanic(err)
	}
}

func (p *Processor[In, Out, C]) logObserverPanic(err error) {
	p.log.Error("batchllm: observer panicked", "err", err)
}
