// Package redisstore keeps the shared state of a [ratelimit.Limiter] in
// Redis, so that every process that spends one provider quota (the workers
// of a queued run, several teams' jobs on one API key) admits attempts
// against the same buckets, cooldowns and learned limits:
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	limiter, err := ratelimit.New(ratelimit.Config{
//		Store:   redisstore.New(client, redisstore.Options{Prefix: "batchllm:ratelimit:team-a:"}),
//		Default: ratelimit.Limits{Requests: 3000},
//	})
//
// Each scope is one Redis key holding a [ratelimit.ScopeData]. Every
// operation reads it, applies the same exact arithmetic as the in-process
// store, and writes it back with a compare-and-set script, retrying if
// another process changed it in between: each step is atomic, and a
// reservation that only has to wait writes nothing. Times are the callers'
// clocks, as [ratelimit.Store] says: the hosts' clocks must agree to well
// under a bucket's refill time (NTP does).
//
// When Redis cannot be reached, admission pauses: Reserve logs that it is
// waiting for Redis, retries until Redis answers or the attempt's context
// ends, and logs when it answers again. It never admits without the
// shared state, since that could exceed the quota the processes share.
//
// A [Ledger] keeps a shared budget's totals in the same Redis (see
// [github.com/batchllm/batchllm/cost.Ledger]), so that the budgets of
// every process that works one job share its cap.
package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batchllm/batchllm/ratelimit"
)

// Options configures a [Store].
type Options struct {
	// Prefix is put before every key: processes that share a quota use the
	// same prefix, and different quotas (different API keys, say) use
	// different ones. Default "batchllm:ratelimit:".
	Prefix string
	// TTL is how long a scope's state outlives its last change. Default 24
	// hours: a quota idle for a day starts again from its configured
	// limits.
	TTL time.Duration
	// Logger is told when admission pauses because Redis cannot be reached,
	// and when it resumes. Default slog.Default().
	Logger *slog.Logger
}

// Store is a [ratelimit.Store] in Redis. It is safe for concurrent use.
type Store struct {
	c      redis.UniversalClient
	prefix string
	ttl    time.Duration
	log    *slog.Logger
	paws   *pauser
}

var _ ratelimit.Store = (*Store)(nil)

// New returns a store on client.
func New(client redis.UniversalClient, o Options) *Store {
	if o.Prefix == "" {
		o.Prefix = "batchllm:ratelimit:"
	}
	if o.TTL <= 0 {
		o.TTL = 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Store{c: client, prefix: o.Prefix, ttl: o.TTL, log: o.Logger, paws: &pauser{log: o.Logger, what: "admission"}}
}

// Scope implements [ratelimit.Store].
func (s *Store) Scope(name string) ratelimit.ScopeStore {
	return &scope{s: s, key: s.prefix + name}
}

// Outage returns the error that keeps admission paused, or nil while Redis
// answers.
func (s *Store) Outage() error { return s.paws.outage() }

// casScript sets KEYS[1] to ARGV[2] if it still holds ARGV[1] (the empty
// string standing for a missing key), with a time to live of ARGV[3]
// milliseconds. It returns 1 if it did, 0 if another process changed it.
var casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false then cur = '' end
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`)

type scope struct {
	s   *Store
	key string
}

// update loads the scope's state, lets fn change it, and stores it back if
// fn reports a change and no other process changed it meanwhile; else it
// starts again. fn may thus be called more than once.
func (sc *scope) update(ctx context.Context, fn func(d *ratelimit.ScopeData) (changed bool)) error {
	for {
		old, err := sc.s.c.Get(ctx, sc.key).Bytes()
		if errors.Is(err, redis.Nil) {
			old, err = nil, nil
		}
		if err != nil {
			return fmt.Errorf("redisstore: get %s: %w", sc.key, err)
		}
		var d ratelimit.ScopeData
		if len(old) > 0 {
			if err := d.UnmarshalBinary(old); err != nil {
				return fmt.Errorf("redisstore: %s: %w", sc.key, err)
			}
		}
		if !fn(&d) {
			return nil
		}
		b, err := d.MarshalBinary()
		if err != nil {
			return err
		}
		if bytes.Equal(b, old) {
			return nil
		}
		ok, err := casScript.Run(ctx, sc.s.c, []string{sc.key}, old, b, sc.s.ttl.Milliseconds()).Int()
		if err != nil {
			return fmt.Errorf("redisstore: set %s: %w", sc.key, err)
		}
		if ok == 1 {
			return nil
		}
	}
}

// Reserve implements [ratelimit.ScopeStore]. While Redis cannot be reached
// it waits (admission pauses), and returns an error only when ctx ends.
func (sc *scope) Reserve(ctx context.Context, now time.Time, cost ratelimit.Amounts) (ratelimit.Reservation, error) {
	var r ratelimit.Reservation
	wait := pauseMin
	start := time.Now()
	for {
		err := sc.update(ctx, func(d *ratelimit.ScopeData) bool {
			r = d.Reserve(now, cost)
			return r.Wait == 0
		})
		if err == nil {
			sc.s.paws.resumed()
			return r, nil
		}
		if ctx.Err() != nil {
			return r, err
		}
		sc.s.paws.paused(err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return r, fmt.Errorf("%w (admission paused since then)", err)
		}
		wait = min(2*wait, pauseMax)
		// The clock moved on while we waited: reserve at the new time.
		now = now.Add(time.Since(start))
		start = time.Now()
	}
}

// Refund implements [ratelimit.ScopeStore].
func (sc *scope) Refund(ctx context.Context, now time.Time, n ratelimit.Amounts) error {
	return sc.update(ctx, func(d *ratelimit.ScopeData) bool { d.Refund(now, n); return true })
}

// SetRate implements [ratelimit.ScopeStore].
func (sc *scope) SetRate(ctx context.Context, now time.Time, dim ratelimit.Dim, r ratelimit.Rate) error {
	return sc.update(ctx, func(d *ratelimit.ScopeData) bool { return d.SetRate(now, dim, r) })
}

// SetLevel implements [ratelimit.ScopeStore].
func (sc *scope) SetLevel(ctx context.Context, now time.Time, dim ratelimit.Dim, n int64, raise bool) error {
	return sc.update(ctx, func(d *ratelimit.ScopeData) bool { d.SetLevel(now, dim, n, raise); return true })
}

// UpdateCooldown implements [ratelimit.ScopeStore].
func (sc *scope) UpdateCooldown(ctx context.Context, update func(*ratelimit.Cooldown) bool) (ratelimit.Cooldown, error) {
	var c ratelimit.Cooldown
	err := sc.update(ctx, func(d *ratelimit.ScopeData) bool {
		c = d.Cooldown()
		if !update(&c) {
			c = d.Cooldown()
			return false
		}
		d.SetCooldown(c)
		return true
	})
	return c, err
}

// Snapshot implements [ratelimit.ScopeStore].
func (sc *scope) Snapshot(ctx context.Context, now time.Time) (ratelimit.ScopeState, error) {
	var st ratelimit.ScopeState
	err := sc.update(ctx, func(d *ratelimit.ScopeData) bool { st = d.Snapshot(now); return false })
	return st, err
}
