package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
)

// Result is one item's recorded result.
type Result struct {
	ItemID string
	Record
	// Worker is the ID of the worker that recorded it.
	Worker     string
	FinishedAt time.Time
}

// Record is what a worker records for an item (see [WorkerConfig.Encode]).
type Record struct {
	OK bool
	// Class is the class of the item's error; ClassNone on success.
	Class    batchllm.ErrorClass
	Attempts int
	Usage    batchllm.Usage
	// Cost is what the item's attempts cost, all of them.
	Cost cost.Amount
	// Value is the caller's own encoding of the result (for the CLI, the
	// output line), JSON.
	Value json.RawMessage
}

// Follow yields the run's results as they are recorded, looking for new
// ones every interval (default 200 ms), until every item of the run has a
// result, the run is stopped (the error then wraps [ErrRunStopped] and says
// why), or ctx is done (the error is ctx's cause). It stops at the first
// error.
//
// Results come in the order of the transactions that recorded them, and
// only once every transaction that began before theirs has ended: a
// sequence number alone would skip a result whose transaction took its
// number first but committed last. A long transaction elsewhere in the
// database delays them, never loses them.
func (q *Queue) Follow(ctx context.Context, runID string, interval time.Duration) iter.Seq2[Result, error] {
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	return func(yield func(Result, error) bool) {
		run, err := q.Run(ctx, runID)
		if err != nil {
			yield(Result{}, err)
			return
		}
		var done int64
		var c cursor
		t := time.NewTicker(interval)
		defer t.Stop()
		for done < run.Items {
			res, next, err := q.page(ctx, runID, c, followPage)
			if err != nil {
				yield(Result{}, err)
				return
			}
			for _, r := range res {
				if !yield(r, nil) {
					return
				}
				done++
			}
			c = next
			if len(res) == followPage {
				continue
			}
			if done >= run.Items {
				return
			}
			if run, err = q.Run(ctx, runID); err != nil {
				yield(Result{}, err)
				return
			}
			if run.Stopped != "" {
				yield(Result{}, fmt.Errorf("%w: %s", ErrRunStopped, run.Stopped))
				return
			}
			select {
			case <-t.C:
			case <-ctx.Done():
				yield(Result{}, context.Cause(ctx))
				return
			}
		}
	}
}

// followPage is how many results Follow reads at once.
const followPage = 1000

// cursor is where Follow has read up to: the last result's transaction and
// sequence number.
type cursor struct {
	txid uint64
	seq  int64
}

// page reads up to limit results after c whose transactions are older than
// every transaction still in progress: all of those are committed (or gone),
// and every result recorded from now on will come after them.
func (q *Queue) page(ctx context.Context, runID string, c cursor, limit int) ([]Result, cursor, error) {
	rows, err := q.pool.Query(ctx, q.sql(`SELECT txid::text::bigint, seq, item_id, ok, class, attempts, input_tokens, output_tokens, cost, worker, record::text, finished_at
		FROM {s}.batchllm_result
		WHERE run_id = $1 AND (txid, seq) > ($2::text::xid8, $3) AND txid < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY txid, seq LIMIT $4`), runID, strconv.FormatUint(c.txid, 10), c.seq, limit)
	if err != nil {
		return nil, c, fmt.Errorf("queue: results of run %s: %w", runID, err)
	}
	res, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Result, error) {
		var r Result
		var class, value string
		err := row.Scan(&c.txid, &c.seq, &r.ItemID, &r.OK, &class, &r.Attempts, &r.Usage.InputTokens, &r.Usage.OutputTokens, &r.Cost, &r.Worker, &value, &r.FinishedAt)
		if err != nil {
			return r, err
		}
		r.Value = json.RawMessage(value)
		r.Class, err = batchllm.ParseErrorClass(class)
		return r, err
	})
	if err != nil {
		return nil, c, fmt.Errorf("queue: results of run %s: %w", runID, err)
	}
	return res, c, nil
}

// ErrRunStopped is wrapped by the error of [Queue.Follow] when the run was
// stopped early ([Queue.StopRun]).
var ErrRunStopped = errors.New("queue: run stopped")

// RunStatus is where a run stands.
type RunStatus struct {
	Run
	// Succeeded and Failed count the recorded results.
	Succeeded, Failed int64
	// Queued counts the jobs waiting for a worker (available, scheduled or
	// waiting to be retried), Running those being worked now.
	Queued, Running int64
	// Spent is the cost of the recorded results.
	Spent cost.Amount
	// Usage sums the recorded results' usage.
	Usage batchllm.Usage
	// Workers are the workers that were working the run when last seen.
	Workers []WorkerStatus
}

// Done is the number of items with a result.
func (s RunStatus) Done() int64 { return s.Succeeded + s.Failed }

// WorkerStatus is a worker as the queue last saw it.
type WorkerStatus struct {
	ID     string
	Host   string
	PID    int
	SeenAt time.Time
	// Results counts the results of the run that this worker recorded.
	Results int64
}

// Status returns where the run id stands.
func (q *Queue) Status(ctx context.Context, id string) (RunStatus, error) {
	run, err := q.Run(ctx, id)
	if err != nil {
		return RunStatus{}, err
	}
	s := RunStatus{Run: run}
	err = q.pool.QueryRow(ctx, q.sql(`SELECT count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok),
		coalesce(sum(cost), 0), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0)
		FROM {s}.batchllm_result WHERE run_id = $1`), id).
		Scan(&s.Succeeded, &s.Failed, &s.Spent, &s.Usage.InputTokens, &s.Usage.OutputTokens)
	if err != nil {
		return s, fmt.Errorf("queue: status of run %s: %w", id, err)
	}
	err = q.pool.QueryRow(ctx, q.sql(`SELECT count(*) FILTER (WHERE state IN ('available', 'scheduled', 'retryable', 'pending')),
		count(*) FILTER (WHERE state = 'running') FROM {s}.river_job WHERE queue = $1`), queueName(id)).
		Scan(&s.Queued, &s.Running)
	if err != nil {
		return s, fmt.Errorf("queue: status of run %s: jobs: %w", id, err)
	}
	rows, err := q.pool.Query(ctx, q.sql(`SELECT w.id, w.host, w.pid, w.seen_at,
		(SELECT count(*) FROM {s}.batchllm_result r WHERE r.run_id = $1 AND r.worker = w.id)
		FROM {s}.batchllm_worker w WHERE $1 = ANY (w.runs) ORDER BY w.id`), id)
	if err != nil {
		return s, fmt.Errorf("queue: status of run %s: workers: %w", id, err)
	}
	s.Workers, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (WorkerStatus, error) {
		var w WorkerStatus
		err := row.Scan(&w.ID, &w.Host, &w.PID, &w.SeenAt, &w.Results)
		return w, err
	})
	if err != nil {
		return s, fmt.Errorf("queue: status of run %s: workers: %w", id, err)
	}
	return s, nil
}
