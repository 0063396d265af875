package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// startProgress reports progress on stderr until done is closed: a line
// redrawn four times a second on a terminal, else a plain log line every
// --progress-interval (for CI logs and batch schedulers).
func (r *runner) startProgress(p *processor, done <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	tty := isTerminal(r.stderr)
	every := r.f.progressEvery
	if tty {
		every = 250 * time.Millisecond
	}
	if every <= 0 {
		return &wg
	}
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprint(r.stderr, "\r\033[K")
				}
				return
			case <-t.C:
				line := r.progressLine(p.Stats())
				if tty {
					fmt.Fprint(r.stderr, "\r\033[K"+line)
				} else {
					fmt.Fprintln(r.stderr, "batchllm: "+line)
				}
			}
		}
	})
	return &wg
}

// progressLine says how far the run is: done/total, rate, ETA, tokens,
// 429s and retries.
func (r *runner) progressLine(s batchllm.Stats) string {
	t := r.tally.totals()
	done := t.Finished + r.tally.interrupted.Load()
	resumed, failed := t.Resumed, t.Failed
	total := int64(r.in.checked.Valid)
	elapsed := time.Since(r.start)
	sent := done - resumed
	rate := float64(sent) / elapsed.Seconds()
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(total-done) / rate * float64(time.Second))).Round(time.Second).String()
	}
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	return fmt.Sprintf("%d/%d (%.0f%%) %.1f items/s ETA %s | %d failed | %s tokens | %d in flight | %d retries | %d × 429",
		done, total, pct, rate, eta, failed, count(s.Usage.TotalTokens()), s.InFlight, s.Retries, s.RateLimited)
}

// count writes n with a k/M suffix.
func count(n int64) string {
	switch {
	case n >= 10_000_000:
		return fmt.Sprintf("%.0fM", float64(n)/1e6)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// summary prints the run's totals on stderr.
func (r *runner) summary(s batchllm.Stats, dedupeShared int64, budget *cost.Budget) {
	t := r.tally.totals()
	w := r.stderr
	wall := time.Since(r.start)
	total := r.in.checked.Valid
	fmt.Fprintf(w, "batchllm: %d item(s): %d ok, %d failed", total, t.Succeeded, t.Failed)
	if len(t.FailedByClass) > 0 {
		var parts []string
		for c, n := range t.FailedByClass {
			parts = append(parts, fmt.Sprintf("%s %d", c, n))
		}
		slices.Sort(parts)
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	if t.Resumed > 0 {
		fmt.Fprintf(w, "; %d from the journal", t.Resumed)
	}
	if n := int64(total) - t.Finished; n > 0 {
		fmt.Fprintf(w, "; %d not finished", n)
	}
	if n := len(r.in.checked.Rejected); n > 0 {
		fmt.Fprintf(w, "; %d rejected", n)
	}
	fmt.Fprintln(w)
	u := t.Usage
	fmt.Fprintf(w, "batchllm: tokens: %d in (%d cached, cache hit rate %.1f%%), %d out", u.InputTokens, u.CachedInputTokens, 100*u.CacheHitRate(), u.OutputTokens)
	if r.f.dryRun {
		fmt.Fprint(w, " (dry run: estimates)")
	} else if c, ok := runCost(t); ok {
		fmt.Fprintf(w, "; cost %s this run", c)
	} else {
		fmt.Fprint(w, "; cost unknown (model not priced)")
	}
	if budget != nil {
		if r.earlier > 0 {
			c, _ := runCost(t)
			fmt.Fprintf(w, ", %s in total with earlier runs", r.earlier+c)
		}
		fmt.Fprintf(w, " of a %s budget", budget.Limit+r.earlier)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "batchllm: %d attempt(s), %d retries, %d rate-limited (429)", s.Attempts, s.Retries, s.RateLimited)
	if r.f.dedupe {
		fmt.Fprintf(w, ", %d shared by --dedupe", dedupeShared)
	}
	sent := t.Finished - t.Resumed
	fmt.Fprintf(w, "; wall time %v", wall.Round(time.Millisecond))
	if sec := wall.Seconds(); sec > 0 && sent > 0 && s.Attempts > 0 {
		fmt.Fprintf(w, " (%.1f items/s)", float64(sent)/sec)
	}
	fmt.Fprintln(w)
}
