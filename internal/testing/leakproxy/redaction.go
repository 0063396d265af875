package leakproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/logbuf"
	"github.com/batchllm/batchllm/llmsim"
)

// RedactionCase describes a provider strategy for [TestRedaction].
type RedactionCase struct {
	// KeyPrefixes start the test keys: one shaped like the provider's keys,
	// one not, since a strategy must remove the key it was given, not only
	// key-shaped text.
	KeyPrefixes []string
	// NewStrategy builds the strategy with the key and the proxy's root URL
	// (the strategy appends any path its SDK needs, such as "/v1/").
	NewStrategy func(key, rootURL string) (batchllm.Strategy[batchllm.Prompt, string], error)
	// IsSDKError reports whether err still holds the SDK's own error with
	// the given HTTP status, for errors.As.
	IsSDKError func(err error, status int) bool
}

// TestRedaction runs a provider strategy through the processor behind a
// proxy that quotes the API key in every field of its error answers, and
// fails t if the key reaches a result's error, the run's error or the
// processor's logs at debug level. It also checks that the key really was
// quoted and the error paths really ran, so that it cannot pass vacuously.
func TestRedaction(t *testing.T, c RedactionCase) {
	for _, prefix := range c.KeyPrefixes {
		t.Run(prefix, func(t *testing.T) {
			key := prefix + rand.Text()
			sim, err := llmsim.Start(llmsim.Config{FaultRetryAfter: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer sim.Close()
			var abort atomic.Bool // set between the two runs
			px, err := Start(sim.AnthropicBaseURL(), func(r *http.Request, body []byte, seen int) int {
				switch {
				case abort.Load():
					return http.StatusUnauthorized
				case bytes.Contains(body, []byte("bad request")):
					return http.StatusBadRequest
				case bytes.Contains(body, []byte("server error")) && seen == 0:
					return http.StatusInternalServerError
				case bytes.Contains(body, []byte("rate limited")) && seen == 0:
					return http.StatusTooManyRequests
				case bytes.Contains(body, []byte("sim fault")) && seen == 0:
					r.Header.Set(llmsim.FaultHeader, "503")
				}
				return 0
			})
			if err != nil {
				t.Fatal(err)
			}
			defer px.Close()
			s, err := c.NewStrategy(key, px.URL())
			if err != nil {
				t.Fatal(err)
			}
			var logs logbuf.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			run := func(prompts ...string) (map[string]batchllm.Result[string, struct{}], error) {
				t.Helper()
				p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
					Strategy: s, Workers: 4, Logger: log,
					Retry: batchllm.RetryPolicy{MaxAttempts: 3, InitialWait: time.Millisecond, MaxWait: 10 * time.Millisecond},
					Gate:  &batchllm.CooldownGate{Floor: 5 * time.Millisecond, Max: 50 * time.Millisecond},
					// Every event at debug level, errors included, as a
					// verbose application would log them.
					Observers: []batchllm.Observer{batchllm.ObserverFunc(func(e batchllm.Event) {
						log.Debug("event", "kind", e.Kind, "item", e.ItemID, "attempt", e.Attempt, "class", e.Class, "err", e.Err)
					})},
				})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close(context.Background())
				for _, pr := range prompts {
					if err := p.Add(t.Context(), batchllm.Item[batchllm.Prompt, string, struct{}]{ID: pr, Input: batchllm.Text(pr)}); err != nil {
						t.Fatal(err)
					}
				}
				p.Finish()
				sum, err := p.Run(t.Context())
				return sum.ByID(), err
			}

			res, err := run("bad request", "server error", "rate limited", "sim fault", "fine")
			if err != nil {
				t.Fatal(err)
			}
			for id, r := range res {
				if id == "bad request" {
					if r.Class() != batchllm.ClassFatalItem || !strings.Contains(r.Err.Error(), "[redacted]") {
						t.Errorf("%s: class %v, error %v; want fatal_item with the quoted key redacted", id, r.Class(), r.Err)
					}
				} else if r.Err != nil {
					t.Errorf("%s: %v", id, r.Err)
				}
				if r.Err != nil && strings.Contains(r.Err.Error(), key) {
					t.Errorf("%s: the error holds the key: %v", id, r.Err)
				}
			}
			abort.Store(true)
			// A 401 aborts the batch; the run's error quotes the answer.
			res, err = run("doomed")
			if !errors.Is(err, batchllm.ErrBatchAborted) || !strings.Contains(err.Error(), "[redacted]") || strings.Contains(err.Error(), key) {
				t.Errorf("run error %v; want the batch aborted, with the quoted key redacted", err)
			}
			r := res["doomed"]
			if r.Class() != batchllm.ClassFatalBatch || strings.Contains(r.Err.Error(), key) {
				t.Errorf("doomed: class %v, error %v; want fatal_batch without the key", r.Class(), r.Err)
			}
			if !c.IsSDKError(r.Err, http.StatusUnauthorized) {
				t.Errorf("doomed: the SDK's error is lost: %v", r.Err)
			}

			out := logs.String()
			if strings.Contains(out, key) {
				t.Fatalf("the logs hold the key:\n%s", out)
			}
			// The test proves something only if the key was quoted and the
			// quoting reached the logs.
			if px.Leaked() < 4 || len(px.Keys()) != 1 || px.Keys()[0] != key {
				t.Fatalf("the proxy quoted keys %d times (%d distinct); the test needs the strategy's key quoted", px.Leaked(), len(px.Keys()))
			}
			for _, want := range []string{"class=transient", "class=rate_limited", "class=overloaded", "class=fatal_item", "batch aborted", "[redacted]"} {
				if !strings.Contains(out, want) {
					t.Errorf("the logs lack %q:\n%s", want, out)
				}
			}
		})
	}
}
