package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/logbuf"
	"github.com/batchllm/batchllm/internal/testing/ratelimittest"
	"github.com/batchllm/batchllm/ratelimit"
	"github.com/batchllm/batchllm/ratelimit/redisstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testClient connects to BATCHLLM_TEST_REDIS_URL, or skips the test. The
// client is closed when the test ends.
func testClient(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv("BATCHLLM_TEST_REDIS_URL")
	if url == "" {
		t.Skip("set BATCHLLM_TEST_REDIS_URL to a Redis server to run this test, e.g. BATCHLLM_TEST_REDIS_URL=redis://127.0.0.1:6379/0 (.ci/run sets it)")
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("BATCHLLM_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// testPrefix returns a key prefix of the test's own; its keys are deleted
// at the end.
func testPrefix(t testing.TB, c *redis.Client) string {
	var b [6]byte
	rand.Read(b[:])
	p := "batchllm:test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := c.Keys(ctx, p+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return p
}

// The same conformance suite as the in-process store: each case in a
// synctest bubble, with a client and a key prefix of its own.
func TestConformance(t *testing.T) {
	testClient(t) // skip early without Redis
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Store {
		c := testClient(t)
		return redisstore.New(c, redisstore.Options{Prefix: testPrefix(t, c)})
	})
}

func TestUnreachableRedisPausesAdmission(t *testing.T) {
	testClient(t)
	synctest.Test(t, func(t *testing.T) {
		// Nothing listens on port 1: every command fails at once.
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
		defer c.Close()
		var log logbuf.Buffer
		st := redisstore.New(c, redisstore.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
		l, err := ratelimit.New(ratelimit.Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		p, err := l.Admit(ctx, batchllm.Estimate{Scope: "s", InputTokens: 10})
		if err == nil {
			p.Release(batchllm.Outcome{})
			t.Fatal("Admit succeeded without Redis; it must pause")
		}
		if waited := time.Since(start); waited != 10*time.Second {
			t.Errorf("Admit gave up after %v; want it to wait for the whole 10 s context", waited)
		}
		if !strings.Contains(log.String(), "admission paused") {
			t.Errorf("the log does not say that admission paused:\n%s", log.String())
		}
		if st.Outage() == nil {
			t.Error("Outage() is nil during the outage")
		}
	})
}

// With a key prefix of its own, a new store starts empty; two stores on the
// same prefix share state, as two processes would.
func TestStoresOnOnePrefixShareState(t *testing.T) {
	c := testClient(t)
	p := testPrefix(t, c)
	a, b := redisstore.New(c, redisstore.Options{Prefix: p}), redisstore.New(c, redisstore.Options{Prefix: p})
	ctx, now := t.Context(), time.Now()
	if err := a.Scope("x").SetRate(ctx, now, ratelimit.DimRequests, ratelimit.Rate{Limit: 60, Window: time.Minute, Burst: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if r, err := b.Scope("x").Reserve(ctx, now, ratelimit.Amounts{1}); err != nil || r.Wait != 0 {
			t.Fatalf("Reserve = %+v, %v; want admitted", r, err)
		}
	}
	r, err := a.Scope("x").Reserve(ctx, now, ratelimit.Amounts{1})
	if err != nil || r.Wait != time.Second {
		t.Errorf("fourth Reserve on the other store = %+v, %v; want a wait of 1s (the burst of 3 is spent)", r, err)
	}
	if st, _ := redisstore.New(c, redisstore.Options{Prefix: p + "other:"}).Scope("x").Snapshot(ctx, now); st.Buckets[ratelimit.DimRequests].Limit != 0 {
		t.Errorf("a store on another prefix sees %+v", st)
	}
}
