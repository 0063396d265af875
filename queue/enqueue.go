package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// Item is one item of a run, as the worker will decode it.
type Item struct {
	// ID identifies the item within its run.
	ID string
	// Input is the item's input, as JSON.
	Input json.RawMessage
	// Context is the item's context value ([batchllm.Item.Context]), as
	// JSON; empty means the zero value.
	Context json.RawMessage
}

// itemArgs are the arguments of an item's River job.
type itemArgs struct {
	Run     string          `json:"run"`
	ID      string          `json:"id"`
	Input   json.RawMessage `json:"input"`
	Context json.RawMessage `json:"context,omitempty"`
}

// Kind implements river.JobArgs.
func (itemArgs) Kind() string { return "batchllm_item" }

// maxJobAttempts bounds how often River works one item's job: once, plus a
// rescue for each worker that dies holding it, plus retries of a failed
// transaction. The processor owns the retries of the LLM calls themselves.
const maxJobAttempts = 10

// insertChunk is how many jobs go to River's bulk insert (COPY) at once.
const insertChunk = 5000

// CreateRun creates the run id with its configuration and one job per
// item, in one transaction: the run then exists with all its items, or not
// at all. If the run exists already, CreateRun reads no item and reports
// created false, so that running the same command again resumes the run.
// An error from items aborts the creation.
//
// config is stored as it is, for [WorkerConfig.Open]; it must never hold a
// secret such as an API key.
func (q *Queue) CreateRun(ctx context.Context, id string, config json.RawMessage, items iter.Seq2[Item, error]) (created bool, err error) {
	if err := checkRunID(id); err != nil {
		return false, err
	}
	if !json.Valid(config) {
		return false, fmt.Errorf("queue: create run %s: the configuration is not JSON", id)
	}
	tx, err := q.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("queue: create run %s: %w", id, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	tag, err := tx.Exec(ctx, q.sql(`INSERT INTO {s}.batchllm_run (id, config) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`), id, string(config))
	if err != nil {
		return false, fmt.Errorf("queue: create run %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	opts := &river.InsertOpts{Queue: queueName(id), MaxAttempts: maxJobAttempts}
	batch := make([]river.InsertManyParams, 0, insertChunk)
	var n int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := q.insert.InsertManyFastTx(ctx, tx, batch); err != nil {
			return err
		}
		n += int64(len(batch))
		batch = batch[:0]
		return nil
	}
	for it, err := range items {
		if err != nil {
			return false, fmt.Errorf("queue: create run %s: %w", id, err)
		}
		if it.ID == "" {
			return false, fmt.Errorf("queue: create run %s: item %d has no ID", id, n+int64(len(batch))+1)
		}
		batch = append(batch, river.InsertManyParams{Args: itemArgs{Run: id, ID: it.ID, Input: it.Input, Context: it.Context}, InsertOpts: opts})
		if len(batch) == insertChunk {
			if err := flush(); err != nil {
				return false, fmt.Errorf("queue: create run %s: insert jobs: %w", id, err)
			}
		}
	}
	if err := flush(); err != nil {
		return false, fmt.Errorf("queue: create run %s: insert jobs: %w", id, err)
	}
	if _, err := tx.Exec(ctx, q.sql(`UPDATE {s}.batchllm_run SET items = $2 WHERE id = $1`), id, n); err != nil {
		return false, fmt.Errorf("queue: create run %s: %w", id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("queue: create run %s: commit: %w", id, err)
	}
	return true, nil
}

// Run is a run as the queue holds it.
type Run struct {
	ID string
	// Config is the configuration given to CreateRun.
	Config json.RawMessage
	// Items is the number of items.
	Items int64
	// Stopped says why the run was stopped early, if it was (see
	// [Queue.StopRun]).
	Stopped   string
	CreatedAt time.Time
	// Finished says that the run is closed: workers leave it.
	Finished bool
}

// Run returns the run id, or an error that wraps [ErrNoRun].
func (q *Queue) Run(ctx context.Context, id string) (Run, error) {
	rows, err := q.pool.Query(ctx, q.sql(`SELECT id, config::text, items, stopped, created_at, finished_at IS NOT NULL FROM {s}.batchllm_run WHERE id = $1`), id)
	if err != nil {
		return Run{}, fmt.Errorf("queue: run %s: %w", id, err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, scanRun)
	if errors.Is(err, pgx.ErrNoRows) {
		return Run{}, fmt.Errorf("%w: %s", ErrNoRun, id)
	}
	if err != nil {
		return Run{}, fmt.Errorf("queue: run %s: %w", id, err)
	}
	return r, nil
}

// OpenRuns returns the runs that are neither finished nor stopped, oldest
// first.
func (q *Queue) OpenRuns(ctx context.Context) ([]Run, error) {
	rows, err := q.pool.Query(ctx, q.sql(`SELECT id, config::text, items, stopped, created_at, finished_at IS NOT NULL FROM {s}.batchllm_run
		WHERE finished_at IS NULL AND stopped = '' ORDER BY created_at, id`))
	if err != nil {
		return nil, fmt.Errorf("queue: open runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, scanRun)
	if err != nil {
		return nil, fmt.Errorf("queue: open runs: %w", err)
	}
	return runs, nil
}

func scanRun(row pgx.CollectableRow) (Run, error) {
	var r Run
	var config string
	err := row.Scan(&r.ID, &config, &r.Items, &r.Stopped, &r.CreatedAt, &r.Finished)
	r.Config = json.RawMessage(config)
	return r, err
}

// FinishRun closes the run: workers leave it. Its results stay.
func (q *Queue) FinishRun(ctx context.Context, id string) error {
	if _, err := q.pool.Exec(ctx, q.sql(`UPDATE {s}.batchllm_run SET finished_at = coalesce(finished_at, now()) WHERE id = $1`), id); err != nil {
		return fmt.Errorf("queue: finish run %s: %w", id, err)
	}
	return nil
}

// StopRun stops the run early for the reason given (an exhausted budget,
// say): workers leave it, and its remaining jobs stay queued. The first
// reason is kept. [Queue.ResumeRun] opens it again.
func (q *Queue) StopRun(ctx context.Context, id, reason string) error {
	if reason == "" {
		reason = "stopped"
	}
	if _, err := q.pool.Exec(ctx, q.sql(`UPDATE {s}.batchllm_run SET stopped = $2 WHERE id = $1 AND stopped = ''`), id, reason); err != nil {
		return fmt.Errorf("queue: stop run %s: %w", id, err)
	}
	return nil
}

// ResumeRun opens a stopped or finished run again, so that workers join it
// and work its remaining jobs.
func (q *Queue) ResumeRun(ctx context.Context, id string) error {
	tag, err := q.pool.Exec(ctx, q.sql(`UPDATE {s}.batchllm_run SET stopped = '', finished_at = NULL WHERE id = $1`), id)
	if err != nil {
		return fmt.Errorf("queue: resume run %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s", ErrNoRun, id)
	}
	return nil
}
