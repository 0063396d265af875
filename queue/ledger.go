package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/internal/lease"
)

// Ledger is a [cost.Ledger] in the queue's database: the [cost.Budget]s
// of every worker of a run share the run's cap (see [Queue.Ledger]). It
// keeps the budget's spent total and each process's lease with its
// reserved total. A process renews its lease with every reservation and
// settlement and every LeaseTTL/3 while it holds reservations; a process
// whose lease lapses (it was killed, it lost the database) is presumed
// dead, and the next reservation by anyone counts its reservations as
// spent in full, since its attempts may have been sent and paid. A process
// presumed dead that was not takes a new lease; the settlements of its old
// reservations change nothing.
//
// Each reservation and settlement is a transaction that locks the
// budget's row: a shared budget admits some hundreds of attempts per
// second, far more than a provider quota does.
type Ledger struct {
	q   *Queue
	id  string
	ttl time.Duration
	log *slog.Logger

	lease *lease.Lease
}

// DefaultLeaseTTL is how long a process's reservations in a [Ledger]
// outlive its last sign of life, by default, before they count as spent.
const DefaultLeaseTTL = 30 * time.Second

// Ledger returns the ledger of the budget id (a run's ID, say), whose
// leases lapse after leaseTTL (0: DefaultLeaseTTL). Call Close when done.
func (q *Queue) Ledger(id string, leaseTTL time.Duration) *Ledger {
	if leaseTTL <= 0 {
		leaseTTL = DefaultLeaseTTL
	}
	l := &Ledger{q: q, id: id, ttl: leaseTTL, log: q.log}
	l.lease = lease.Start(leaseTTL, l.renew, func(err error) {
		l.log.Warn("queue: cannot renew the budget lease", "budget", l.id, "err", err)
	})
	return l
}

// Close stops renewing the lease. Reservations not settled by then lapse
// with it and count as spent.
func (l *Ledger) Close() { l.lease.Close() }

// errLapsed says that this process's lease lapsed: it must take another.
var errLapsed = errors.New("lease lapsed")

// Reserve implements [cost.Ledger]. While the database cannot be reached
// it retries, and returns an error only when ctx ends.
func (l *Ledger) Reserve(ctx context.Context, limit, need cost.Amount) (cost.LedgerTotals, func(context.Context, cost.Amount) error, error) {
	wait := 50 * time.Millisecond
	for {
		id := l.lease.ID()
		tot, ok, err := l.reserve(ctx, id, limit, need)
		switch {
		case errors.Is(err, errLapsed):
			if l.lease.Lapsed(id) {
				l.log.Warn("queue: this process's budget lease lapsed (its reservations were counted as spent); taking a new one", "budget", l.id)
			}
			continue
		case err != nil && ctx.Err() == nil:
			l.log.Warn("queue: budget reservation failed; trying again", "budget", l.id, "err", err)
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return tot, nil, fmt.Errorf("queue: budget %s: %w", l.id, err)
			}
			wait = min(2*wait, 2*time.Second)
			continue
		case err != nil:
			return tot, nil, fmt.Errorf("queue: budget %s: %w", l.id, err)
		case !ok:
			return tot, nil, nil
		}
		l.lease.Hold()
		var once sync.Once
		return tot, func(ctx context.Context, c cost.Amount) error {
			var err error
			once.Do(func() {
				err = l.settle(ctx, id, need, c)
				l.lease.Release()
			})
			if err != nil {
				return fmt.Errorf("queue: budget %s: settle: %w", l.id, err)
			}
			return nil
		}, nil
	}
}

// lockBudget creates the budget's row if need be, locks it, and charges
// the reservations of lapsed leases as spent. It returns the spent total.
func (l *Ledger) lockBudget(ctx context.Context, tx pgx.Tx) (int64, error) {
	if _, err := tx.Exec(ctx, l.q.sql(`INSERT INTO {s}.batchllm_budget (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`), l.id); err != nil {
		return 0, err
	}
	// Every step on the budget locks its row first: they are serialized.
	if _, err := tx.Exec(ctx, l.q.sql(`SELECT 1 FROM {s}.batchllm_budget WHERE id = $1 FOR UPDATE`), l.id); err != nil {
		return 0, err
	}
	var spent int64
	err := tx.QueryRow(ctx, l.q.sql(`WITH lapsed AS (
			UPDATE {s}.batchllm_budget_lease l SET lapsed = true, reserved = 0
			FROM {s}.batchllm_budget_lease old
			WHERE l.budget = $1 AND NOT l.lapsed AND l.expires_at < now() AND old.budget = l.budget AND old.lease = l.lease
			RETURNING old.reserved
		)
		UPDATE {s}.batchllm_budget SET spent = spent + (SELECT coalesce(sum(reserved), 0) FROM lapsed) WHERE id = $1 RETURNING spent`), l.id).Scan(&spent)
	return spent, err
}

func (l *Ledger) reserve(ctx context.Context, lease string, limit, need cost.Amount) (cost.LedgerTotals, bool, error) {
	var tot cost.LedgerTotals
	tx, err := l.q.pool.Begin(ctx)
	if err != nil {
		return tot, false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	spent, err := l.lockBudget(ctx, tx)
	if err != nil {
		return tot, false, err
	}
	var reserved int64
	var lapsed bool
	err = tx.QueryRow(ctx, l.q.sql(`SELECT coalesce(sum(reserved), 0)::bigint, coalesce(bool_or(lapsed AND lease = $2), false)
		FROM {s}.batchllm_budget_lease WHERE budget = $1`), l.id, lease).Scan(&reserved, &lapsed)
	if err != nil {
		return tot, false, err
	}
	if lapsed {
		return tot, false, errLapsed
	}
	tot = cost.LedgerTotals{Spent: cost.Amount(spent), Reserved: cost.Amount(reserved)}
	if need > limit-tot.Spent-tot.Reserved {
		return tot, false, tx.Commit(ctx) // the lapsed leases' charges stand
	}
	_, err = tx.Exec(ctx, l.q.sql(`INSERT INTO {s}.batchllm_budget_lease (budget, lease, reserved, expires_at) VALUES ($1, $2, $3, now() + $4::bigint * interval '1 millisecond')
		ON CONFLICT (budget, lease) DO UPDATE SET reserved = batchllm_budget_lease.reserved + $3, expires_at = excluded.expires_at`),
		l.id, lease, int64(need), l.ttl.Milliseconds())
	if err != nil {
		return tot, false, err
	}
	return tot, true, tx.Commit(ctx)
}

// settle releases a reservation and charges its cost, unless its lease
// lapsed: it was charged in full then.
func (l *Ledger) settle(ctx context.Context, lease string, reserved, c cost.Amount) error {
	tx, err := l.q.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := l.lockBudget(ctx, tx); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, l.q.sql(`UPDATE {s}.batchllm_budget_lease SET reserved = reserved - $3, expires_at = now() + $4::bigint * interval '1 millisecond'
		WHERE budget = $1 AND lease = $2 AND NOT lapsed`), l.id, lease, int64(reserved), l.ttl.Milliseconds())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		if _, err := tx.Exec(ctx, l.q.sql(`UPDATE {s}.batchllm_budget SET spent = spent + $2 WHERE id = $1`), l.id, int64(c)); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// renew extends the lease id by the TTL, unless it lapsed.
func (l *Ledger) renew(ctx context.Context, id string) error {
	_, err := l.q.pool.Exec(ctx, l.q.sql(`UPDATE {s}.batchllm_budget_lease SET expires_at = now() + $3::bigint * interval '1 millisecond'
		WHERE budget = $1 AND lease = $2 AND NOT lapsed`), l.id, id, l.ttl.Milliseconds())
	return err
}

// Totals returns the budget's totals, with the reservations of lapsed
// leases counted as spent.
func (l *Ledger) Totals(ctx context.Context) (cost.LedgerTotals, error) {
	var tot cost.LedgerTotals
	tx, err := l.q.pool.Begin(ctx)
	if err != nil {
		return tot, fmt.Errorf("queue: budget %s: %w", l.id, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	spent, err := l.lockBudget(ctx, tx)
	if err != nil {
		return tot, fmt.Errorf("queue: budget %s: %w", l.id, err)
	}
	var reserved int64
	if err := tx.QueryRow(ctx, l.q.sql(`SELECT coalesce(sum(reserved), 0)::bigint FROM {s}.batchllm_budget_lease WHERE budget = $1`), l.id).Scan(&reserved); err != nil {
		return tot, fmt.Errorf("queue: budget %s: %w", l.id, err)
	}
	return cost.LedgerTotals{Spent: cost.Amount(spent), Reserved: cost.Amount(reserved)}, tx.Commit(ctx)
}
