package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/batchllm/batchllm"
)

// A batch holding one result that cannot be recorded (its run does not
// exist) fails as a whole; each of the others is then recorded, with its
// job completed, and only the bad one is refused.
func TestCompleterBatchWithABadJob(t *testing.T) {
	url := os.Getenv("BATCHLLM_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("set BATCHLLM_TEST_POSTGRES_URL to a Postgres database to run this test, e.g. BATCHLLM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test (.ci/run sets it)")
	}
	ctx := t.Context()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var b [6]byte
	rand.Read(b[:])
	schema := "batchllm_test_" + hex.EncodeToString(b[:])
	defer pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	q, err := Open(ctx, pool, Options{Schema: schema, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	items := func(yield func(Item, error) bool) {
		for i := range 3 {
			if !yield(Item{ID: fmt.Sprint("item-", i), Input: json.RawMessage(`"x"`)}, nil) {
				return
			}
		}
	}
	if _, err := q.CreateRun(ctx, "good", json.RawMessage(`{}`), items); err != nil {
		t.Fatal(err)
	}
	// The jobs as a worker holds them: running.
	rows, err := pool.Query(ctx, q.sql(`UPDATE {s}.river_job SET state = 'running', attempt = 1, attempted_at = now() RETURNING id, args::text`))
	if err != nil {
		t.Fatal(err)
	}
	var batch []completion
	replies := make(chan error, 4)
	for rows.Next() {
		var id int64
		var args string
		if err := rows.Scan(&id, &args); err != nil {
			t.Fatal(err)
		}
		j := &river.Job[itemArgs]{JobRow: &rivertype.JobRow{ID: id, State: rivertype.JobStateRunning}}
		if err := json.Unmarshal([]byte(args), &j.Args); err != nil {
			t.Fatal(err)
		}
		batch = append(batch, completion{job: j, rec: Record{OK: true, Attempts: 1, Value: json.RawMessage(`{"id":"` + j.Args.ID + `"}`)}, reply: replies})
	}
	if rows.Err() != nil || len(batch) != 3 {
		t.Fatalf("%d running jobs (%v); want 3", len(batch), rows.Err())
	}
	ghost := &river.Job[itemArgs]{JobRow: &rivertype.JobRow{ID: batch[0].job.ID}, Args: itemArgs{Run: "ghost", ID: "item-9"}}
	batch = append(batch[:1], append([]completion{{job: ghost, rec: Record{Class: batchllm.ClassFatalItem}, reply: replies}}, batch[1:]...)...)

	newCompleter(q, "w1", log).flush(batch)
	var failed int
	for range batch {
		if err := <-replies; err != nil {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d of the 4 results refused; want 1, the one of a run that does not exist", failed)
	}
	var results, completed int
	if err := pool.QueryRow(ctx, q.sql(`SELECT count(*) FROM {s}.batchllm_result WHERE run_id = 'good' AND worker = 'w1'`)).Scan(&results); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, q.sql(`SELECT count(*) FROM {s}.river_job WHERE state = 'completed'`)).Scan(&completed); err != nil {
		t.Fatal(err)
	}
	if results != 3 || completed != 3 {
		t.Errorf("%d results recorded, %d jobs completed; want 3 and 3", results, completed)
	}
}
