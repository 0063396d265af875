package batchllm

import (
	"context"
	"time"
)

// resultSink does what happens to each result on the consumer's goroutine,
// before the consumer sees it: post-processing, counters, progress.
type resultSink[In, Out, C any] struct {
	p        *Processor[In, Out, C]
	ctx      context.Context // never cancelled: results of a stopped run are still post-processed
	lastID   string
	done     int64 // results delivered
	progress *progressReporter
}

func (p *Processor[In, Out, C]) sink(runCtx context.Context) *resultSink[In, Out, C] {
	s := &resultSink[In, Out, C]{p: p, ctx: context.WithoutCancel(runCtx)}
	if p.cfg.Progress != nil {
		s.progress = startProgress(p.cfg.Progress, func(err error) {
			p.log.Error("batchllm: progress callback panicked", "err", err)
		})
	}
	return s
}

func (s *resultSink[In, Out, C]) deliver(r Result[Out, C]) Result[Out, C] {
	p := s.p
	if p.cfg.PostProcess != nil {
		// A panic does not change r: Record may already have stored it.
		if perr := callSafely(func() error { p.cfg.PostProcess(s.ctx, r); return nil }); perr != nil {
			p.log.Error("batchllm: post-processor panicked; the result stands", "item", r.ItemID, "err", perr)
		}
	}
	p.ledger.Add(r.Entry())
	s.done++
	done := s.done
	s.lastID = r.ItemID
	if s.progress != nil && done%int64(p.cfg.ProgressEvery) == 0 {
		s.progress.report(s.snapshot(done, false))
	}
	return r
}

// finish makes the final progress call and waits for it, at most
// DrainTimeout.
func (s *resultSink[In, Out, C]) finish() {
	if s.progress == nil {
		return
	}
	s.progress.close(s.snapshot(s.done, true), s.p.cfg.DrainTimeout)
}

func (s *resultSink[In, Out, C]) snapshot(done int64, final bool) Progress {
	s.p.mu.Lock()
	total := s.p.added
	s.p.mu.Unlock()
	return Progress{Done: done, Total: total, ItemID: s.lastID, Final: final}
}

// progressBacklog is the number of progress calls that may wait for a slow
// callback before further ones are skipped.
const progressBacklog = 16

// progressReporter calls a Progress callback on its own goroutine, so that
// a slow callback holds up neither the consumer of results nor, through
// it, the workers.
type progressReporter struct {
	calls chan Progress
	done  chan struct{}
}

func startProgress(f func(Progress), onPanic func(error)) *progressReporter {
	r := &progressReporter{calls: make(chan Progress, progressBacklog), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for pr := range r.calls {
			if err := callSafely(func() error { f(pr); return nil }); err != nil {
				onPanic(err)
			}
		}
	}()
	return r
}

// report queues a call, or skips it if the callback is too far behind.
func (r *progressReporter) report(pr Progress) {
	select {
	case r.calls <- pr:
	default:
	}
}

// close queues the final call and waits, at most timeout, for the callback
// to have made it.
func (r *progressReporter) close(final Progress, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	timedOut := false
	select {
	case r.calls <- final:
	case <-t.C:
		timedOut = true // the callback is stuck: it misses the final call
	}
	close(r.calls) // the goroutine ends once the callback returns
	if !timedOut {
		select {
		case <-r.done:
		case <-t.C:
		}
	}
}
