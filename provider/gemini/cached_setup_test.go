package gemini

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
)

// runAll runs n items through s with the given workers and returns the
// summary and Run's error.
func runAll(t *testing.T, s batchllm.Strategy[batchllm.Prompt, string], workers, n int) (*batchllm.Summary[string, struct{}], error) {
	t.Helper()
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
		Strategy: s, Workers: workers, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Retry: batchllm.RetryPolicy{MaxAttempts: 3, InitialWait: 10 * time.Millisecond, MaxWait: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for i := range n {
		if err := p.Add(t.Context(), batchllm.Item[batchllm.Prompt, string, struct{}]{ID: fmt.Sprint(i), Input: batchllm.Text("q")}); err != nil {
			t.Fatal(err)
		}
	}
	return p.Run(t.Context())
}

// TestCachedSetupErrorsClassified is the review's repro 3 turned around:
// with 20 items and 4 workers, a cache set-up that fails is no longer 20
// fatal items with 40 requests. A passing 503 is retried and every item
// succeeds; a bad key (403) and documents below the model's minimum stop
// the batch with class fatal_batch after one creation request: the
// strategy keeps a fatal set-up error and returns it to every later call.
func TestCachedSetupErrorsClassified(t *testing.T) {
	for _, tc := range []struct {
		name    string
		faults  []string
		model   string
		ok      int64
		stop    string // in Run's error; "" for none
		creates int    // at most
	}{
		{name: "passing 503", faults: []string{"503"}, ok: 20, creates: 2},
		{name: "bad key 403", faults: []string{"403", "403", "403"}, stop: "403", creates: 1},
		{name: "too small", model: "gemini-2.5-pro", stop: "below the minimum cache size of gemini-2.5-pro (2048 tokens", creates: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newMemSim(t)
				m.createFaults = tc.faults
				c := m.cached(t, func(cfg *CachedConfig) {
					if tc.model != "" {
						cfg.Model = tc.model
					}
				})
				sum, err := runAll(t, c, 4, 20)
				if tc.stop == "" && err != nil || tc.stop != "" && (!errors.Is(err, batchllm.ErrBatchAborted) || !strings.Contains(err.Error(), tc.stop)) {
					t.Fatalf("Run err = %v, want %q", err, tc.stop)
				}
				if sum.Stats.Succeeded != tc.ok {
					t.Errorf("%d succeeded, want %d", sum.Stats.Succeeded, tc.ok)
				}
				if n := m.count("POST cache"); n > tc.creates {
					t.Errorf("%d cache creations, want at most %d (requests %v)", n, tc.creates, m.n)
				}
			})
		})
	}
}

// TestCachedWaiterHonoursItsContext: while one call creates the cache,
// another waits for it only as long as its own context allows.
func TestCachedWaiterHonoursItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemSim(t)
		m.holdCreate = make(chan struct{})
		c := m.cached(t, nil)
		first := make(chan error, 1)
		go func() {
			_, err := c.Call(t.Context(), req(batchllm.Text("q1")))
			first <- err
		}()
		synctest.Wait() // the first call is inside Caches.Create
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.Call(ctx, req(batchllm.Text("q2")))
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Fatalf("waiter: %v after %v, want its own deadline after 1s", err, time.Since(start))
		}
		close(m.holdCreate)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		c.Cleanup(t.Context())
	})
}
