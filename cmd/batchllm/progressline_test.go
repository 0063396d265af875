package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/ratelimit"
)

// busySnapshot is a run with every field of the progress line to show.
func busySnapshot() progressSnapshot {
	return progressSnapshot{
		Done: 123_456, Total: 1_000_000, Sent: 23_456, Failed: 12,
		Elapsed: 10 * time.Minute, InFlight: 64, Retries: 310, RateLimited: 41, Tokens: 12_345_678,
		Cost: 4_210 * cost.Dollar / 100, RunCost: 10 * cost.Dollar, CostKnown: true, Budget: 100 * cost.Dollar,
		Limits:  "10k rpm, 2.0M tpm learned",
		Waiting: "429 cooldown 12s",
	}
}

func TestProgressFitsWidth(t *testing.T) {
	s := busySnapshot()
	full := renderProgress(s, 0)
	for _, want := range []string{"123456/1000000 (12%)", "waiting: 429 cooldown 12s", "39.1/s", "ETA 6h14m",
		"$42.10 spent", "$57.90 left", "~$415.80 total", "10k rpm, 2.0M tpm learned", "12 failed", "64 in flight",
		"12M tokens", "310 retries", "41 x 429"} {
		if !strings.Contains(full, want) {
			t.Errorf("unlimited line lacks %q:\n%s", want, full)
		}
	}
	// At each width: what must be there, what must have been dropped.
	for _, tc := range []struct {
		width      int
		want, gone []string
	}{
		{40, []string{"123k/1.0M (12%)", "wait 429 cooldown 12s"}, []string{"ETA", "spent", "in flight"}},
		{80, []string{"123k/1.0M (12%)", "wait 429 cooldown 12s", "ETA 6h14m", "$42.10 spent", "$57.90 left"}, []string{"rpm", "in flight", "x 429"}},
		{120, []string{"123456/1000000 (12%)", "waiting: 429", "ETA", "spent", "$57.90 left", "~$415.80 total"}, []string{"in flight", "x 429"}},
		{160, []string{"123456/1000000 (12%)", "waiting: 429", "ETA", "spent", "left", "total", "10k rpm, 2.0M tpm learned"}, []string{"x 429"}},
	} {
		line := renderProgress(s, tc.width)
		if len(line) > tc.width {
			t.Errorf("width %d: line is %d columns: %q", tc.width, len(line), line)
		}
		for _, w := range tc.want {
			if !strings.Contains(line, w) {
				t.Errorf("width %d: line lacks %q: %q", tc.width, w, line)
			}
		}
		for _, g := range tc.gone {
			if strings.Contains(line, g) {
				t.Errorf("width %d: line keeps %q over more important fields: %q", tc.width, g, line)
			}
		}
	}
	// Every width from nothing up: never over, never a wrap.
	for w := 1; w <= len(full)+5; w++ {
		if line := renderProgress(s, w); len(line) > w || strings.Contains(line, "\n") {
			t.Fatalf("width %d: %q", w, line)
		}
	}
}

// progressRunner is a runner with just what progressSnapshot reads.
func progressRunner(lim *ratelimit.Limiter) *runner {
	return &runner{in: &input{checked: checkResult{Valid: 10}}, limiter: lim, start: time.Now(), tally: newTally(cost.Default(), false)}
}

// admitAsync asks g for a permit on its own goroutine and returns a function
// that waits for the answer.
func admitAsync(ctx context.Context, g batchllm.Gate, e batchllm.Estimate) func() (batchllm.Permit, error) {
	var p batchllm.Permit
	var err error
	var wg sync.WaitGroup
	wg.Go(func() { p, err = g.Admit(ctx, e) })
	return func() (batchllm.Permit, error) { wg.Wait(); return p, err }
}

func TestProgressSaysWhyItWaits(t *testing.T) {
	est := batchllm.Estimate{Scope: "openai/gpt-4o-mini", Model: "gpt-4o-mini", InputTokens: 1000, MaxOutputTokens: 1000}

	t.Run("rpm limit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			lim, err := ratelimit.New(ratelimit.Config{Default: ratelimit.Limits{Requests: 1}, NoAdapt: true})
			if err != nil {
				t.Fatal(err)
			}
			r := progressRunner(lim)
			gate := countingGate{lim, &r.admissions.inLimiter}
			p, err := gate.Admit(t.Context(), est)
			if err != nil {
				t.Fatal(err)
			}
			if s := r.progressSnapshot(batchllm.Stats{}); s.Waiting != "" || s.Limits != "1 rpm" {
				t.Errorf("one admitted, none waiting: waiting %q, limits %q", s.Waiting, s.Limits)
			}
			ctx, cancel := context.WithCancel(t.Context())
			wait := admitAsync(ctx, gate, est)
			synctest.Wait()
			line := renderProgress(r.progressSnapshot(batchllm.Stats{}), 80)
			if !strings.Contains(line, "waiting: rpm limit") {
				t.Errorf("second attempt held by --rpm 1: %q", line)
			}
			cancel()
			wait()
			p.Release(batchllm.Outcome{})
		})
	})

	t.Run("cooldown", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			lim, err := ratelimit.New(ratelimit.Config{})
			if err != nil {
				t.Fatal(err)
			}
			r := progressRunner(lim)
			p, err := lim.Admit(t.Context(), est)
			if err != nil {
				t.Fatal(err)
			}
			p.Release(batchllm.Outcome{Class: batchllm.ClassRateLimited, RetryAfter: 20 * time.Second, Evidence: batchllm.EvidenceQuota})
			if s := r.progressSnapshot(batchllm.Stats{}); s.Waiting != "429 cooldown 20s" {
				t.Errorf("after a 429 asking for 20s: waiting %q", s.Waiting)
			}
			time.Sleep(15 * time.Second) // the fake clock of the bubble
			if s := r.progressSnapshot(batchllm.Stats{}); s.Waiting != "429 cooldown 5s" {
				t.Errorf("15s into the cooldown: waiting %q", s.Waiting)
			}
			time.Sleep(6 * time.Second)
			if s := r.progressSnapshot(batchllm.Stats{}); s.Waiting != "" {
				t.Errorf("after the cooldown: waiting %q", s.Waiting)
			}
		})
	})

	t.Run("budget", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			lim, err := ratelimit.New(ratelimit.Config{})
			if err != nil {
				t.Fatal(err)
			}
			r := progressRunner(lim)
			// One attempt's worst case (1,100 input and 1,000 output tokens
			// of gpt-4o-mini, about $0.000765) fits in $0.001, two do not:
			// the second waits for the first to settle.
			budget, err := cost.NewBudget(1000*cost.Microdollar, cost.BudgetOptions{Next: countingGate{lim, &r.admissions.inLimiter}, InputMargin: 0.1})
			if err != nil {
				t.Fatal(err)
			}
			r.budget = budget
			gate := countingGate{r.budget, &r.admissions.inBudget}
			p, err := gate.Admit(t.Context(), est)
			if err != nil {
				t.Fatal(err)
			}
			wait := admitAsync(t.Context(), gate, est)
			synctest.Wait()
			snap := r.progressSnapshot(batchllm.Stats{})
			if snap.Waiting != "budget" {
				t.Errorf("second attempt held by the budget: waiting %q", snap.Waiting)
			}
			if snap.Budget != 1000*cost.Microdollar {
				t.Errorf("budget %v", snap.Budget)
			}
			// The first costs little: the second fits and is admitted.
			p.Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 10, OutputTokens: 10}})
			p2, err := wait()
			if err != nil {
				t.Fatal(err)
			}
			if s := r.progressSnapshot(batchllm.Stats{}); s.Waiting != "" {
				t.Errorf("both admitted: waiting %q", s.Waiting)
			}
			p2.Release(batchllm.Outcome{})
		})
	})
}
