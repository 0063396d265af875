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
}

// A Resumer makes a batch resumable with a journal: it skips the items the
// journal has finished, and journals every result before the processor
// reports it. Its methods are safe for concurrent use.
type Resumer[In, Out, C any] struct {
	j    *Journal[Out, C]
	opts Options[In]

	mu      sync.Mutex
	pending map[string]string // item ID -> digest, for items added and not yet recorded
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
	return r
}

// Add adds item to p, unless the journal holds its final result for the
// same request: then it returns that result and true, and adds nothing.
// An item that is unknown to the journal, or whose request changed (see
// [Options.Digest]), is added. The error is that of the digest, the
// journal's lookup, or p.Add.
func (r *Resumer[In, Out, C]) Add(ctx context.Context, p *batchllm.Processor[In, Out, C], item batchllm.Item[In, Out, C]) (batchllm.Result[Out, C], bool, error) {
	var zero batchllm.Result[Out, C]
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
	delete(r.pending, id)
	r.mu.Unlock()
}

// Record journals a result and returns once the record is durable. Set it
// as batchllm.Config.Record, which the processor calls on the worker that
// produced the result, before reporting it: since a worker records its
// result before it takes another item, a crash can re-send at most one
// answered call per worker, and concurrent workers share fsyncs (the
// journal's group commit). If Record fails, the processor stops the batch
// with its error and does not report that result.
//
// Results of items not added through [Resumer.Add] are ignored, and so are
// failures that are not final: those of class ClassFatalBatch and those of
// items ended because the batch was aborted, so that a rerun sends them
// again.
func (r *Resumer[In, Out, C]) Record(ctx context.Context, res batchllm.Result[Out, C]) error {
	r.mu.Lock()
	d, ok := r.pending[res.ItemID]
	r.mu.Unlock()
	if !ok {
		return nil
	}
	defer r.forget(res.ItemID)
	if res.Class() == batchllm.ClassFatalBatch || errors.Is(res.Err, batchllm.ErrBatchAborted) {
		return nil
	}
	rec := journal.Record[journal.Outcome[Out, C]]{Kind: journal.KindResult, ID: res.ItemID, Digest: d, Value: journal.NewOutcome(res)}
	if err := r.j.Append(ctx, rec); err != nil {
		return fmt.Errorf("resume: journal item %q: %w", res.ItemID, err)
	}
	return nil
}
