package batchllm

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batchllm/batchllm/internal/idset"
)

// Processor runs items through their strategies with a pool of workers,
// inside the admission gate's limits, retrying what is worth retrying, and
// delivers one [Result] per item. A Processor runs once: create one per
// batch. Its methods are safe for concurrent use.
//
// The life of a processor:
//
//	p, err := batchllm.New(cfg)          // validates cfg
//	defer p.Close(ctx)                    // cleans up prepared strategies
//	p.Add(ctx, item)                      // before or during the run
//	p.Finish()                            // no more items
//	for r := range p.Results(ctx) { … }   // runs, streaming results
//	err = p.Err()                         // why the run stopped early, if it did
//
// or, to collect everything, add the items and call [Processor.Run].
type Processor[In, Out, C any] struct {
	cfg Config[In, Out, C]
	log *slog.Logger

	mu          sync.Mutex
	started     bool
	inputClosed bool
	closed      bool
	pre         []Item[In, Out, C] // items added before the run started
	senders     sync.WaitGroup     // Add calls sending to queue, and the feeder
	closeQueue  sync.Once
	ids         idset.Set
	idSeed      maphash.Seed
	stopped     <-chan struct{} // closed when the run stops; nil before
	cancelRun   context.CancelCauseFunc

	queue   chan Item[In, Out, C]
	results chan Result[Out, C]

	// Items between Add and their result: pending counts them;
	// those whose backoff ended come back through ready; drained is closed
	// once the queue is closed and pending is zero.
	ready       chan *itemRun[In, Out, C]
	pending     atomic.Int64
	queueClosed atomic.Bool
	drained     chan struct{}
	drainOnce   sync.Once

	// abort is cancelled with the fatal error when a ClassFatalBatch error
	// stops the batch; abortErr keeps that error.
	abort    context.CancelCauseFunc
	abortErr atomic.Pointer[error]

	// prepared holds each strategy instance that takes part in the run and
	// has Prepare or Cleanup: instances that only clean up are stored done,
	// so that Close cleans every instance that has Cleanup, once.
	prepared sync.Map // Strategy instance -> *prepareState

	models modelWatch // which models answered, for the model-wide stop (modelwide.go)

	observers       []*observerQueue
	unsubscribeGate func()
	emitting        bool // observers or a gate subscriber exist

	added  int64   // items accepted by Add; guarded by mu
	ledger *Ledger // the finished items, fed by the result sink

	statsMu  sync.Mutex
	runStart time.Time
	runEnd   time.Time
	runErr   error

	attempts    atomic.Int64
	retries     atomic.Int64
	rateLimited atomic.Int64
	inFlight    atomic.Int64
}

// New validates cfg and returns a processor ready to accept items. Invalid
// configuration is reported here, with the field's name, never mid-run.
// Warnings about valid but doubtful settings go to cfg.Logger.
func New[In, Out, C any](cfg Config[In, Out, C]) (*Processor[In, Out, C], error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, w := range c.warnings() {
		c.Logger.Warn("batchllm: config: " + w)
	}
	return &Processor[In, Out, C]{
		cfg:     c,
		log:     c.Logger,
		idSeed:  maphash.MakeSeed(),
		queue:   make(chan Item[In, Out, C], c.QueueSize),
		ready:   make(chan *itemRun[In, Out, C]),
		drained: make(chan struct{}),
		ledger:  NewLedger(c.Prices),
	}, nil
}

// Add queues an item. It returns an error, and queues nothing, if the item's
// ID is empty or repeats an earlier item's, if it has no strategy and the
// processor has no default, or after Finish or Close. Once the run has
// started and the queue is full, Add blocks until a worker takes an item,
// ctx is done, or the run stops. Before the run starts Add never blocks.
//
// Duplicate IDs are detected by a 64-bit hash of each ID, about 8 bytes
// per item, so memory stays small for millions of items; two different
// IDs collide with a probability of about n²/2⁶⁵ (3·10⁻⁸ for a million
// items). [Config.UniqueIDs] turns the check, and its memory, off.
func (p *Processor[In, Out, C]) Add(ctx context.Context, item Item[In, Out, C]) error {
	if !validID(item.ID) {
		return fmt.Errorf("batchllm: add: item ID %q is empty", item.ID)
	}
	if item.Strategy == nil && p.cfg.Strategy == nil {
		return fmt.Errorf("batchllm: add item %q: no strategy (set Item.Strategy or Config.Strategy)", item.ID)
	}
	h := maphash.String(p.idSeed, item.ID)
	p.mu.Lock()
	if p.inputClosed || p.closed {
		p.mu.Unlock()
		return fmt.Errorf("batchllm: add item %q: %w", item.ID, ErrClosed)
	}
	if !p.cfg.UniqueIDs && !p.ids.Add(h) {
		p.mu.Unlock()
		return fmt.Errorf("batchllm: add item %q: duplicate item ID", item.ID)
	}
	p.added++
	p.pending.Add(1) // counted before it reaches the queue, so no worker sees it drained early
	if !p.started {
		p.pre = append(p.pre, item)
		p.mu.Unlock()
		return nil
	}
	stopped := p.stopped
	p.senders.Add(1)
	p.mu.Unlock()
	defer p.senders.Done()

	select {
	case p.queue <- item:
		return nil
	default:
	}
	var err error
	select {
	case p.queue <- item:
		return nil
	case <-ctx.Done():
		err = context.Cause(ctx)
	case <-stopped:
		err = ErrClosed
		if ae := p.abortErr.Load(); ae != nil {
			err = fmt.Errorf("%w: %w", ErrBatchAborted, *ae)
		}
	}
	// The item was not queued: forget it, so that it may be added again.
	p.mu.Lock()
	if !p.cfg.UniqueIDs {
		p.ids.Remove(h)
	}
	p.added--
	p.pending.Add(-1)
	p.mu.Unlock()
	return fmt.Errorf("batchllm: add item %q: %w", item.ID, err)
}

// Finish tells the processor that no more items will be added. The run ends
// when every added item has a result. Finish is idempotent.
func (p *Processor[In, Out, C]) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inputClosed {
		return
	}
	p.inputClosed = true
	if p.started {
		p.closeQueueWhenFed()
	}
}

// closeQueueWhenFed closes the queue once every sender is done. It must be
// called with p.mu held, after inputClosed and started are both true, so
// that no sender can join after Wait begins.
func (p *Processor[In, Out, C]) closeQueueWhenFed() {
	p.closeQueue.Do(func() {
		go func() {
			p.senders.Wait()
			close(p.queue)
		}()
	})
}

// Run finishes the input, processes every item added, and returns all the
// results in completion order with the final counters. The error is nil
// when the run completed, even if items failed (see [Summary.Failures]);
// otherwise it says why the run stopped early: the context's cause, the
// batch deadline, or the fatal error that aborted the batch (which wraps
// [ErrBatchAborted]). Results of the items that finished are returned
// either way.
//
// Run keeps every result in memory; to stream millions of items, use
// [Processor.Results].
func (p *Processor[In, Out, C]) Run(ctx context.Context) (*Summary[Out, C], error) {
	p.Finish()
	s := &Summary[Out, C]{}
	for r := range p.Results(ctx) {
		s.Results = append(s.Results, r)
	}
	s.Stats = p.Stats()
	return s, p.Err()
}

// Results starts the run and returns its results as they finish, in
// completion order. Memory does not grow with the number of items, but for
// the 8 bytes per item that finding duplicate IDs takes (see Add). The
// iteration ends when every item added before Finish has a result, or the
// run stops early (see [Processor.Err]); stopping the iteration early
// cancels the run. Items that had not finished when the run stopped have no
// result. A processor runs once: ranging over Results a second time yields
// nothing, and Err then returns [ErrClosed].
//
// Results waits for [Processor.Finish]: ranging over it without calling
// Finish never ends. [Processor.Process] takes the items as a sequence and
// so cannot be left waiting.
func (p *Processor[In, Out, C]) Results(ctx context.Context) iter.Seq[Result[Out, C]] {
	return p.run(ctx, nil)
}

// Process runs the items of a sequence, with any added before, and returns
// the results as they finish, in completion order: the streaming form of
// Run, which cannot be left waiting for a Finish. The items are read on
// their own goroutine as the workers take them (memory stays bounded), and
// Finish is called when the sequence ends. An item that Add rejects (an
// empty or repeated ID, no strategy) stops the run, and [Processor.Err]
// reports why. Stopping the iteration early cancels the run; the iteration
// then ends once the items sequence has returned, so a sequence that
// waits on a source should also watch ctx.
//
//	for r := range p.Process(ctx, items) { … }
//	err := p.Err()
func (p *Processor[In, Out, C]) Process(ctx context.Context, items iter.Seq[Item[In, Out, C]]) iter.Seq[Result[Out, C]] {
	return p.run(ctx, items)
}

// run starts the run, feeds it items if there are any, and yields its
// results.
func (p *Processor[In, Out, C]) run(ctx context.Context, items iter.Seq[Item[In, Out, C]]) iter.Seq[Result[Out, C]] {
	return func(yield func(Result[Out, C]) bool) {
		runCtx, workersDone, err := p.start(ctx)
		if err != nil {
			p.statsMu.Lock()
			if p.runErr == nil {
				p.runErr = err
			}
			p.statsMu.Unlock()
			return
		}
		if items != nil {
			fed := make(chan struct{})
			go p.feed(runCtx, items, fed)
			defer func() { <-fed }()
		}
		sink := p.sink(runCtx)
		for r := range p.results {
			r = sink.deliver(r)
			if !yield(r) {
				p.cancelRun(errStoppedEarly)
				for range p.results {
				}
				break
			}
		}
		<-workersDone
		sink.finish()
		p.end(runCtx)
	}
}

// feed adds the items of a sequence, then finishes the input. An item Add
// rejects stops the run with Add's error.
func (p *Processor[In, Out, C]) feed(runCtx context.Context, items iter.Seq[Item[In, Out, C]], fed chan<- struct{}) {
	defer close(fed)
	defer p.Finish()
	for item := range items {
		if err := p.Add(runCtx, item); err != nil {
			if runCtx.Err() == nil {
				p.cancelRun(err)
			}
			return
		}
	}
}

// errStoppedEarly is the cause of a run whose consumer stopped iterating; it
// is not reported by Err, since the consumer knows.
var errStoppedEarly = errors.New("batchllm: result consumer stopped early")

// Err returns why the run stopped before every item had a result, or nil if
// it did not (or has not ended yet).
func (p *Processor[In, Out, C]) Err() error {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	return p.runErr
}

// Stats returns a snapshot of the run's counters, live during the run.
func (p *Processor[In, Out, C]) Stats() Stats {
	p.mu.Lock()
	added := p.added
	p.mu.Unlock()
	s := Stats{Totals: p.ledger.Totals()}
	p.statsMu.Lock()
	switch {
	case !p.runEnd.IsZero():
		s.Elapsed = p.runEnd.Sub(p.runStart)
	case !p.runStart.IsZero():
		s.Elapsed = time.Since(p.runStart)
	}
	p.statsMu.Unlock()
	s.Added = added
	s.Attempts = p.attempts.Load()
	s.Retries = p.retries.Load()
	s.RateLimited = p.rateLimited.Load()
	s.InFlight = p.inFlight.Load()
	for _, o := range p.observers {
		s.EventsDropped += o.dropped.Load()
	}
	return s
}

// Close stops a run in progress (as if its context were cancelled), waits
// for it to end, and calls Cleanup once on every strategy instance of the
// run that implements [Cleaner]: those without Prepare, and those whose
// Prepare succeeded. Close is idempotent: later calls return nil.
func (p *Processor[In, Out, C]) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	cancel, stopped := p.cancelRun, p.stopped
	p.mu.Unlock()
	if cancel != nil {
		cancel(ErrClosed)
		select {
		case <-stopped:
		case <-ctx.Done():
		}
	}
	var errs []error
	p.prepared.Range(func(k, v any) bool {
		st := v.(*prepareState)
		if !st.done.Load() {
			return true
		}
		if c, ok := k.(Cleaner); ok {
			if err := callSafely(func() error { return c.Cleanup(ctx) }); err != nil {
				p.log.Error("batchllm: strategy cleanup failed", "strategy", fmt.Sprintf("%T", k), "err", err)
				errs = append(errs, fmt.Errorf("batchllm: cleanup %T: %w", k, err))
			}
		}
		return true
	})
	return errors.Join(errs...)
}

// start launches the run: the feeder of items added before it, the workers,
// and the observers. It returns the run's context and a channel closed when
// every worker has stopped.
func (p *Processor[In, Out, C]) start(ctx context.Context) (context.Context, <-chan struct{}, error) {
	p.mu.Lock()
	if p.started || p.closed {
		p.mu.Unlock()
		return nil, nil, ErrClosed
	}
	p.started = true
	runCtx, cancel := context.WithCancelCause(ctx)
	if p.cfg.BatchTimeout > 0 {
		var cancelT context.CancelFunc
		runCtx, cancelT = context.WithTimeoutCause(runCtx, p.cfg.BatchTimeout, fmt.Errorf("batchllm: batch timeout (%v): %w", p.cfg.BatchTimeout, context.DeadlineExceeded))
		c0 := cancel
		cancel = func(cause error) { c0(cause); cancelT() }
	}
	p.cancelRun = cancel
	p.stopped = runCtx.Done()
	pre := p.pre
	p.pre = nil
	p.senders.Add(1) // the feeder
	if p.inputClosed {
		p.closeQueueWhenFed()
	}
	p.mu.Unlock()

	p.statsMu.Lock()
	p.runStart = time.Now()
	p.statsMu.Unlock()

	p.startObservers()
	p.results = make(chan Result[Out, C], p.cfg.Workers)
	p.emit(Event{Kind: EventBatchStarted, Workers: p.cfg.Workers})

	go func() {
		defer p.senders.Done()
		for _, it := range pre {
			select {
			case p.queue <- it:
			case <-runCtx.Done():
				return
			}
		}
	}()

	workCtx, abort := context.WithCancelCause(runCtx)
	p.abort = abort
	var wg sync.WaitGroup
	for w := range p.cfg.Workers {
		wg.Go(func() { p.worker(runCtx, workCtx, w) })
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		abort(nil)
		close(p.results)
		close(done)
	}()
	return runCtx, done, nil
}

// end records why the run ended, emits the last event and stops observers.
func (p *Processor[In, Out, C]) end(runCtx context.Context) {
	var err error
	if cause := context.Cause(runCtx); cause != nil && !errors.Is(cause, errStoppedEarly) {
		err = cause
	}
	if ae := p.abortErr.Load(); ae != nil {
		err = fmt.Errorf("%w: %w", ErrBatchAborted, *ae)
	}
	p.cancelRun(nil) // release the run's context; Add no longer blocks
	p.statsMu.Lock()
	p.runEnd = time.Now()
	if p.runErr == nil {
		p.runErr = err
	}
	elapsed := p.runEnd.Sub(p.runStart)
	p.statsMu.Unlock()
	usage := p.ledger.Totals().Usage
	p.emit(Event{Kind: EventBatchCompleted, Duration: elapsed, Usage: usage, Err: err})
	p.stopObservers()
}

// worker advances items until the queue is closed and every item taken
// from it has ended, or the run stops. Items whose backoff ended come
// before new ones.
func (p *Processor[In, Out, C]) worker(runCtx, workCtx context.Context, id int) {
	p.emit(Event{Kind: EventWorkerStarted, WorkerID: id})
	defer p.emit(Event{Kind: EventWorkerStopped, WorkerID: id})
	for {
		it := p.next(runCtx, workCtx)
		if it == nil {
			return
		}
		switch st, wait := it.advance(id); st {
		case stepWaiting:
			p.park(it, wait)
		case stepUnfinished:
			p.itemEnded(it)
		case stepFinished:
			p.itemEnded(it)
			if p.cfg.Record != nil {
				err := callSafely(func() error { return p.cfg.Record(context.WithoutCancel(runCtx), it.res) })
				if err != nil {
					p.abortBatch(fmt.Errorf("record result of item %q: %w", it.item.ID, err))
					continue
				}
			}
			p.results <- it.res // the consumer drains results until every worker is done
		}
	}
}

// next returns the next item to advance, or nil when the worker should
// stop.
func (p *Processor[In, Out, C]) next(runCtx, workCtx context.Context) *itemRun[In, Out, C] {
	select {
	case it := <-p.ready:
		return it
	default:
	}
	if !p.queueClosed.Load() {
		select {
		case it := <-p.ready:
			return it
		case item, ok := <-p.queue:
			if ok {
				if runCtx.Err() != nil {
					return nil
				}
				return p.begin(runCtx, workCtx, item)
			}
			p.queueClosed.Store(true)
			p.checkDrained()
		case <-runCtx.Done():
			return nil
		}
	}
	select {
	case it := <-p.ready:
		return it
	case <-p.drained:
		return nil
	case <-runCtx.Done():
		return nil
	}
}

// park sets an item aside for wait without holding a worker. It comes back
// through p.ready when the wait is over, or at once when its context ends
// (its deadline, an abort, a cancelled run).
func (p *Processor[In, Out, C]) park(it *itemRun[In, Out, C], wait time.Duration) {
	it.woken.Store(false)
	wake := func() {
		if !it.woken.CompareAndSwap(false, true) {
			return
		}
		select {
		case p.ready <- it:
		case <-it.runCtx.Done():
			p.itemEnded(it)
		}
	}
	// Whichever fires first stops the other: the timer is cheap to leave,
	// but an AfterFunc left on the work context would stay registered there
	// for the rest of the run.
	var mu sync.Mutex
	mu.Lock()
	defer mu.Unlock()
	var stopCtx func() bool
	timer := time.AfterFunc(wait, func() {
		mu.Lock()
		stopCtx()
		mu.Unlock()
		wake()
	})
	stopCtx = context.AfterFunc(it.ctx, func() {
		mu.Lock()
		timer.Stop()
		mu.Unlock()
		wake()
	})
}

// itemEnded counts an item out: it will not come back to a worker.
func (p *Processor[In, Out, C]) itemEnded(it *itemRun[In, Out, C]) {
	it.cancel()
	p.pending.Add(-1)
	p.checkDrained()
}

// checkDrained ends the workers' wait once the queue is closed and every
// item taken from it has ended.
func (p *Processor[In, Out, C]) checkDrained() {
	if p.queueClosed.Load() && p.pending.Load() == 0 {
		p.drainOnce.Do(func() { close(p.drained) })
	}
}

// abortBatch stops the batch because of a ClassFatalBatch error. The first
// such error wins.
func (p *Processor[In, Out, C]) abortBatch(err error) {
	if p.abortErr.CompareAndSwap(nil, &err) {
		p.log.Error("batchllm: batch aborted", "err", err)
		p.abort(err)
	}
}

// prepareState serialises the Prepare calls of one strategy instance. The
// lock is a channel so that a worker waiting for another's Prepare can give
// up when its context ends.
type prepareState struct {
	lock chan struct{}
	done atomic.Bool
}

// prepare calls s.Prepare once per instance, unless s is not a Preparer,
// and notes a strategy that has only Cleanup, for Close.
func (p *Processor[In, Out, C]) prepare(ctx context.Context, s Strategy[In, Out]) error {
	pr, ok := s.(Preparer)
	if !ok {
		if c, ok := s.(Cleaner); ok && comparable(c) {
			if _, known := p.prepared.Load(c); !known {
				st := &prepareState{}
				st.done.Store(true)
				p.prepared.LoadOrStore(c, st)
			}
		}
		return nil
	}
	if !comparable(pr) {
		return callSafely(func() error { return pr.Prepare(ctx) })
	}
	v, ok := p.prepared.Load(pr)
	if !ok {
		v, _ = p.prepared.LoadOrStore(pr, &prepareState{lock: make(chan struct{}, 1)})
	}
	st := v.(*prepareState)
	if st.done.Load() {
		return nil
	}
	select {
	case st.lock <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	defer func() { <-st.lock }()
	if st.done.Load() {
		return nil
	}
	if err := callSafely(func() error { return pr.Prepare(ctx) }); err != nil {
		return err
	}
	st.done.Store(true)
	return nil
}

// comparable reports whether v can be a map key without panicking.
func comparable(v any) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_ = v == v
	return true
}
