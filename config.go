package batchllm

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"
)

// Config configures a [Processor]. The zero value of every field is valid
// and means the documented default.
type Config[In, Out, C any] struct {
	// Strategy is used for items whose own Strategy is nil.
	Strategy Strategy[In, Out]

	// Workers is the number of attempts that may run at once. Default 16.
	// Throughput is usually bound by the provider, not the client: a good
	// value is about requests-per-second × seconds-per-call.
	Workers int
	// QueueSize bounds the items waiting for a worker once the processor
	// runs; Add blocks while the queue is full. Default 2 × Workers. Before
	// the run starts, Add never blocks: items wait in memory.
	QueueSize int
	// UniqueIDs promises that no two added items share an ID, as when the
	// caller has already checked its input (the batchllm CLI does, before
	// the run). The processor then keeps no record of the IDs it was
	// given, 8 bytes an item (8 MB for a million), and does not refuse a
	// repeated ID: both items run and both results are delivered under it.
	UniqueIDs bool

	// Retry says how failed attempts are retried.
	Retry RetryPolicy

	// AttemptTimeout bounds one call of the strategy (middleware included).
	// Default 2 minutes; negative means no limit.
	AttemptTimeout time.Duration
	// ItemTimeout bounds one item: all its attempts, its admission waits and
	// its backoff waits. Zero means no limit.
	ItemTimeout time.Duration
	// BatchTimeout bounds the whole run, like a deadline on its context.
	// Zero means no limit.
	BatchTimeout time.Duration

	// Classifier maps errors to classes. Default [DefaultClassifier].
	Classifier Classifier
	// Gate admits attempts. Default: a new [CooldownGate] per processor.
	Gate Gate

	// Middleware wraps every call, the first entry outermost.
	Middleware []Middleware[In, Out]
	// Fallback, if set, is called for each item that failed for good. If it
	// returns true, the item's result succeeds with the output it returns,
	// and Result.Recovered keeps the error it replaced.
	Fallback func(ctx context.Context, item Item[In, Out, C], err *ItemError) (Out, bool)
	// PostProcess, if set, is called with every result (success or failure)
	// in completion order, on the goroutine that consumes results, before
	// the result is yielded by Results or collected by Run. A panic in it
	// is recovered and logged and does not change the result: Record may
	// already have made that result durable, and what is recorded and what
	// is reported must be the same outcome.
	PostProcess func(ctx context.Context, r Result[Out, C])

	// Record, if set, is called with every result on the worker that
	// produced it, before the result is reported by Results or Run, so
	// that a result can be made durable first (see package journal, whose
	// group commit lets concurrent workers share one fsync). If Record
	// returns an error, that result is not reported and the batch stops
	// as if an error of class ClassFatalBatch had occurred, with the
	// error as its cause.
	Record func(ctx context.Context, r Result[Out, C]) error

	// Prices, if set, prices each finished item's usage by the model that
	// answered it, into the cost of [Stats] (see [Ledger]). Package cost
	// provides one: (*cost.Table).Pricer.
	Prices Pricer

	// Observers receive the run's events asynchronously (see [Observer]).
	Observers []Observer
	// ObserverBuffer is the number of events queued per observer before
	// events for it are dropped. Default 4096.
	ObserverBuffer int
	// DrainTimeout bounds how long the end of a run waits for the observers
	// to take the events still queued for them, and for the last Progress
	// call, so that a stuck observer or callback cannot hang Run. Events
	// not delivered by then are dropped and counted in
	// [Stats.EventsDropped]. Default [DefaultDrainTimeout].
	DrainTimeout time.Duration

	// Progress, if set, is called every ProgressEvery finished items and
	// once more at the end of the run (Final set), in order, on a goroutine
	// of its own, so that a slow callback never holds up the workers or the
	// consumer of results. If the callback falls more than 16 calls behind,
	// the calls in between are skipped (each says the whole state, so the
	// next one makes up); the final call is always made, and the end of the
	// run waits for it at most DrainTimeout.
	Progress func(Progress)
	// ProgressEvery is the number of finished items between progress calls.
	// Default 100.
	ProgressEvery int

	// DryRun calls each strategy's DryRun instead of Call (see [DryRunner]).
	DryRun bool

	// Logger receives warnings and errors of the processor itself, never
	// prompts or API keys. Default slog.Default().
	Logger *slog.Logger
}

// RetryPolicy says how failed attempts are retried. The zero value is the
// default policy.
type RetryPolicy struct {
	// MaxAttempts is the most attempts per item, the first included.
	// Default 3. Rate-limited attempts are not counted.
	MaxAttempts int
	// InitialWait is the backoff before the second attempt. Default 1 s.
	InitialWait time.Duration
	// MaxWait caps every backoff, also a server's Retry-After. Default 30 s.
	MaxWait time.Duration
	// Multiplier grows the backoff after each attempt. Default 2.
	Multiplier float64
	// NoJitter turns jitter off. With jitter (the default), each wait is
	// drawn uniformly from [w/2, w], so that workers that failed together
	// do not retry together.
	NoJitter bool
	// MaxRateLimitRetries bounds the rate-limited attempts of one item,
	// which do not count against MaxAttempts. Default 10; negative means
	// that a rate-limited item fails at once.
	MaxRateLimitRetries int
}

// Backoff returns the wait after the failed attempt number attempt (1-based)
// before jitter: InitialWait × Multiplier^(attempt-1), capped at MaxWait.
// The policy's defaults must have been applied.
func (r RetryPolicy) Backoff(attempt int) time.Duration {
	w := float64(r.InitialWait) * math.Pow(r.Multiplier, float64(max(attempt-1, 0)))
	return time.Duration(min(w, float64(r.MaxWait)))
}

// DefaultDrainTimeout is the default [Config.DrainTimeout].
const DefaultDrainTimeout = 5 * time.Second

// DefaultWorkers is the default [Config.Workers].
const DefaultWorkers = 16

// DefaultRetryPolicy returns the policy a zero [RetryPolicy] stands for:
// 3 attempts, waits from 1 s doubling up to 30 s with jitter, and 10
// rate-limited retries per item.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 3, InitialWait: time.Second, MaxWait: 30 * time.Second, Multiplier: 2, MaxRateLimitRetries: 10}
}

const (
	defaultAttemptTimeout = 2 * time.Minute
	defaultObserverBuffer = 4096
	defaultProgressEvery  = 100
)

// withDefaults validates c and returns it with every default filled in.
// Errors name the offending field.
func (c Config[In, Out, C]) withDefaults() (Config[In, Out, C], error) {
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("batchllm: Config.%s is %v; it must be %s", field, v, want)
	}
	switch {
	case c.Workers < 0:
		return c, bad("Workers", c.Workers, fmt.Sprintf(">= 0 (0 means %d)", DefaultWorkers))
	case c.QueueSize < 0:
		return c, bad("QueueSize", c.QueueSize, ">= 0")
	case c.ItemTimeout < 0:
		return c, bad("ItemTimeout", c.ItemTimeout, ">= 0")
	case c.BatchTimeout < 0:
		return c, bad("BatchTimeout", c.BatchTimeout, ">= 0")
	case c.ObserverBuffer < 0:
		return c, bad("ObserverBuffer", c.ObserverBuffer, ">= 0")
	case c.DrainTimeout < 0:
		return c, bad("DrainTimeout", c.DrainTimeout, ">= 0 (0 means 5s)")
	case c.ProgressEvery < 0:
		return c, bad("ProgressEvery", c.ProgressEvery, ">= 0")
	case c.Retry.MaxAttempts < 0:
		return c, bad("Retry.MaxAttempts", c.Retry.MaxAttempts, ">= 1 (0 means 3)")
	case c.Retry.InitialWait < 0:
		return c, bad("Retry.InitialWait", c.Retry.InitialWait, ">= 0")
	case c.Retry.MaxWait < 0:
		return c, bad("Retry.MaxWait", c.Retry.MaxWait, ">= 0")
	case c.Retry.Multiplier != 0 && !(c.Retry.Multiplier >= 1):
		return c, bad("Retry.Multiplier", c.Retry.Multiplier, ">= 1 (0 means 2)")
	}
	for i, m := range c.Middleware {
		if m == nil {
			return c, bad(fmt.Sprintf("Middleware[%d]", i), "nil", "a function")
		}
	}
	for i, o := range c.Observers {
		if o == nil {
			return c, bad(fmt.Sprintf("Observers[%d]", i), "nil", "an Observer")
		}
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.QueueSize == 0 {
		c.QueueSize = 2 * c.Workers
	}
	if c.AttemptTimeout == 0 {
		c.AttemptTimeout = defaultAttemptTimeout
	}
	if c.ObserverBuffer == 0 {
		c.ObserverBuffer = defaultObserverBuffer
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = defaultProgressEvery
	}
	r, def := &c.Retry, DefaultRetryPolicy()
	if r.MaxAttempts == 0 {
		r.MaxAttempts = def.MaxAttempts
	}
	if r.InitialWait == 0 {
		r.InitialWait = def.InitialWait
	}
	if r.MaxWait == 0 {
		r.MaxWait = def.MaxWait
	}
	if r.MaxWait < r.InitialWait {
		return c, bad("Retry.MaxWait", r.MaxWait, fmt.Sprintf(">= Retry.InitialWait (%v)", r.InitialWait))
	}
	if r.Multiplier == 0 {
		r.Multiplier = def.Multiplier
	}
	if r.MaxRateLimitRetries == 0 {
		r.MaxRateLimitRetries = def.MaxRateLimitRetries
	}
	if c.Classifier == nil {
		c.Classifier = DefaultClassifier
	}
	if c.Gate == nil {
		c.Gate = &CooldownGate{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// warnings returns the advice worth logging about a valid configuration:
// settings that are allowed but probably not meant.
func (c Config[In, Out, C]) warnings() []string {
	var w []string
	if c.ItemTimeout > 0 {
		if c.AttemptTimeout > 0 && c.ItemTimeout < c.AttemptTimeout {
			w = append(w, fmt.Sprintf("ItemTimeout (%v) is shorter than AttemptTimeout (%v): an item's deadline will cut its first attempt short", c.ItemTimeout, c.AttemptTimeout))
		}
		var waits time.Duration
		for a := 1; a < c.Retry.MaxAttempts; a++ {
			waits += c.Retry.Backoff(a) / 2 // the shortest jittered wait
		}
		if waits >= c.ItemTimeout {
			w = append(w, fmt.Sprintf("ItemTimeout (%v) is shorter than the retry waits alone (at least %v for %d attempts): items will time out before their last attempt", c.ItemTimeout, waits, c.Retry.MaxAttempts))
		}
	}
	if c.QueueSize < c.Workers {
		w = append(w, fmt.Sprintf("QueueSize (%d) is smaller than Workers (%d): some workers may idle while producers block", c.QueueSize, c.Workers))
	}
	return w
}
