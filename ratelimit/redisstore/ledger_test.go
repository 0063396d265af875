package redisstore_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/batchllm/batchllm/internal/testing/ledgertest"
	"github.com/batchllm/batchllm/ratelimit/redisstore"
)

// The budget ledger passes the suite every cost.Ledger passes.
func TestLedger(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	ledgertest.Run(t, func(t *testing.T, key string, ttl time.Duration) ledgertest.Ledger {
		l := redisstore.NewLedger(c, prefix+key, redisstore.LedgerOptions{LeaseTTL: ttl, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		t.Cleanup(l.Close)
		return l
	})
}
