package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
)

// WorkerConfig configures a [Worker].
type WorkerConfig[In, Out, C any] struct {
	// ID names the worker in results and status. Default host-pid-random.
	ID string
	// Workers is the number of a run's items the worker works at once
	// (River's MaxWorkers for the run's queue, and the processor's
	// Workers). Default 16. It bounds what the worker's death re-sends.
	Workers int
	// Runs, if not empty, limits the worker to these runs; otherwise it
	// joins every open run.
	Runs []string

	// Open prepares the worker to work a run: the processor configuration,
	// built from [Run.Config] and the worker's own environment (its API
	// keys, its limiter), and how to record results. An error skips the
	// run for a minute; it is logged.
	Open func(ctx context.Context, run Run) (RunSetup[In, Out, C], error)

	// ItemTimeout bounds one item, all its attempts and waits. Default 10
	// minutes. A job is worked for at most ItemTimeout plus 15 seconds to
	// record its result.
	ItemTimeout time.Duration
	// RescueAfter is how long a job may be running before River's rescuer
	// takes it from its worker, presumed dead, and makes it available
	// again. It must be at least ItemTimeout plus 30 seconds, so that no
	// live worker's job is rescued. Default ItemTimeout plus one minute.
	// Only the elected leader's value counts: give every worker the same.
	RescueAfter time.Duration
	// PollInterval is how often the worker looks for new runs and reports
	// itself in [Queue.Status]. Default 2 seconds.
	PollInterval time.Duration
	// Grace bounds how long Run waits, once its context is done, for the
	// items in flight to finish; after it they are cancelled and their jobs
	// go back to the queue. Default 30 seconds.
	Grace time.Duration
	// Logger defaults to the Queue's.
	Logger *slog.Logger
}

// RunSetup is what a worker needs to work one run.
type RunSetup[In, Out, C any] struct {
	// Config configures the run's processor. The worker sets Workers,
	// ItemTimeout and Record itself, and uses neither PostProcess, Progress
	// nor BatchTimeout.
	Config batchllm.Config[In, Out, C]
	// Encode converts an item's result into the record stored for it.
	Encode func(r batchllm.Result[Out, C]) (Record, error)
	// Close, if set, is called when the worker leaves the run, after its
	// last item.
	Close func()
}

// recordMargin is the time a job has, beyond its item's timeout, to record
// its result.
const recordMargin = 15 * time.Second

// Worker works the items of open runs. Create one with [NewWorker] and
// call [Worker.Run].
type Worker[In, Out, C any] struct {
	q   *Queue
	cfg WorkerConfig[In, Out, C]
	log *slog.Logger

	client    *river.Client[pgx.Tx]
	completer *completer

	mu     sync.Mutex
	runs   map[string]*runWork[In, Out, C]
	benchd map[string]time.Time // runs left after a fatal error, until when
}

// runWork is a run the worker has joined: its processor.
type runWork[In, Out, C any] struct {
	run     Run
	setup   RunSetup[In, Out, C]
	p       *batchllm.Processor[In, Out, job[C]]
	stopped chan struct{} // closed when the processor's run has ended
	cancel  context.CancelFunc
	aborted chan struct{} // closed on the first result of class ClassFatalBatch
	abort   sync.Once
}

// job is what travels with an item through the processor.
type job[C any] struct {
	user  C
	job   *river.Job[itemArgs]
	ctx   context.Context // the job's Work context, which holds River's client
	reply chan error
}

// NewWorker checks cfg and returns a worker on q.
func NewWorker[In, Out, C any](q *Queue, cfg WorkerConfig[In, Out, C]) (*Worker[In, Out, C], error) {
	if cfg.Open == nil {
		return nil, errors.New("queue: WorkerConfig.Open must be set")
	}
	if cfg.Workers == 0 {
		cfg.Workers = 16
	}
	if cfg.Workers < 1 || cfg.Workers > 10_000 {
		return nil, fmt.Errorf("queue: WorkerConfig.Workers is %d; it must be between 1 and 10000", cfg.Workers)
	}
	if cfg.ItemTimeout == 0 {
		cfg.ItemTimeout = 10 * time.Minute
	}
	if cfg.ItemTimeout < 0 {
		return nil, fmt.Errorf("queue: WorkerConfig.ItemTimeout is %v; it must be positive (a job without a deadline could never be told from a dead worker's)", cfg.ItemTimeout)
	}
	if cfg.RescueAfter == 0 {
		cfg.RescueAfter = cfg.ItemTimeout + time.Minute
	}
	if cfg.RescueAfter < cfg.ItemTimeout+2*recordMargin {
		return nil, fmt.Errorf("queue: WorkerConfig.RescueAfter is %v; it must be at least ItemTimeout (%v) + %v, or live workers' jobs would be rescued", cfg.RescueAfter, cfg.ItemTimeout, 2*recordMargin)
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.Grace == 0 {
		cfg.Grace = 30 * time.Second
	}
	if cfg.PollInterval < 0 || cfg.Grace < 0 {
		return nil, errors.New("queue: WorkerConfig.PollInterval and Grace must not be negative")
	}
	for _, id := range cfg.Runs {
		if err := checkRunID(id); err != nil {
			return nil, err
		}
	}
	if cfg.ID == "" {
		host, _ := os.Hostname()
		var b [3]byte
		rand.Read(b[:])
		cfg.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if cfg.Logger == nil {
		cfg.Logger = q.log
	}
	w := &Worker[In, Out, C]{q: q, cfg: cfg, log: cfg.Logger, runs: map[string]*runWork[In, Out, C]{}, benchd: map[string]time.Time{}}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &itemWorker[In, Out, C]{w: w}); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	c, err := river.NewClient(riverpgxv5.New(q.pool), &river.Config{
		ID:     cfg.ID,
		Schema: q.schema,
		Logger: cfg.Logger,
		// River needs a queue to start as a worker; the runs' queues are
		// added as the worker joins them. Nothing is ever put here.
		Queues:               map[string]river.QueueConfig{"batchllm_idle": {MaxWorkers: 1}},
		Workers:              workers,
		JobTimeout:           cfg.ItemTimeout + recordMargin,
		RescueStuckJobsAfter: cfg.RescueAfter,
		// Fetch as soon as a slot is free: the default cooldown (100 ms)
		// would cap a run at Workers × 10 items per second per worker.
		FetchCooldown: 5 * time.Millisecond,
		MaxAttempts:   maxJobAttempts,
	})
	if err != nil {
		return nil, fmt.Errorf("queue: river client: %w", err)
	}
	w.client = c
	w.completer = newCompleter(q, cfg.ID, cfg.Logger)
	return w, nil
}

// ID returns the worker's ID.
func (w *Worker[In, Out, C]) ID() string { return w.cfg.ID }

// Run works open runs until ctx is done, then stops fetching, lets the
// items in flight finish for at most Grace (cancelling them after it: their
// jobs go back to the queue), and returns nil. It returns early with an
// error if River cannot start.
func (w *Worker[In, Out, C]) Run(ctx context.Context) error {
	bg := context.WithoutCancel(ctx)
	go w.completer.run()
	if err := w.client.Start(bg); err != nil {
		w.completer.close()
		return fmt.Errorf("queue: start worker: %w", err)
	}
	w.poll(ctx)
	t := time.NewTicker(w.cfg.PollInterval)
	defer t.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-t.C:
			w.poll(ctx)
		}
	}
	stopCtx, cancel := context.WithTimeout(bg, w.cfg.Grace)
	defer cancel()
	if err := w.client.Stop(stopCtx); err != nil {
		w.log.Warn("queue: grace period over: cancelling the items in flight", "worker", w.cfg.ID)
		cctx, ccancel := context.WithTimeout(bg, 10*time.Second)
		w.client.StopAndCancel(cctx)
		ccancel()
	}
	w.completer.close()
	w.mu.Lock()
	runs := w.runs
	w.runs = map[string]*runWork[In, Out, C]{}
	w.mu.Unlock()
	for _, rw := range runs {
		w.leave(rw)
	}
	dctx, dcancel := context.WithTimeout(bg, 5*time.Second)
	defer dcancel()
	if _, err := w.q.pool.Exec(dctx, w.q.sql(`DELETE FROM {s}.batchllm_worker WHERE id = $1`), w.cfg.ID); err != nil {
		w.log.Warn("queue: could not sign the worker out", "worker", w.cfg.ID, "err", err)
	}
	return nil
}

// poll joins the open runs the worker has not joined, leaves those that
// closed, and reports the worker's presence.
func (w *Worker[In, Out, C]) poll(ctx context.Context) {
	open, err := w.q.OpenRuns(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("queue: cannot list open runs", "err", err)
		}
		return
	}
	isOpen := map[string]Run{}
	for _, r := range open {
		if len(w.cfg.Runs) == 0 || slices.Contains(w.cfg.Runs, r.ID) {
			isOpen[r.ID] = r
		}
	}
	w.mu.Lock()
	var leaving []*runWork[In, Out, C]
	for id, rw := range w.runs {
		if _, ok := isOpen[id]; !ok || isClosed(rw.stopped) {
			leaving = append(leaving, rw)
			delete(w.runs, id)
		}
	}
	var joining []Run
	now := time.Now()
	for id, r := range isOpen {
		if _, ok := w.runs[id]; !ok && !now.Before(w.benchd[id]) {
			joining = append(joining, r)
		}
	}
	w.mu.Unlock()
	for _, rw := range leaving {
		w.leave(rw)
	}
	for _, r := range joining {
		if err := w.join(ctx, r); err != nil {
			w.log.Warn("queue: cannot join run", "run", r.ID, "err", err)
			w.bench(r.ID)
		}
	}
	w.mu.Lock()
	ids := make([]string, 0, len(w.runs))
	for id := range w.runs {
		ids = append(ids, id)
	}
	w.mu.Unlock()
	host, _ := os.Hostname()
	_, err = w.q.pool.Exec(ctx, w.q.sql(`INSERT INTO {s}.batchllm_worker (id, host, pid, runs) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET runs = $4, seen_at = now()`), w.cfg.ID, host, os.Getpid(), ids)
	if err != nil && ctx.Err() == nil {
		w.log.Warn("queue: cannot report the worker's presence", "err", err)
	}
}

// bench keeps the worker out of a run for a while after a fatal error.
func (w *Worker[In, Out, C]) bench(id string) {
	w.mu.Lock()
	w.benchd[id] = time.Now().Add(benchTime)
	w.mu.Unlock()
}

// benchTime is how long a worker stays out of a run that it could not open
// or whose batch it had to abort (a bad key on this machine, say): long
// enough not to churn through the run's items, short enough to come back
// once the cause is fixed.
const benchTime = time.Minute

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// join opens a run's processor and starts fetching its jobs.
func (w *Worker[In, Out, C]) join(ctx context.Context, r Run) error {
	setup, err := w.cfg.Open(ctx, r)
	if err != nil {
		return err
	}
	if setup.Encode == nil {
		return errors.New("queue: the RunSetup from WorkerConfig.Open has no Encode")
	}
	rw := &runWork[In, Out, C]{run: r, setup: setup, stopped: make(chan struct{}), aborted: make(chan struct{})}
	pcfg := convertConfig(setup.Config, func(ctx context.Context, res batchllm.Result[Out, job[C]]) error {
		w.record(rw, res)
		return nil
	})
	pcfg.Workers = w.cfg.Workers
	if pcfg.ItemTimeout <= 0 || pcfg.ItemTimeout > w.cfg.ItemTimeout {
		pcfg.ItemTimeout = w.cfg.ItemTimeout
	}
	p, err := batchllm.New(pcfg)
	if err != nil {
		if setup.Close != nil {
			setup.Close()
		}
		return err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rw.p, rw.cancel = p, cancel
	go func() {
		defer close(rw.stopped)
		for range p.Results(rctx) {
		}
	}()
	w.mu.Lock()
	w.runs[r.ID] = rw
	w.mu.Unlock()
	if err := w.client.Queues().Add(queueName(r.ID), river.QueueConfig{MaxWorkers: w.cfg.Workers}); err != nil {
		w.mu.Lock()
		delete(w.runs, r.ID)
		w.mu.Unlock()
		w.leave(rw)
		return fmt.Errorf("add queue: %w", err)
	}
	w.log.Info("queue: joined run", "run", r.ID, "worker", w.cfg.ID)
	return nil
}

// leave stops fetching a run's jobs, lets its items in flight finish and
// closes its processor.
func (w *Worker[In, Out, C]) leave(rw *runWork[In, Out, C]) {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.Grace)
	defer cancel()
	if err := w.client.Queues().Remove(ctx, queueName(rw.run.ID)); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		w.log.Debug("queue: remove queue", "run", rw.run.ID, "err", err)
	}
	rw.p.Finish()
	select {
	case <-rw.stopped:
	case <-ctx.Done():
		rw.cancel()
		<-rw.stopped
	}
	rw.cancel()
	rw.p.Close(context.Background())
	if rw.setup.Close != nil {
		rw.setup.Close()
	}
	w.log.Info("queue: left run", "run", rw.run.ID, "worker", w.cfg.ID)
}

// itemWorker is River's worker for item jobs.
type itemWorker[In, Out, C any] struct {
	river.WorkerDefaults[itemArgs]
	w *Worker[In, Out, C]
}

// NextRetry brings a job back soon after a failed attempt or a rescue:
// River's default (attempt⁴ seconds) is made for flaky side effects, and
// the processor has done the backing off already.
func (iw *itemWorker[In, Out, C]) NextRetry(j *river.Job[itemArgs]) time.Time {
	return time.Now().Add(time.Duration(j.Attempt) * time.Second)
}

// Work feeds the job's item through its run's processor and waits until
// its result is recorded (see Worker.record).
func (iw *itemWorker[In, Out, C]) Work(ctx context.Context, j *river.Job[itemArgs]) error {
	w := iw.w
	w.mu.Lock()
	rw := w.runs[j.Args.Run]
	w.mu.Unlock()
	if rw == nil || isClosed(rw.aborted) {
		// The worker has left the run, or had to abort it: another worker,
		// or this one later, will take the job.
		return river.JobSnooze(w.cfg.PollInterval)
	}
	var in In
	if err := json.Unmarshal(j.Args.Input, &in); err != nil {
		return river.JobCancel(fmt.Errorf("item %q: decode input: %w", j.Args.ID, err))
	}
	var c C
	if len(j.Args.Context) > 0 {
		if err := json.Unmarshal(j.Args.Context, &c); err != nil {
			return river.JobCancel(fmt.Errorf("item %q: decode context: %w", j.Args.ID, err))
		}
	}
	// A job worked again (rescued, or retried after a failed commit) may
	// meet its earlier attempt in this processor, which refuses duplicate
	// IDs: each attempt gets its own.
	id := j.Args.ID
	if j.Attempt > 1 {
		id += "#" + strconv.Itoa(j.Attempt)
	}
	reply := make(chan error, 1)
	err := rw.p.Add(ctx, batchllm.Item[In, Out, job[C]]{ID: id, Input: in, Context: job[C]{user: c, job: j, ctx: ctx, reply: reply}})
	if err != nil {
		return river.JobSnooze(w.cfg.PollInterval)
	}
	select {
	case err := <-reply:
		return err
	case <-rw.stopped:
		return river.JobSnooze(w.cfg.PollInterval)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// record is the processor's Config.Record: it hands the result to the
// completer, which records it and completes its job in one transaction
// (with other jobs' results and completions), and tells Work how it went. A
// result of class ClassFatalBatch (a bad key here, an exhausted budget) is
// not recorded: the job goes back to the queue, the worker leaves the run
// for a while, and an exhausted budget stops the run for every worker.
func (w *Worker[In, Out, C]) record(rw *runWork[In, Out, C], res batchllm.Result[Out, job[C]]) {
	jc := res.Context
	if res.Class() == batchllm.ClassFatalBatch || errors.Is(res.Err, batchllm.ErrBatchAborted) {
		rw.abort.Do(func() {
			close(rw.aborted)
			w.log.Warn("queue: leaving run after a fatal error", "run", rw.run.ID, "worker", w.cfg.ID, "err", res.Err)
			w.bench(rw.run.ID)
			if errors.Is(res.Err, cost.ErrBudgetExhausted) {
				if err := w.q.StopRun(context.WithoutCancel(jc.ctx), rw.run.ID, res.Err.Error()); err != nil {
					w.log.Error("queue: cannot stop run", "run", rw.run.ID, "err", err)
				}
			}
		})
		jc.reply <- river.JobSnooze(w.cfg.PollInterval)
		return
	}
	user := batchllm.Result[Out, C]{
		ItemID: jc.job.Args.ID, Output: res.Output, Err: res.Err, Recovered: res.Recovered, Context: jc.user,
		Usage: res.Usage, Attempts: res.Attempts, Elapsed: res.Elapsed,
		Model: res.Model, FinishReason: res.FinishReason, RawFinishReason: res.RawFinishReason,
	}
	rec, err := rw.setup.Encode(user)
	if err != nil {
		jc.reply <- fmt.Errorf("item %q: encode result: %w", user.ItemID, err)
		return
	}
	w.completer.submit(completion{job: jc.job, rec: rec, reply: jc.reply})
}

// convertConfig turns the caller's processor configuration into the
// worker's, whose items carry their job beside the caller's context.
func convertConfig[In, Out, C any](c batchllm.Config[In, Out, C], record func(context.Context, batchllm.Result[Out, job[C]]) error) batchllm.Config[In, Out, job[C]] {
	out := batchllm.Config[In, Out, job[C]]{
		Strategy: c.Strategy, Workers: c.Workers, QueueSize: c.QueueSize, Retry: c.Retry,
		AttemptTimeout: c.AttemptTimeout, ItemTimeout: c.ItemTimeout,
		Classifier: c.Classifier, Gate: c.Gate, Middleware: c.Middleware,
		Observers: c.Observers, ObserverBuffer: c.ObserverBuffer, DryRun: c.DryRun, Logger: c.Logger,
		Record: record,
	}
	if c.Fallback != nil {
		out.Fallback = func(ctx context.Context, it batchllm.Item[In, Out, job[C]], err *batchllm.ItemError) (Out, bool) {
			return c.Fallback(ctx, batchllm.Item[In, Out, C]{ID: it.Context.job.Args.ID, Input: it.Input, Strategy: it.Strategy, Context: it.Context.user}, err)
		}
	}
	return out
}
