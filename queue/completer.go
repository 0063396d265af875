package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

// completion is one item's result, waiting to be recorded with the
// completion of its job.
type completion struct {
	job   *river.Job[itemArgs]
	rec   Record
	reply chan<- error // buffered: the completer never waits on it
}

// completer records results and completes their jobs many at a time: the
// results that arrive while one transaction commits go together into the
// next, each still recorded in the transaction that completes its job. One
// transaction per item made every item pay a commit (a WAL flush) and two
// round trips, and its jobs queue for the pool's few connections: a worker
// then completed about 750 no-op items per second on 2 cores. Batching is
// the group commit of a journal: the busier the worker, the larger the
// batches, and an idle worker's single result still goes at once.
type completer struct {
	q      *Queue
	worker string
	log    *slog.Logger
	in     chan completion // unbuffered: a result is either taken or refused
	stop   chan struct{}
	done   chan struct{}
}

// maxCompleteBatch bounds the jobs of one transaction, so that a batch's
// statements stay small and one slow commit holds few results back.
const maxCompleteBatch = 500

// completeConcurrency is how many batches may commit at once: a commit
// waits for the disk, and Postgres flushes concurrent commits together.
const completeConcurrency = 3

// errWorkerStopped is the error of a result that arrives after its worker
// stopped: its job was given back already, and will be worked again.
var errWorkerStopped = errors.New("queue: the worker has stopped")

func newCompleter(q *Queue, worker string, log *slog.Logger) *completer {
	return &completer{q: q, worker: worker, log: log, in: make(chan completion), stop: make(chan struct{}), done: make(chan struct{})}
}

// submit hands a result to the completer, which replies on c.reply once it
// is recorded, or at once if the completer has stopped.
func (c *completer) submit(x completion) {
	select {
	case c.in <- x:
	case <-c.stop:
		x.reply <- errWorkerStopped
	}
}

// run completes batches until close; the results taken are all answered.
// Up to completeConcurrency transactions are in flight at once: while they
// commit, the results that arrive wait, and the first to finish takes them
// all in the next one.
func (c *completer) run() {
	defer close(c.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, completeConcurrency)
	var batch []completion
	for {
		in := c.in
		if len(batch) >= maxCompleteBatch {
			in = nil
		}
		var slot chan struct{}
		if len(batch) > 0 {
			slot = slots
		}
		select {
		case x := <-in:
			batch = append(batch, x)
		case slot <- struct{}{}:
			b := batch
			batch = nil
			wg.Go(func() {
				c.flush(b)
				<-slots
			})
		case <-c.stop:
			if len(batch) > 0 {
				c.flush(batch)
			}
			return
		}
	}
}

// close stops the completer once the results it took are answered; later
// ones are refused with errWorkerStopped.
func (c *completer) close() {
	close(c.stop)
	<-c.done
}

// flush records a batch and answers each of its results. If the batch's
// transaction fails, each result is tried in a transaction of its own, so
// that one bad job (deleted with its run, say) does not fail the others.
//
// Both share one deadline: if the database does not answer, every result
// of the batch fails soon, and River tries its job again later.
func (c *completer) flush(batch []completion) {
	ctx, cancel := context.WithTimeout(context.Background(), completeTimeout)
	defer cancel()
	err := c.complete(ctx, batch)
	if err != nil && len(batch) > 1 && ctx.Err() == nil {
		c.log.Debug("queue: batch completion failed; completing its jobs one by one", "jobs", len(batch), "err", err)
		for _, x := range batch {
			x.reply <- c.complete(ctx, []completion{x})
		}
		return
	}
	for _, x := range batch {
		x.reply <- err
	}
}

// completeTimeout bounds the recording of one batch: a job has
// recordMargin beyond its item's timeout to be recorded.
const completeTimeout = recordMargin

// complete records the results of batch and completes their jobs in one
// transaction. An item that has a result already (its job was rescued
// from a worker thought dead that was not) keeps its first one.
func (c *completer) complete(ctx context.Context, batch []completion) error {
	what := fmt.Sprintf("%d items", len(batch))
	if len(batch) == 1 {
		what = fmt.Sprintf("item %q", batch[0].job.Args.ID)
	}
	n := len(batch)
	var (
		runs, items, classes, records = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		oks                           = make([]bool, n)
		attempts                      = make([]int32, n)
		inTok, outTok, costs          = make([]int64, n), make([]int64, n), make([]int64, n)
		set                           = &riverdriver.JobSetStateIfRunningManyParams{
			ID: make([]int64, n), Attempt: make([]*int, n), ErrData: make([][]byte, n), FinalizedAt: make([]*time.Time, n),
			MetadataDoMerge: make([]bool, n), MetadataUpdates: make([][]byte, n), ScheduledAt: make([]*time.Time, n),
			Schema: c.q.schema, State: make([]rivertype.JobState, n),
		}
	)
	now := time.Now()
	for i, x := range batch {
		r := x.rec
		if len(r.Value) == 0 {
			r.Value = json.RawMessage("null")
		}
		runs[i], items[i], oks[i], classes[i] = x.job.Args.Run, x.job.Args.ID, r.OK, r.Class.String()
		attempts[i], inTok[i], outTok[i], costs[i], records[i] = int32(r.Attempts), r.Usage.InputTokens, r.Usage.OutputTokens, int64(r.Cost), string(r.Value)
		set.ID[i], set.FinalizedAt[i], set.State[i] = x.job.ID, &now, rivertype.JobStateCompleted
	}
	tx, err := c.q.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: record result: %w", what, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	_, err = tx.Exec(ctx, c.q.sql(`INSERT INTO {s}.batchllm_result
		(run_id, item_id, ok, class, attempts, input_tokens, output_tokens, cost, worker, record)
		SELECT r, i, o, c, a, it, ot, co, $9, rec::json
		FROM unnest($1::text[], $2::text[], $3::boolean[], $4::text[], $5::int[], $6::bigint[], $7::bigint[], $8::bigint[], $10::text[]) AS u(r, i, o, c, a, it, ot, co, rec)
		ON CONFLICT (run_id, item_id) DO NOTHING`),
		runs, items, oks, classes, attempts, inTok, outTok, costs, c.worker, records)
	if err != nil {
		return fmt.Errorf("%s: record result: %w", what, err)
	}
	// River's own batch completion (what river.JobCompleteTx does for one
	// job), in this transaction.
	rows, err := riverpgxv5.New(nil).UnwrapExecutor(tx).JobSetStateIfRunningMany(ctx, set)
	if err != nil {
		return fmt.Errorf("%s: complete job: %w", what, err)
	}
	if len(rows) != n {
		return fmt.Errorf("%s: complete job: %d of %d jobs no longer exist", what, n-len(rows), n)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: record result: commit: %w", what, err)
	}
	return nil
}
