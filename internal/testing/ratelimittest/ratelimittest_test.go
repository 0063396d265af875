package ratelimittest_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/batchllm/batchllm/internal/testing/ratelimittest"
	"github.com/batchllm/batchllm/ratelimit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoryStore(t *testing.T) {
	ratelimittest.Run(t, func(*testing.T) ratelimit.Store { return ratelimit.NewMemoryStore() })
}
