package queue_test

import (
	"testing"
	"time"

	"github.com/batchllm/batchllm/internal/testing/ledgertest"
)

// The run's budget ledger passes the suite every cost.Ledger passes.
func TestLedger(t *testing.T) {
	q, _, _ := testQueue(t)
	ledgertest.Run(t, func(t *testing.T, key string, ttl time.Duration) ledgertest.Ledger {
		l := q.Ledger(key, ttl)
		t.Cleanup(l.Close)
		return l
	})
}
