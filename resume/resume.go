package resume

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/journal"
)

// Journal is the journal a [Resumer] reads and writes: one whose records
// hold a [journal.Outcome] of the batch's output and context types.
type Journal[Out, C any] = journal.Journal[journal.Outcome[Out, C]]

// Options configure a [Resumer]. The zero value is valid.
type Options[In any] struct {
	// Digest returns the digest of an item's request: everything that
	// defines the request and nothing else (see [journal.Digest]). An item
	// whose digest differs from its journaled one is sent again. Default:
	// journal.Digest of the item's Input, which suits a batchllm.Prompt;
	// add the strategy's settings (its model, say) if they are not in the
	// input.
	Digest func(In) (string, error)
	// RetryFailed sends again the items whose journaled result is a
	// failure. By default a failure is final, like a success.
	RetryFailed bool
	// MaxUnjournaled bounds the items added whose result is not yet
	// journaled: Add blocks while that many are. Set it to the processor's
	// Workers so that a crash re-sends at most that many requests; 0 means
	// no bound, and then up to about 2 × Workers + 1 (the processor's result
	// buffer and its workers).
	MaxUnjournaled int
}

// A Resumer makes a batch resumable with a journal: it skips the items the
// journal has finished, and journals every result before the processor
// reports it. Its methods are safe for concurrent use.
type Resumer[In, Out, C any] struct {
	j    *Journal[Out, C]
	opts Options[In]
	sem  chan struct{} // nil: no bound

	mu      sync.Mutex
	pending map[string]string // item ID -> digest, for items added and not journaled
	err     error             // the first append error
}

// New returns a Resumer that reads and writes j. opts may be nil.
func New[In, Out, C any](j *Journal[Out, C], opts *Options[In]) *Resumer[In, Out, C] {
	r := &Resumer[In, Out, C]{j: j, pending: make(map[string]string)}
	if opts != nil {
		r.opts = *opts
	}
	if r.opts.Digest == nil {
		r.opts.Digest = func(in In) (string, error) { return journal.Digest(in) }
	}
	if r.opts.MaxUnjournaled > 0 {
		r.sem = make(chan struct{}, r.opts.MaxUnjournaled)
	}
	return r
}

// Add adds item to p, unless the journal holds its final result for the
// same request: then it returns that result and true, and adds nothing.
// An item that is unknown to the journal, or whose request changed (see
// [Options.Digest]), is added. The error is that of the digest, the
// journal's lookup, or p.Add; Add also fails once an append has failed
// (see [Resumer.Err]).
func (r *Resumer[In, Out, C]) Add(ctx context.Context, p *batchllm.Processor[In, Out, C], item batchllm.Item[In, Out, C]) (batchllm.Result[Out, C], bool, error) {
	var zero batchllm.Result[Out, C]
	if err := r.Err(); err != nil {
		return zero, false, err
	}
	d, err := r.opts.Digest(item.Input)
	if err != nil {
		return zero, false, fmt.Errorf("resume: digest of item %q: %w", item.ID, err)
	}
	rec, st, err := r.j.Lookup(item.ID, d)
	if err != nil {
		return zero, false, fmt.Errorf("resume: item %q: %w", item.ID, err)
	}
	if st == journal.Finished && (rec.Value.OK || !r.opts.RetryFailed) {
		res := rec.Value.Result(item.ID)
		res.Context = item.Context // the caller's current context, not the journaled one
		return res, true, nil
	}
	if r.sem != nil {
		select {
		case r.sem <- struct{}{}:
		case <-ctx.Done():
			return zero, false, context.Cause(ctx)
		}
	}
	r.mu.Lock()
	r.pending[item.ID] = d
	r.mu.Unlock()
	if err := p.Add(ctx, item); err != nil {
		r.forget(item.ID)
		return zero, false, err
	}
	return zero, false, nil
}

// forget drops an item that has no result to journal.
func (r *Resumer[In, Out, C]) forget(id string) {
	r.mu.Lock()
	_, ok := r.pending[id]
	delete(r.pending, id)
	r.mu.Unlock()
	if ok && r.sem != nil {
		<-r.sem
	}
}

// PostProcess journals a result. Set it as (or call it from)
// batchllm.Config.PostProcess, which the processor calls before it reports
// each result; it returns once the record is durable.
//
// Results of items not added through [Resumer.Add] are ignored, and so are
// failures that are not final: those of class ClassFatalBatch and those of
// items ended because the batch was aborted, so that a rerun sends them
// again. If the append fails, the error is kept (see [Resumer.Err]) and the
// result is reported anyway, unjournaled: a rerun will send the item again.
func (r *Resumer[In, Out, C]) PostProcess(ctx context.Context, res batchllm.Result[Out, C]) {
	r.mu.Lock()
	d, ok := r.pending[res.ItemID]
	r.mu.Unlock()
	if !ok {
		return
	}
	defer r.forget(res.ItemID)
	if res.Class() == batchllm.ClassFatalBatch || errors.Is(res.Err, batchllm.ErrBatchAborted) {
		return
	}
	rec := journal.Record[journal.Outcome[Out, C]]{Kind: journal.KindResult, ID: res.ItemID, Digest: d, Value: journal.NewOutcome(res)}
	if err := r.j.Append(ctx, rec); err != nil {
		r.mu.Lock()
		if r.err == nil {
			r.err = fmt.Errorf("resume: journal item %q: %w", res.ItemID, err)
		}
		r.mu.Unlock()
	}
}

// Err returns the first error of an append, or nil. Once it is not nil the
// journal no longer records results, so a caller should stop the run.
func (r *Resumer[In, Out, C]) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
