package queue

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// schemaSQL creates this package's tables beside River's; {s} stands for
// the schema. Records are stored as json, not jsonb, so that they come back
// byte for byte as the worker wrote them. Amounts are picodollars
// (cost.Amount). A run's spend is the sum of its results' costs, not a
// counter on the run's row: a counter would make every completing
// transaction of the run wait for the one before it. txid, the inserting
// transaction, lets Queue.Follow read results in an order in which none is
// ever skipped (see there).
const schemaSQL = `
CREATE TABLE IF NOT EXISTS {s}.batchllm_run (
	id          text PRIMARY KEY,
	config      json NOT NULL,
	items       bigint NOT NULL DEFAULT 0,
	stopped     text NOT NULL DEFAULT '',
	created_at  timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz
);
CREATE TABLE IF NOT EXISTS {s}.batchllm_result (
	run_id        text NOT NULL REFERENCES {s}.batchllm_run (id) ON DELETE CASCADE,
	item_id       text NOT NULL,
	seq           bigint GENERATED ALWAYS AS IDENTITY,
	txid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
	ok            boolean NOT NULL,
	class         text NOT NULL,
	attempts      integer NOT NULL,
	input_tokens  bigint NOT NULL,
	output_tokens bigint NOT NULL,
	cost          bigint NOT NULL,
	worker        text NOT NULL,
	record        json NOT NULL,
	finished_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (run_id, item_id)
);
CREATE INDEX IF NOT EXISTS batchllm_result_run_txid ON {s}.batchllm_result (run_id, txid, seq);
CREATE TABLE IF NOT EXISTS {s}.batchllm_budget (
	id    text PRIMARY KEY,
	spent bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS {s}.batchllm_budget_lease (
	budget     text NOT NULL REFERENCES {s}.batchllm_budget (id) ON DELETE CASCADE,
	lease      text NOT NULL,
	reserved   bigint NOT NULL DEFAULT 0,
	lapsed     boolean NOT NULL DEFAULT false,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (budget, lease)
);
CREATE TABLE IF NOT EXISTS {s}.batchllm_worker (
	id         text PRIMARY KEY,
	host       text NOT NULL,
	pid        integer NOT NULL,
	runs       text[] NOT NULL DEFAULT '{}',
	started_at timestamptz NOT NULL DEFAULT now(),
	seen_at    timestamptz NOT NULL DEFAULT now()
);
`

// sql puts the queue's schema into a statement written with {s}.
func (q *Queue) sql(stmt string) string {
	return strings.ReplaceAll(stmt, "{s}", pgx.Identifier{q.schema}.Sanitize())
}
