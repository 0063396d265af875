package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// Options configures a [Queue].
type Options struct {
	// Schema is the Postgres schema that holds River's tables and this
	// package's; it is created if it does not exist. Default "public".
	Schema string
	// Logger receives River's warnings and the worker's. Default
	// slog.Default().
	Logger *slog.Logger
}

// Queue is a connection to the work queue and result store of one Postgres
// schema. It is safe for concurrent use.
type Queue struct {
	pool   *pgxpool.Pool
	schema string
	log    *slog.Logger
	insert *river.Client[pgx.Tx] // inserts jobs; works none
}

var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open migrates the schema (River's migrations, then this package's tables)
// and returns a Queue on pool. Several processes may call Open at once: the
// migrations take a lock. Give a worker's pool a dozen connections or so
// (pgxpool's default is 4 on 2 cores): River's notifier holds one, and its
// fetches, its completions and the worker's result batches (up to three at
// once) each need one.
func Open(ctx context.Context, pool *pgxpool.Pool, o Options) (*Queue, error) {
	if o.Schema == "" {
		o.Schema = "public"
	}
	if !schemaRE.MatchString(o.Schema) {
		return nil, fmt.Errorf("queue: Options.Schema %q is not a plain lower-case Postgres identifier", o.Schema)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	q := &Queue{pool: pool, schema: o.Schema, log: o.Logger}
	if err := q.migrate(ctx); err != nil {
		return nil, err
	}
	c, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: o.Schema, Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("queue: river client: %w", err)
	}
	q.insert = c
	return q, nil
}

// migrate brings the schema up to date under an advisory lock, so that
// workers starting together do not race. River's migrations run each in its
// own transaction (some add enum values, which Postgres does not allow to
// be used in the transaction that added them).
func (q *Queue) migrate(ctx context.Context) error {
	conn, err := q.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("queue: migrate: %w", err)
	}
	defer conn.Release()
	const lock = `hashtext('batchllm.queue.migrate')`
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+lock+`)`); err != nil {
		return fmt.Errorf("queue: migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+lock+`)`)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{q.schema}.Sanitize()); err != nil {
		return fmt.Errorf("queue: migrate: create schema %s: %w", q.schema, err)
	}
	m, err := rivermigrate.New(riverpgxv5.New(q.pool), &rivermigrate.Config{Schema: q.schema, Logger: q.log})
	if err != nil {
		return fmt.Errorf("queue: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("queue: migrate river tables: %w", err)
	}
	if _, err := conn.Exec(ctx, q.sql(schemaSQL)); err != nil {
		return fmt.Errorf("queue: migrate batchllm tables: %w", err)
	}
	return nil
}

// ErrNoRun is returned for a run ID that the queue does not hold.
var ErrNoRun = errors.New("queue: no such run")

// queueName is the River queue of a run: each run has its own, so that a
// worker works the runs it can serve and leaves the others.
func queueName(runID string) string { return "batchllm_" + runID }

// runIDRE says what a run ID may be: it names a River queue.
var runIDRE = regexp.MustCompile(`^[a-z0-9]{1,48}$`)

func checkRunID(id string) error {
	if !runIDRE.MatchString(id) {
		return fmt.Errorf("queue: run ID %q must be 1 to 48 lower-case letters and digits", id)
	}
	return nil
}
