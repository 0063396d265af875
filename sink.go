package batchllm

import "context"

// resultSink does what happens to each result on the consumer's goroutine,
// before the consumer sees it: post-processing, counters, progress.
type resultSink[In, Out, C any] struct {
	p      *Processor[In, Out, C]
	ctx    context.Context // never cancelled: results of a stopped run are still post-processed
	lastID string
}

func (p *Processor[In, Out, C]) sink(runCtx context.Context) *resultSink[In, Out, C] {
	return &resultSink[In, Out, C]{p: p, ctx: context.WithoutCancel(runCtx)}
}

func (s *resultSink[In, Out, C]) deliver(r Result[Out, C]) Result[Out, C] {
	p := s.p
	if p.cfg.PostProcess != nil {
		if perr := callSafely(func() error { p.cfg.PostProcess(s.ctx, r); return nil }); perr != nil {
			p.log.Error("batchllm: post-processor panicked", "item", r.ItemID, "err", perr)
			var zero Out
			r.Output = zero
			r.Err = &ItemError{ItemID: r.ItemID, Class: ClassFatalItem, Attempts: r.Attempts, Err: perr}
		}
	}
	p.statsMu.Lock()
	st := &p.stats
	st.Finished++
	if r.Err == nil {
		st.Succeeded++
	} else {
		st.Failed++
		st.FailedByClass[r.Class()]++
	}
	st.Usage = st.Usage.Add(r.Usage)
	done := st.Finished
	p.statsMu.Unlock()
	s.lastID = r.ItemID
	if p.cfg.Progress != nil && done%int64(p.cfg.ProgressEvery) == 0 {
		s.progress(done, false)
	}
	return r
}

// finish makes the final progress call.
func (s *resultSink[In, Out, C]) finish() {
	if s.p.cfg.Progress == nil {
		return
	}
	s.p.statsMu.Lock()
	done := s.p.stats.Finished
	s.p.statsMu.Unlock()
	s.progress(done, true)
}

func (s *resultSink[In, Out, C]) progress(done int64, final bool) {
	p := s.p
	p.mu.Lock()
	total := p.stats.Added
	p.mu.Unlock()
	pr := Progress{Done: done, Total: total, ItemID: s.lastID, Final: final}
	if err := callSafely(func() error { p.cfg.Progress(pr); return nil }); err != nil {
		p.log.Error("batchllm: progress callback panicked", "err", err)
	}
}
