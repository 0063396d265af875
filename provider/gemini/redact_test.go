package gemini

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/keyecho"
	"github.com/batchllm/batchllm/llmsim"
)

// syncBuffer is a bytes.Buffer safe for concurrent writes by a log handler.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A proxy that quotes the API key in every field of its error answers
// (message, status, error details) must not get the key into a
// result's error or the processor's logs at debug level, whether or not the
// key looks like a Google key: the strategy removes the key it was given,
// not only key-shaped text.
func TestKeyRedactedFromErrorsAndLogs(t *testing.T) {
	for _, prefix := range []string{"AIzaBatchllmSECRET", "batchllm-SECRET-"} {
		t.Run(prefix, func(t *testing.T) {
			key := prefix + rand.Text()
			sim := startSim(t, llmsim.Config{FaultRetryAfter: 10 * time.Millisecond})
			var abort atomic.Bool // set between the two runs
			px, err := keyecho.Start(sim.AnthropicBaseURL(), func(r *http.Request, body []byte, seen int) int {
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
			s, err := New(Config{Model: "gemini-2.5-flash", APIKey: key, BaseURL: px.URL()})
			if err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
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
			var ae genai.APIError
			if !errors.As(r.Err, &ae) || ae.Code != http.StatusUnauthorized {
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
