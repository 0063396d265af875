package batchllm

import (
	"sync/atomic"
	"time"
)

// observerQueue delivers events to one observer on its own goroutine, so
// that a slow observer never stalls a worker.
type observerQueue struct {
	o       Observer
	ch      chan Event
	quit    chan struct{}
	done    chan struct{}
	dropped atomic.Int64
}

func (p *Processor[In, Out, C]) startObservers() {
	for _, o := range p.cfg.Observers {
		q := &observerQueue{o: o, ch: make(chan Event, p.cfg.ObserverBuffer), quit: make(chan struct{}), done: make(chan struct{})}
		p.observers = append(p.observers, q)
		go q.run(p.logObserverPanic)
	}
	p.emitting = len(p.observers) > 0
	if rep, ok := p.cfg.Gate.(EventReporter); ok && p.emitting {
		p.unsubscribeGate = rep.ReportEvents(p.emit)
	}
}

// stopObservers delivers what is queued and stops the observers' goroutines.
// Events emitted after it (by a gate's timer, say) are dropped silently.
func (p *Processor[In, Out, C]) stopObservers() {
	if p.unsubscribeGate != nil {
		p.unsubscribeGate()
	}
	for _, q := range p.observers {
		close(q.quit)
	}
	for _, q := range p.observers {
		<-q.done
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
		case e := <-q.ch:
			q.deliver(e, onPanic)
		case <-q.quit:
			for {
				select {
				case e := <-q.ch:
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
