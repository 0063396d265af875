package queue_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/batchllm/batchllm/queue"
)

// testPool connects to BATCHLLM_TEST_POSTGRES_URL, or skips the test.
func testPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := os.Getenv("BATCHLLM_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("set BATCHLLM_TEST_POSTGRES_URL to a Postgres database to run this test, e.g. BATCHLLM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test (.ci/run sets it)")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("BATCHLLM_TEST_POSTGRES_URL: %v", err)
	}
	// As the CLI does (see openQueue): River's notifier holds one
	// connection, and its fetches and completions, the worker's and Follow
	// need their own.
	cfg.MaxConns = max(cfg.MaxConns, 16)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// testQueue opens a queue in a schema of its own, dropped at the end.
func testQueue(t testing.TB) (*queue.Queue, *pgxpool.Pool, string) {
	t.Helper()
	pool := testPool(t)
	var b [6]byte
	rand.Read(b[:])
	schema := "batchllm_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q, err := queue.Open(t.Context(), pool, queue.Options{Schema: schema, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return q, pool, schema
}

func quietLogger() *slog.Logger {
	if os.Getenv("QDEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
