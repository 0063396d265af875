package resume

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/journal"
)

// Options configure a [Resumer]. The zero value is valid.
type Options[In any] struct {
	// Digest returns the digest of an item's request: everything that
	// defines the request and nothing else (see [journal.Digest]). An item
	// whose digest differs from its journaled one is sent again. Default:
	// journal.Digest of the item's Input, which suits a batchllm.Prompt;
	// add the strategy's settings (its model, say) if they are not in the
	// input. [ProviderDigest] is the batchllm command's.
	Digest func(In) (string, error)
	// RetryFailed sends again the items whose journaled result is a
	// failure. By default a failure is final, like a success.
	RetryFailed bool
}

// A Codec says how a [Resumer] keeps results in its journal: as records of
// type T. [Outcomes] is the library's; the batchllm command journals its
// output lines, which have the same JSON fields, so that the two read each
// other's journals.
type Codec[Out, C, T any] struct {
	// Encode turns a result into the record to journal. An error stops the
	// batch (see [Resumer.Record]).
	Encode func(batchllm.Result[Out, C]) (T, error)
	// OK reports whether a record holds a success, for
	// [Options.RetryFailed].
	OK func(T) bool
	// Final reports whether a result is final and so journaled. Default
	// [Final].
	Final func(batchllm.Result[Out, C]) bool
}

// Outcomes is the codec of [journal.Outcome] records.
func Outcomes[Out, C any]() Codec[Out, C, journal.Outcome[Out, C]] {
	return Codec[Out, C, journal.Outcome[Out, C]]{
		Encode: func(r batchllm.Result[Out, C]) (journal.Outcome[Out, C], error) { return journal.NewOutcome(r), nil },
		OK:     func(o journal.Outcome[Out, C]) bool { return o.OK },
	}
}

// Final is the default rule for which results are journaled: all but the
// failures that do not belong to the item, those of class ClassFatalBatch
// (a bad key, an exhausted quota or budget) and those of items the aborted
// batch ended, so that a rerun sends them again.
func Final[Out, C any](r batchllm.Result[Out, C]) bool {
	return r.Class() != batchllm.ClassFatalBatch && !errors.Is(r.Err, batchllm.ErrBatchAborted)
}

// ProviderDigest returns the digest the batchllm command journals with: of
// the prompt, with every parameter that reaches the provider filled in, and
// of the provider's name. A library run whose Options.Digest is
// ProviderDigest(name) resumes a journal of the command's, and the other
// way round.
func ProviderDigest(provider string) func(batchllm.Prompt) (string, error) {
	return func(p batchllm.Prompt) (string, error) {
		return journal.Digest(struct {
			Provider string          `json:"provider"`
			Prompt   batchllm.Prompt `json:"prompt"`
		}{provider, p})
	}
}

// A Resumer makes a batch resumable with a journal of records of type T:
// it skips the items the journal has finished, and journals every result
// before the processor reports it. Its methods are safe for concurrent use.
type Resumer[In, Out, C, T any] struct {
	j     *journal.Journal[T]
	codec Codec[Out, C, T]
	opts  Options[In]

	mu      sync.Mutex
	pending map[string]string // item ID -> digest, for items added and not yet recorded
}

// New returns a Resumer that keeps [journal.Outcome] records in j.
func New[In, Out, C any](j *journal.Journal[journal.Outcome[Out, C]], opts Options[In]) *Resumer[In, Out, C, journal.Outcome[Out, C]] {
	return WithCodec[In](j, Outcomes[Out, C](), opts)
}

// WithCodec returns a Resumer that keeps records of type T in j, as codec
// says. codec.Encode and codec.OK must be set.
func WithCodec[In, Out, C, T any](j *journal.Journal[T], codec Codec[Out, C, T], opts Options[In]) *Resumer[In, Out, C, T] {
	if codec.Final == nil {
		codec.Final = Final[Out, C]
	}
	if opts.Digest == nil {
		opts.Digest = func(in In) (string, error) { return journal.Digest(in) }
	}
	return &Resumer[In, Out, C, T]{j: j, codec: codec, opts: opts, pending: make(map[string]string)}
}

// Lookup returns the journaled record of the item id whose input is in,
// and true, if the journal holds its final result for the same request;
// and the request's digest either way. An item that is unknown to the
// journal, or whose request changed (see [Options.Digest]), is not
// finished. Lookup adds nothing and journals nothing.
func (r *Resumer[In, Out, C, T]) Lookup(id string, in In) (rec T, done bool, digest string, err error) {
	d, err := r.opts.Digest(in)
	if err != nil {
		return rec, false, "", fmt.Errorf("resume: digest of item %q: %w", id, err)
	}
	jr, st, err := r.j.Lookup(id, d)
	if err != nil {
		return rec, false, d, fmt.Errorf("resume: item %q: %w", id, err)
	}
	if st == journal.Finished && (!r.opts.RetryFailed || r.codec.OK(jr.Value)) {
		return jr.Value, true, d, nil
	}
	return rec, false, d, nil
}

// Add adds item to p, unless the journal holds its final result for the
// same request: then it returns that record and true, and adds nothing
// (with [Outcomes], rec.Result(item.ID) is the result). The error is that
// of the digest, the journal's lookup, or p.Add.
func (r *Resumer[In, Out, C, T]) Add(ctx context.Context, p *batchllm.Processor[In, Out, C], item batchllm.Item[In, Out, C]) (rec T, done bool, err error) {
	rec, done, d, err := r.Lookup(item.ID, item.Input)
	if err != nil || done {
		return rec, done, err
	}
	r.mu.Lock()
	r.pending[item.ID] = d
	r.mu.Unlock()
	if err := p.Add(ctx, item); err != nil {
		r.forget(item.ID)
		return rec, false, err
	}
	return rec, false, nil
}

// forget drops an item that has no result to journal.
func (r *Resumer[In, Out, C, T]) forget(id string) {
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
// the results that are not final (see [Codec.Final]).
func (r *Resumer[In, Out, C, T]) Record(ctx context.Context, res batchllm.Result[Out, C]) error {
	r.mu.Lock()
	d, ok := r.pending[res.ItemID]
	r.mu.Unlock()
	if !ok {
		return nil
	}
	defer r.forget(res.ItemID)
	if !r.codec.Final(res) {
		return nil
	}
	v, err := r.codec.Encode(res)
	if err != nil {
		return fmt.Errorf("resume: item %q: %w", res.ItemID, err)
	}
	rec := journal.Record[T]{Kind: journal.KindResult, ID: res.ItemID, Digest: d, Value: v}
	if err := r.j.Append(ctx, rec); err != nil {
		return fmt.Errorf("resume: journal item %q: %w", res.ItemID, err)
	}
	return nil
}
