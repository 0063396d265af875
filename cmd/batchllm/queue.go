package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/pflag"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/queue"
)

// queueFlags are the flags of the work queue, shared by run, worker and
// status.
type queueFlags struct {
	url         string
	schema      string
	rescueAfter time.Duration
	limiter     string
}

func addQueueFlags(fl *pflag.FlagSet, q *queueFlags, work bool) {
	fl.StringVar(&q.url, "queue", "", "Postgres URL of the work queue (postgres://user@host:5432/db): the run's items and results live there, and 'batchllm worker' processes on any machine help")
	fl.StringVar(&q.schema, "queue-schema", "batchllm", "Postgres schema of the work queue's tables")
	if work {
		fl.StringVar(&q.limiter, "limiter", "", "Redis URL (redis://host:6379/0) of the rate limiter shared by every process on the same API key, queued or not; give every run and worker the same (default: each process limits itself)")
		fl.DurationVar(&q.rescueAfter, "rescue-after", 0, "with --queue: how long an item may be in a worker's hands before it is presumed dead and its item sent again (default: the item timeout + 1m; give every process the same)")
	}
}

// openQueue connects to the queue's database and migrates its schema.
func openQueue(ctx context.Context, q queueFlags, log *slog.Logger) (*queue.Queue, func(), error) {
	cfg, err := pgxpool.ParseConfig(q.url)
	if err != nil {
		return nil, nil, fmt.Errorf("--queue: %v", err)
	}
	// pgxpool's default (4 connections on 2 cores) starves a worker: River's
	// notifier holds one, and its fetches, its completions, the worker's
	// result batches and Follow each need their own. pool_max_conns in the
	// URL still wins.
	if !strings.Contains(q.url, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, 12)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("--queue: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	qu, err := queue.Open(cctx, pool, queue.Options{Schema: q.schema, Logger: log})
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("--queue: %v", err)
	}
	return qu, pool.Close, nil
}

// checkFleetFlags refuses the combinations of flags that --queue and
// --limiter cannot honour, before anything is read or sent.
func checkFleetFlags(f *runFlags) error {
	q := &f.queue
	if q.url == "" {
		switch {
		case q.rescueAfter != 0:
			return usageErr("--rescue-after needs --queue")
		case q.limiter != "" && f.batch.enabled():
			return usageErr("--limiter and --batch exclude each other: a Batch API job is not rate limited by batchllm")
		}
		return nil
	}
	switch {
	case f.batch.enabled():
		return usageErr("--batch and --queue exclude each other: a Batch API job is one upload that the provider runs; run it without --queue")
	case f.journal != "":
		return usageErr("--journal and --queue exclude each other: with --queue, Postgres holds the results")
	case f.retryFailed:
		return usageErr("--retry-failed and --queue exclude each other: a queued run keeps its failures; give the failed items to a new run")
	case f.dryRun:
		return usageErr("--dry-run and --queue exclude each other")
	case f.metricsAddr != "":
		return usageErr("--metrics-addr and --queue exclude each other (not supported yet): watch the run with 'batchllm status --queue'")
	case f.ui != "":
		return usageErr("--ui and --queue exclude each other (not supported yet): watch the run with 'batchllm status --queue'")
	case f.stream:
		return usageErr("--stream and --queue exclude each other (not supported yet)")
	}
	return nil
}

// queuedRun is a run's configuration as the queue stores it: what a worker
// needs to send its items as `batchllm run` would, and never a key (each
// worker takes its own from its environment).
type queuedRun struct {
	Provider          string          `json:"provider"`
	Model             string          `json:"model"`
	BaseURL           string          `json:"base_url,omitempty"`
	AllowUnknownModel bool            `json:"allow_unknown_model,omitempty"`
	MaxTokens         int             `json:"max_tokens,omitempty"`
	Temperature       *float64        `json:"temperature,omitempty"`
	RPM               int64           `json:"rpm,omitempty"`
	TPM               int64           `json:"tpm,omitempty"`
	NoAdapt           bool            `json:"no_adapt,omitempty"`
	MaxAttempts       int             `json:"max_attempts"`
	Backoff           time.Duration   `json:"backoff"`
	AttemptTimeout    time.Duration   `json:"attempt_timeout"`
	ItemTimeout       time.Duration   `json:"item_timeout"`
	Schema            json.RawMessage `json:"json_schema,omitempty"`
	Budget            float64         `json:"budget,omitempty"`
	Dedupe            bool            `json:"dedupe,omitempty"`
	Sim               *queuedSim      `json:"sim,omitempty"`
}

// queuedSim is --provider sim's configuration: every worker starts its own
// simulator with it.
type queuedSim struct {
	Latency string `json:"latency"`
	Faults  string `json:"faults,omitempty"`
	RPM     int64  `json:"rpm,omitempty"`
	TPM     int64  `json:"tpm,omitempty"`
	Seed    uint64 `json:"seed"`
}

// defaultQueueItemTimeout bounds an item of a queued run when
// --item-timeout is not given: a queued item needs a deadline, after which
// its job is presumed lost with its worker.
const defaultQueueItemTimeout = 10 * time.Minute

// queuedRun returns the configuration of the run, for the queue.
func (r *runner) queuedRun() queuedRun {
	f := &r.f
	c := queuedRun{
		Provider: r.prov.Name, Model: r.model, BaseURL: f.baseURL, AllowUnknownModel: f.allowUnknownModel,
		MaxTokens: f.maxTokens, Temperature: r.temperature, RPM: f.rpm, TPM: f.tpm, NoAdapt: f.noAdapt,
		MaxAttempts: f.maxAttempts, Backoff: f.backoff, AttemptTimeout: f.attemptTimeout, ItemTimeout: f.itemTimeout,
		Budget: f.budget, Dedupe: f.dedupe,
	}
	if c.ItemTimeout == 0 {
		c.ItemTimeout = defaultQueueItemTimeout
	}
	if r.schema != nil {
		c.Schema = r.schema.JSON
	}
	if r.prov.Name == "sim" {
		s := f.sim
		c.Sim = &queuedSim{Latency: s.latency, Faults: s.faults, RPM: s.rpm, TPM: s.tpm, Seed: s.seed}
	}
	return c
}

// queuedItem is an item as the queue stores it.
type queuedItem struct {
	prompt batchllm.Prompt
	ctx    itemContext
	id     string
}

// queuedContext is an item's context as the queue stores it: an item
// without metadata must come back without, not with a JSON null.
type queuedContext struct {
	Digest   string
	Metadata json.RawMessage `json:",omitempty"`
}

// queuedItems yields the input's items ready to enqueue.
func (r *runner) queuedItems(yield func(queuedItem) error) error {
	return r.in.items(func(it item) error {
		pr, d, err := r.request(it)
		if err != nil {
			return err
		}
		return yield(queuedItem{id: it.ID, prompt: pr, ctx: itemContext{Digest: d, Metadata: it.Metadata, BatchFormat: it.BatchFormat}})
	})
}

// runID names a queued run after what it sends: its configuration and
// every item's ID and request digest. The same command on the same input
// names the same run, and so resumes it.
func (r *runner) runID(config []byte) (string, error) {
	h := sha256.New()
	h.Write(config)
	err := r.queuedItems(func(it queuedItem) error {
		fmt.Fprintf(h, "\x00%s\x00%s", it.id, it.ctx.Digest)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// executeQueued is `batchllm run --queue`: it enqueues the run (unless it
// exists, when it resumes it), works on it with its own worker beside any
// `batchllm worker`, and writes every result as it is recorded. A rerun
// writes the whole output again.
func (r *runner) executeQueued(ctx context.Context) error {
	f := &r.f
	config, err := json.Marshal(r.queuedRun())
	if err != nil {
		return err
	}
	id, err := r.runID(config)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	q, closeQ, err := openQueue(ctx, f.queue, r.log)
	if err != nil {
		return usageErr("%v", err)
	}
	defer closeQ()

	items := func(yield func(queue.Item, error) bool) {
		stop := errors.New("stop")
		err := r.queuedItems(func(it queuedItem) error {
			in, err := json.Marshal(it.prompt)
			if err != nil {
				return err
			}
			c, err := json.Marshal(queuedContext{Digest: it.ctx.Digest, Metadata: it.ctx.Metadata})
			if err != nil {
				return err
			}
			if !yield(queue.Item{ID: it.id, Input: in, Context: c}, nil) {
				return stop
			}
			return nil
		})
		if err != nil && err != stop {
			yield(queue.Item{}, err)
		}
	}
	created, err := q.CreateRun(ctx, id, config, items)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	run, err := q.Run(ctx, id)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	if created {
		fmt.Fprintf(r.stderr, "batchllm: run %s: %d item(s) queued; 'batchllm worker --queue URL' on other machines helps\n", id, run.Items)
	} else {
		if run.Stopped != "" || run.Finished {
			if err := q.ResumeRun(ctx, id); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
		}
		fmt.Fprintf(r.stderr, "batchllm: run %s exists: resuming it\n", id)
	}

	if err := r.openOutput(); err != nil {
		return err
	}

	// This process works on its own run beside any worker.
	wctx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorker()
	opener := &runOpener{providers: r.providers, queue: q, log: r.log, stderr: r.stderr}
	if opener.redis, err = openLimiter(f.queue.limiter); err != nil {
		return usageErr("%v", err)
	}
	if opener.redis != nil {
		defer opener.redis.Close()
	}
	worker, err := queue.NewWorker(q, queue.WorkerConfig[batchllm.Prompt, string, itemContext]{
		Workers:     f.workers,
		Runs:        []string{id},
		Open:        opener.open,
		ItemTimeout: r.queuedRun().ItemTimeout,
		RescueAfter: f.queue.rescueAfter,
		Grace:       f.grace,
		Logger:      r.log,
	})
	if err != nil {
		return usageErr("%v", err)
	}
	workerDone := make(chan error, 1)
	go func() { workerDone <- worker.Run(wctx) }()

	followCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = cancel
	r.start = time.Now()
	done := make(chan struct{})
	interrupted := r.watchQueueSignals(done, cancel)
	var followErr error
	for res, err := range q.Follow(followCtx, id, 0) {
		if err != nil {
			followErr = err
			break
		}
		var l outputLine
		if err := json.Unmarshal(res.Value, &l); err != nil {
			r.setFatal(fmt.Errorf("run %s: item %q: bad record: %w", id, res.ItemID, err))
			break
		}
		r.tally.add(l, false)
		r.out.write(l)
	}
	close(done)
	complete := followErr == nil && r.fatalErr() == nil
	if complete {
		if err := q.FinishRun(context.WithoutCancel(ctx), id); err != nil {
			r.log.Warn("batchllm: cannot close the run", "run", id, "err", err)
		}
	}
	stopWorker()
	<-workerDone
	r.queueSummary(id)
	switch {
	case r.fatalErr() != nil:
		return &exitError{code: exitFailed, err: r.fatalErr()}
	case interrupted.Load():
		fmt.Fprintf(r.stderr, "batchllm: interrupted; run %s stays queued (workers go on with it): run the same command again to follow it\n", id)
		return &exitError{code: exitInterrupted}
	case followErr != nil:
		return &exitError{code: exitFailed, err: fmt.Errorf("run %s: %s", id, r.redact(followErr.Error()))}
	}
	if r.tally.totals().Failed > 0 {
		return &exitError{code: exitFailed}
	}
	return nil
}

// queueSummary reports a queued run's results on stderr.
func (r *runner) queueSummary(id string) {
	t := r.tally.totals()
	wall := time.Since(r.start)
	fmt.Fprintf(r.stderr, "batchllm: run %s: %d item(s): %d ok, %d failed", id, r.in.checked.Valid, t.Succeeded, t.Failed)
	if n := int64(r.in.checked.Valid) - t.Finished; n > 0 {
		fmt.Fprintf(r.stderr, "; %d not finished", n)
	}
	u := t.Usage
	fmt.Fprintf(r.stderr, "\nbatchllm: tokens: %d in, %d out", u.InputTokens, u.OutputTokens)
	if c, ok := runCost(t); ok {
		fmt.Fprintf(r.stderr, "; cost %s", c)
	}
	fmt.Fprintf(r.stderr, "; wall time %v\n", wall.Round(time.Millisecond))
}
