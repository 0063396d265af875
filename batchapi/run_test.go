package batchapi

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
)

// Items are split into batches of MaxRequests, each answered item is
// reported once with the live strategy's output and usage, and each custom
// id is submitted once.
func TestSplitsAndReports(t *testing.T) {
	for prov, mk := range providers {
		t.Run(prov, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := sim(t, fastPace)
				p := mk(t, s)
				var batches []BatchInfo
				var c collector
				st, err := Run(t.Context(), Config[int]{Provider: p, MaxRequests: 4, PollInterval: time.Second, Dir: t.TempDir(),
					Progress: func(b BatchInfo) {
						if b.State.Status == "" {
							batches = append(batches, b)
						}
					}}, seq(prompts(10)), c.emit)
				if err != nil {
					t.Fatal(err)
				}
				if st.Batches != 3 || st.Submitted != 10 || st.Succeeded != 10 || st.Failed != 0 || len(st.Running) != 0 {
					t.Errorf("stats %+v, want 3 batches, 10 submitted and succeeded", st)
				}
				var sizes []int
				for _, b := range batches {
					sizes = append(sizes, b.Requests)
				}
				if len(sizes) != 3 || sizes[0] != 4 || sizes[1] != 4 || sizes[2] != 2 {
					t.Errorf("batch sizes %v, want [4 4 2]", sizes)
				}
				if c.n != 10 || len(c.res) != 10 {
					t.Fatalf("%d results for %d items, want 10 each", c.n, len(c.res))
				}
				for id, r := range c.res {
					if !r.OK() || r.Output == "" || r.Usage.InputTokens == 0 || r.Usage.OutputTokens == 0 || r.Attempts != 1 || r.Model == "" {
						t.Errorf("%s: %+v", id, r)
					}
					if r.Context != int(id[1]-'0') {
						t.Errorf("%s: context %d", id, r.Context)
					}
				}
				subs := s.BatchSubmissions(simName(prov))
				for id, n := range subs {
					if n != 1 {
						t.Errorf("custom id %s submitted %d times", id, n)
					}
				}
				if len(subs) != 10 {
					t.Errorf("%d custom ids submitted, want 10", len(subs))
				}
			})
		})
	}
}

// A batch that expires before it has run every request is followed by
// one for the rest, until MaxAttempts; what then never ran fails with a
// transient error, the others succeed.
func TestExpiredItemsAreResubmitted(t *testing.T) {
	for _, tc := range []struct {
		attempts, ok, failed int
	}{{3, 12, 0}, {2, 10, 2}} {
		for prov, mk := range providers {
			synctest.Test(t, func(t *testing.T) {
				// Each batch runs 5 requests (one per second, after a second
				// of validation) before its 6.5s window ends.
				s := sim(t, llmsim.BatchConfig{StepDelay: time.Second, PerRequest: time.Second, Window: 6500 * time.Millisecond})
				p := mk(t, s)
				var c collector
				st, err := Run(t.Context(), Config[int]{Provider: p, MaxAttempts: tc.attempts, PollInterval: time.Second, Dir: t.TempDir()}, seq(prompts(12)), c.emit)
				if err != nil {
					t.Fatal(err)
				}
				if int(st.Succeeded) != tc.ok || int(st.Failed) != tc.failed || len(c.res) != 12 {
					t.Fatalf("MaxAttempts %d: %+v, %d results; want %d ok, %d failed", tc.attempts, st, len(c.res), tc.ok, tc.failed)
				}
				for id, r := range c.res {
					if !r.OK() && (r.Class() != batchllm.ClassTransient || r.Attempts != tc.attempts) {
						t.Errorf("%s: class %v after %d attempts: %v", id, r.Class(), r.Attempts, r.Err)
					}
				}
				resub := 0
				for _, n := range s.BatchSubmissions(simName(prov)) {
					if n > 1 {
						resub++
					}
				}
				if resub != 12-5 {
					t.Errorf("%s: %d items submitted more than once, want 7", prov, resub)
				}
			})
		}
	}
}
