package ratelimittest_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/batchllm/batchllm/ratelimit"
	"github.com/batchllm/batchllm/ratelimit/ratelimittest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoryStore(t *testing.T) {
	ratelimittest.Run(t, func(*testing.T) ratelimit.Store { return ratelimit.NewMemoryStore() })
}
