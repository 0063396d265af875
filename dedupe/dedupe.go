package dedupe

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/batchllm/batchllm"
)

// KeyFunc returns the key of a request's input: requests with equal keys
// are identical and get the same answer. An empty key means "never share
// this one". An error fails the attempt as [batchllm.ClassFatalItem].
//
// A key must cover everything that defines the request, the model and
// parameters included. If items go through different strategies whose
// settings are not in the input, put those settings in the key too.
type KeyFunc[In any] func(In) (string, error)

// Options configure a [Deduper]. The zero value caches every answer:
// New(key, Options{}).
type Options struct {
	// MaxEntries bounds the cache of completed answers: 0 keeps every
	// answer for the Deduper's life (memory grows with the number of
	// distinct keys, by about the size of one output each); n > 0 keeps the
	// n most recently used and evicts the least recently used; a negative
	// value keeps none, so that only requests in flight at the same time are
	// shared.
	MaxEntries int
}

// Deduper sends identical requests once and shares the answer. It holds the
// state (calls in flight and the cache) that its middleware shares across
// all items and attempts; use one Deduper per batch, or per set of batches
// that may share answers.
//
// For each attempt, the middleware computes the input's key and then:
//
//   - if the cache holds an answer for the key, returns it without a call;
//   - if another attempt with the key is calling, waits for it (or for its
//     own context) and, if that call succeeds, returns its answer;
//   - otherwise calls the next strategy itself; a successful answer is
//     cached and handed to every attempt waiting for it.
//
// So at most one call per key is in flight at any time, and after a success
// none is made again while the answer stays cached. Failures are never
// shared or cached: an error goes only to the attempt whose call it was, and
// the attempts that waited for that call make their own, one at a time. A
// request that fails for every caller (a deterministic 400, say) therefore
// costs one call per waiting item, in turn, rather than all at once.
//
// Shared answers report zero usage: the [batchllm.Response] returned to an
// attempt that did not call has the paid call's Output and Model, but zero Usage
// and nil Limits, so that the batch's token totals, its budget and the
// admission gate count each paid call exactly once, and the item that paid
// is the one whose usage shows it. The Output itself is shared, not copied:
// if Out holds slices, maps or pointers, do not modify them.
type Deduper[In, Out any] struct {
	key KeyFunc[In]
	max int

	mu       sync.Mutex
	inflight map[string]*call[Out]
	cache    map[string]*list.Element // of *cached[Out]
	lru      list.List                // front: most recently used

	calls, waited, hits atomic.Int64
}

// call is one call in flight, shared by the attempts waiting for it.
type call[Out any] struct {
	done chan struct{} // closed when the call returns
	resp batchllm.Response[Out]
	err  error // set before done is closed
}

type cached[Out any] struct {
	key  string
	resp batchllm.Response[Out]
}

// New returns a Deduper that keys requests with key.
func New[In, Out any](key KeyFunc[In], opts Options) *Deduper[In, Out] {
	return &Deduper[In, Out]{
		key:      key,
		max:      opts.MaxEntries,
		inflight: make(map[string]*call[Out]),
		cache:    make(map[string]*list.Element),
	}
}

// Stats counts what a [Deduper]'s middleware did.
type Stats struct {
	// Calls is the number of attempts passed on to the next strategy (those
	// with an empty key included).
	Calls int64
	// Shared is the number of attempts answered by a call in flight that
	// another attempt made.
	Shared int64
	// Hits is the number of attempts answered from the cache.
	Hits int64
	// Cached is the number of answers in the cache now.
	Cached int
}

// Stats returns the Deduper's counters.
func (d *Deduper[In, Out]) Stats() Stats {
	d.mu.Lock()
	n := len(d.cache)
	d.mu.Unlock()
	return Stats{Calls: d.calls.Load(), Shared: d.waited.Load(), Hits: d.hits.Load(), Cached: n}
}

// Middleware returns the middleware, for [batchllm.Config.Middleware].
// Middleware listed after it (inside) runs only for the calls it passes on,
// once per paid call; middleware listed before it (outside) sees every
// attempt, shared answers included. Validate answers inside, in the strategy
// or in a middleware listed after this one, so that an answer that fails
// validation is an error and never cached: an invalid answer validated
// outside would be cached and handed to every retry and every identical
// item.
func (d *Deduper[In, Out]) Middleware() batchllm.Middleware[In, Out] {
	return func(next batchllm.Strategy[In, Out]) batchllm.Strategy[In, Out] {
		return batchllm.StrategyFunc[In, Out](func(ctx context.Context, req batchllm.Request[In]) (batchllm.Response[Out], error) {
			return d.call(ctx, next, req)
		})
	}
}

func (d *Deduper[In, Out]) call(ctx context.Context, next batchllm.Strategy[In, Out], req batchllm.Request[In]) (batchllm.Response[Out], error) {
	k, err := d.key(req.Input)
	if err != nil {
		return batchllm.Response[Out]{}, batchllm.Classified(fmt.Errorf("dedupe: key of item %q: %w", req.ItemID, err), batchllm.ClassFatalItem, 0)
	}
	if k == "" {
		d.calls.Add(1)
		return next.Call(ctx, req)
	}
	for {
		d.mu.Lock()
		if resp, ok := d.lookup(k); ok {
			d.mu.Unlock()
			d.hits.Add(1)
			return shared(resp), nil
		}
		if c, ok := d.inflight[k]; ok {
			d.mu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return batchllm.Response[Out]{}, ctx.Err()
			}
			if c.err == nil {
				d.waited.Add(1)
				return shared(c.resp), nil
			}
			continue // that call failed: try again, maybe as the caller
		}
		c := &call[Out]{done: make(chan struct{}), err: errPanicked}
		d.inflight[k] = c
		d.mu.Unlock()
		d.calls.Add(1)
		return d.lead(ctx, next, req, k, c)
	}
}

// errPanicked is what waiters see when the call they waited for panicked;
// they retry, and the panic goes on up the caller's stack.
var errPanicked = errors.New("dedupe: call panicked")

// lead makes the call c for key k and publishes its outcome. c.err is
// errPanicked until the call returns.
func (d *Deduper[In, Out]) lead(ctx context.Context, next batchllm.Strategy[In, Out], req batchllm.Request[In], k string, c *call[Out]) (resp batchllm.Response[Out], err error) {
	defer func() {
		d.mu.Lock()
		delete(d.inflight, k)
		if c.err == nil {
			d.store(k, c.resp)
		}
		d.mu.Unlock()
		close(c.done)
	}()
	resp, err = next.Call(ctx, req)
	c.resp, c.err = resp, err
	return resp, err
}

// shared is the response given to an attempt that did not pay for it.
func shared[Out any](r batchllm.Response[Out]) batchllm.Response[Out] {
	return batchllm.Response[Out]{Output: r.Output, Model: r.Model}
}

// lookup returns the cached answer for k and marks it used. d.mu is held.
func (d *Deduper[In, Out]) lookup(k string) (batchllm.Response[Out], bool) {
	e, ok := d.cache[k]
	if !ok {
		return batchllm.Response[Out]{}, false
	}
	d.lru.MoveToFront(e)
	return e.Value.(*cached[Out]).resp, true
}

// store caches the answer for k, evicting the least recently used answer if
// the cache is full. d.mu is held.
func (d *Deduper[In, Out]) store(k string, resp batchllm.Response[Out]) {
	if d.max < 0 {
		return
	}
	d.cache[k] = d.lru.PushFront(&cached[Out]{key: k, resp: resp})
	if d.max > 0 && d.lru.Len() > d.max {
		old := d.lru.Remove(d.lru.Back()).(*cached[Out])
		delete(d.cache, old.key)
	}
}
