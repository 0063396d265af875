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

// terminalWidth returns the number of columns of the terminal w, read
// afresh on every call so that a resized window is followed at the next
// redraw, or 80 if it cannot be read.
func terminalWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	return 80
}

// startProgress reports progress on stderr until done is closed: on a
// terminal, a line redrawn four times a second and fitted to the window's
// width (read again at each redraw); else a plain log line with every field
// each --progress-interval (for CI logs and batch schedulers).
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
				snap := r.progressSnapshot(p.Stats())
				if tty {
					// One column less than the window: a line that fills the
					// last column makes some terminals wrap.
					fmt.Fprint(r.stderr, "\r\033[K"+renderProgress(snap, terminalWidth(r.stderr)-1))
				} else {
					fmt.Fprintln(r.stderr, "batchllm: "+renderProgress(snap, 0))
				}
			}
		}
	})
	return &wg
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
		fmt.Fprintf(w, " of a %s budget", budget.Limit()+r.earlier)
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
