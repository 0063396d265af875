package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/dedupe"
	"github.com/batchllm/batchllm/internal/jsonenc"
	"github.com/batchllm/batchllm/journal"
	"github.com/batchllm/batchllm/queue"
	"github.com/batchllm/batchllm/ratelimit"
	"github.com/batchllm/batchllm/ratelimit/redisstore"
)

// workerFlags are the flags of `batchllm worker`.
type workerFlags struct {
	queue       queueFlags
	workers     int
	itemTimeout time.Duration
	grace       time.Duration
	logLevel    string
}

func newWorkerCmd() *cobra.Command {
	var f workerFlags
	cmd := &cobra.Command{
		Use:   "worker --queue postgres://…",
		Short: "Work on every open queued run until stopped",
		Long: `Worker joins every open run of the work queue (see 'batchllm run --queue') and
sends its items, with the run's provider, model, limits and schema, and the
API keys of this machine's environment (OPENAI_API_KEY, ANTHROPIC_API_KEY,
GEMINI_API_KEY). Results are recorded in Postgres in the transaction that
completes each item; the process that ran 'batchllm run --queue' writes them
out. Start as many workers as you like, on any machine that reaches the
database; stop one with Ctrl-C or SIGTERM (the items in flight finish within
--grace, the others go back to the queue). A worker that dies holding items
(kill -9, a lost machine) loses nothing: after --rescue-after they are sent
again, at most --workers of them per run.

With --limiter, every process on the same API key shares its quota in Redis.
A run's --budget caps the run across every process that works it: each
call's worst case is reserved in a shared ledger (in the Redis of --limiter,
else in Postgres) before it is sent.`,
		Example: `  batchllm worker --queue postgres://batchllm@db.internal:5432/batchllm --workers 32`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runWorker(ctx, f, defaultProviders(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	addQueueFlags(fl, &f.queue, true)
	fl.IntVar(&f.workers, "workers", 16, "items of each run in flight at most (it bounds what this worker's death re-sends)")
	fl.DurationVar(&f.itemTimeout, "item-timeout", defaultQueueItemTimeout, "time limit of one item, all attempts and waits included (a run's own --item-timeout, if shorter, wins)")
	fl.DurationVar(&f.grace, "grace", 30*time.Second, "on Ctrl-C or SIGTERM, how long the items in flight may take to finish")
	fl.StringVar(&f.logLevel, "log-level", "info", "log on standard error from this level up: debug, info (runs joined and left), warn or error")
	return cmd
}

// runWorker is `batchllm worker`: it works until ctx is done.
func runWorker(ctx context.Context, f workerFlags, providers registry, stderr io.Writer) error {
	if f.queue.url == "" {
		return usageErr("--queue is required")
	}
	if f.workers < 1 {
		return usageErr("--workers is %d; it must be at least 1", f.workers)
	}
	level, err := parseLogLevel(f.logLevel)
	if err != nil {
		return usageErr("%v", err)
	}
	opener := &runOpener{providers: providers, stderr: stderr}
	// Every key this worker may use is redacted from its log.
	var keys []string
	for _, p := range providers {
		if k, err := p.apiKey(""); err == nil && k != "" {
			keys = append(keys, k)
		}
	}
	log := slog.New(slog.NewTextHandler(redactWriter{stderr, redactor(keys...)}, &slog.HandlerOptions{Level: level}))
	opener.log = log
	if opener.redis, err = openLimiter(f.queue.limiter); err != nil {
		return usageErr("%v", err)
	}
	if opener.redis != nil {
		defer opener.redis.Close()
	}
	q, closeQ, err := openQueue(ctx, f.queue, log)
	if err != nil {
		return usageErr("%v", err)
	}
	defer closeQ()
	opener.queue = q
	w, err := queue.NewWorker(q, queue.WorkerConfig[batchllm.Prompt, string, itemContext]{
		Workers:     f.workers,
		Open:        opener.open,
		ItemTimeout: f.itemTimeout,
		RescueAfter: f.queue.rescueAfter,
		Grace:       f.grace,
		Logger:      log,
	})
	if err != nil {
		return usageErr("%v", err)
	}
	fmt.Fprintf(stderr, "batchllm: worker %s: working every open run of the queue until stopped\n", w.ID())
	if err := w.Run(ctx); err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	fmt.Fprintf(stderr, "batchllm: worker %s stopped\n", w.ID())
	return nil
}

// runOpener builds what a worker needs for a queued run from the run's
// configuration and the process's environment.
type runOpener struct {
	providers registry
	queue     *queue.Queue  // holds a run's budget ledger without --limiter
	redis     *redis.Client // --limiter; nil: each run's limiter is the process's own
	log       *slog.Logger
	stderr    io.Writer
}

func (o *runOpener) open(ctx context.Context, run queue.Run) (queue.RunSetup[batchllm.Prompt, string, itemContext], error) {
	var setup queue.RunSetup[batchllm.Prompt, string, itemContext]
	var c queuedRun
	if err := json.Unmarshal(run.Config, &c); err != nil {
		return setup, fmt.Errorf("run %s: bad configuration: %w", run.ID, err)
	}
	prov, err := o.providers.lookup(c.Provider)
	if err != nil {
		return setup, fmt.Errorf("run %s: %w", run.ID, err)
	}
	key, err := prov.apiKey(c.BaseURL)
	if err != nil {
		return setup, fmt.Errorf("run %s: %w", run.ID, err)
	}
	redact := redactor(key)
	opts := providerOptions{Model: c.Model, BaseURL: c.BaseURL, APIKey: key, MaxTokens: c.MaxTokens, Temperature: c.Temperature}
	if s := c.Sim; s != nil {
		opts.Sim = embeddedSim{latency: s.Latency, faults: s.Faults, rpm: s.RPM, tpm: s.TPM, seed: s.Seed}
	}
	strat, release, err := prov.Build(ctx, opts)
	if err != nil {
		return setup, fmt.Errorf("run %s: provider %s: %s", run.ID, prov.Name, redact(err.Error()))
	}
	var store ratelimit.Store
	if o.redis != nil {
		store = redisstore.New(o.redis, redisstore.Options{Prefix: quotaPrefix(prov.Name, key), Logger: o.log})
	}
	limiter, err := ratelimit.New(ratelimit.Config{Store: store, Default: ratelimit.Limits{Requests: c.RPM, Tokens: c.TPM}, NoAdapt: c.NoAdapt})
	if err != nil {
		release()
		return setup, fmt.Errorf("run %s: rate limits: %w", run.ID, err)
	}
	prices := cost.Default()
	var gate batchllm.Gate = limiter
	if c.Budget > 0 {
		limit, err := cost.Dollars(c.Budget)
		if err != nil {
			release()
			return setup, fmt.Errorf("run %s: budget: %w", run.ID, err)
		}
		maxOut := int64(c.MaxTokens)
		if maxOut == 0 {
			maxOut = defaultBudgetMaxOutput
		}
		// Every process that works the run shares its budget: each attempt's
		// worst case is reserved in the shared ledger before it is sent.
		ledger := o.ledger(run.ID)
		prev := release
		release = func() error { ledger.Close(); return prev() }
		if gate, err = cost.NewBudget(limit, cost.BudgetOptions{Prices: prices, Next: limiter, DefaultMaxOutputTokens: maxOut, InputMargin: 0.1, Ledger: ledger}); err != nil {
			release()
			return setup, fmt.Errorf("run %s: budget: %w", run.ID, err)
		}
	}
	var mw []batchllm.Middleware[batchllm.Prompt, string]
	if c.Dedupe {
		dd := dedupe.New[batchllm.Prompt, string](func(p batchllm.Prompt) (string, error) { return journal.Digest(p) }, dedupe.Options{})
		mw = append(mw, dd.Middleware())
	}
	structured := len(c.Schema) > 0
	if structured {
		rs, err := resolveSchema(c.Schema)
		if err != nil {
			release()
			return setup, fmt.Errorf("run %s: JSON schema: %w", run.ID, err)
		}
		mw = append(mw, validateOutput(rs))
	}
	setup.Config = batchllm.Config[batchllm.Prompt, string, itemContext]{
		Strategy:       strat,
		Retry:          retryPolicy(c.MaxAttempts, c.Backoff),
		AttemptTimeout: c.AttemptTimeout,
		ItemTimeout:    c.ItemTimeout,
		Gate:           gate,
		Middleware:     mw,
		Logger:         o.log,
	}
	lf := lineFormat{structured: structured, redact: redact, prices: prices}
	setup.Encode = func(res batchllm.Result[string, itemContext]) (queue.Record, error) {
		l, err := lf.line(res)
		if err != nil {
			return queue.Record{}, err
		}
		v, err := jsonenc.Marshal(l)
		if err != nil {
			return queue.Record{}, err
		}
		spent, _ := lf.price(res.Model, res.Usage) // unpriced models count as free, as in the summary
		return queue.Record{OK: res.OK(), Class: res.Class(), Attempts: res.Attempts, Usage: res.Usage, Cost: spent, Value: v}, nil
	}
	setup.Close = func() {
		if err := release(); err != nil {
			o.log.Warn("batchllm: releasing the provider failed", "run", run.ID, "err", redact(err.Error()))
		}
	}
	return setup, nil
}

// sharedLedger is a run's budget ledger, in Redis or in Postgres.
type sharedLedger interface {
	cost.Ledger
	Close()
}

// ledger returns the budget ledger of a queued run: in the Redis of
// --limiter if there is one (a reservation is then one Lua call), else in
// the queue's database.
func (o *runOpener) ledger(runID string) sharedLedger {
	if o.redis != nil {
		return redisstore.NewLedger(o.redis, "batchllm:budget:"+runID, redisstore.LedgerOptions{Logger: o.log})
	}
	return o.queue.Ledger(runID, 0)
}

// sharedQuota returns the rate limiter's store for a run that is not
// queued: with --limiter, the quota in Redis that every process on the
// same API key shares; else nil, the process's own.
func (r *runner) sharedQuota() (ratelimit.Store, error) {
	rc, err := openLimiter(r.f.queue.limiter)
	if err != nil || rc == nil {
		return nil, err
	}
	r.closers = append(r.closers, rc.Close)
	key, _ := r.prov.apiKey(r.f.baseURL)
	return redisstore.New(rc, redisstore.Options{Prefix: quotaPrefix(r.prov.Name, key), Logger: r.log}), nil
}

// openLimiter connects to the Redis of --limiter, or returns nil for none.
// Redis need not answer yet: until it does, admission pauses and says so.
func openLimiter(url string) (*redis.Client, error) {
	if url == "" {
		return nil, nil
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("--limiter: %v", err)
	}
	return redis.NewClient(o), nil
}

// quotaPrefix is the Redis key prefix of the quota of one provider and API
// key: runs on the same key share their limits, runs on different keys do
// not. The key appears only as 8 bytes of its SHA-256.
func quotaPrefix(provider, key string) string {
	h := sha256.Sum256([]byte(key))
	return "batchllm:ratelimit:" + provider + ":" + hex.EncodeToString(h[:8]) + ":"
}

// resolveSchema resolves a JSON Schema for validating structured outputs.
func resolveSchema(raw json.RawMessage) (*jsonschema.Resolved, error) {
	var sc jsonschema.Schema
	if err := json.Unmarshal(raw, &sc); err != nil {
		return nil, err
	}
	return sc.Resolve(nil)
}

// watchQueueSignals handles Ctrl-C during `run --queue`: the first stops
// following the run (which stays queued for the workers), the second exits
// at once.
func (r *runner) watchQueueSignals(done <-chan struct{}, cancel context.CancelCauseFunc) *atomic.Bool {
	notice := fmt.Sprintf("stopping; the items in flight here finish within %v", r.f.grace)
	return r.watchInterrupt(done, notice, func() { cancel(errInterruptedRun) }, func() { r.exit(exitInterrupted) })
}
