package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
)

// progressSnapshot is what the progress line shows, read at one moment.
type progressSnapshot struct {
	Done, Total int64 // items with a result (journaled ones included), items in the input
	Sent        int64 // items with a result from this run
	Failed      int64
	Elapsed     time.Duration
	InFlight    int64
	Retries     int64
	RateLimited int64
	Tokens      int64
	// Cost is what the job has cost so far, earlier runs of its journal
	// included; RunCost this run's share. CostKnown is false if a model is
	// not priced.
	Cost, RunCost cost.Amount
	CostKnown     bool
	// Budget is the job's cap (--budget), 0 for none.
	Budget cost.Amount
	// Limits are the rate limits in force (see limitsInForce), "" if none.
	Limits string
	// Waiting says why attempts wait for admission (see waitingFor), ""
	// if none does.
	Waiting string
}

// progressSnapshot reads the run's state for the progress line.
func (r *runner) progressSnapshot(s batchllm.Stats) progressSnapshot {
	t := r.tally.totals()
	snap := progressSnapshot{
		Done:   t.Finished + r.tally.interrupted.Load(),
		Failed: t.Failed,
	}
	snap.Sent = snap.Done - t.Resumed
	snap.RunCost, snap.CostKnown = runCost(t)
	snap.Total = int64(r.in.checked.Valid)
	snap.Elapsed = time.Since(r.start)
	snap.InFlight, snap.Retries, snap.RateLimited = s.InFlight, s.Retries, s.RateLimited
	snap.Tokens = s.Usage.TotalTokens()
	snap.Cost = r.earlier + snap.RunCost
	if r.budget != nil {
		snap.Budget = r.budget.Limit() + r.earlier
	}
	if r.limiter != nil {
		lim := r.limiter.Stats()
		snap.Limits = limitsInForce(lim)
		budgetWaits := int64(0)
		if r.budget != nil {
			budgetWaits = r.admissions.inBudget.Load() - r.admissions.inLimiter.Load()
		}
		snap.Waiting = waitingFor(time.Now(), lim, budgetWaits)
	}
	return snap
}

// progressField is one field of the progress line, in a long form and
// optionally a shorter one for a narrow line; fields of a lower rank are
// the more important.
type progressField struct {
	text, short string
	rank        int
}

// renderProgress writes the progress line in at most width columns (0: no
// limit): it never wraps. The fields are taken by rank, each in its long
// form if that fits, else its short one, else not at all: done/total, why
// the run waits, the ETA, the cost so far, the budget left, the projected
// total cost, the limits in force, the rate, then the counters.
func renderProgress(s progressSnapshot, width int) string {
	pct := 100.0
	if s.Total > 0 {
		pct = 100 * float64(s.Done) / float64(s.Total)
	}
	fields := []progressField{{fmt.Sprintf("%d/%d (%.0f%%)", s.Done, s.Total, pct), fmt.Sprintf("%s/%s (%.0f%%)", count(s.Done), count(s.Total), pct), 0}}
	if s.Waiting != "" {
		fields = append(fields, progressField{"waiting: " + s.Waiting, "wait " + s.Waiting, 1})
	}
	rate := 0.0
	if sec := s.Elapsed.Seconds(); sec > 0 {
		rate = float64(s.Sent) / sec
	}
	fields = append(fields, progressField{fmt.Sprintf("%.1f/s", rate), "", 7})
	eta := "?"
	if rate > 0 {
		eta = shortDuration(time.Duration(float64(s.Total-s.Done) / rate * float64(time.Second)))
	}
	fields = append(fields, progressField{"ETA " + eta, "", 2})
	if s.CostKnown {
		fields = append(fields, progressField{money(s.Cost) + " spent", "", 3})
		if s.Budget > 0 {
			fields = append(fields, progressField{money(max(s.Budget-s.Cost, 0)) + " left", "", 4})
		}
		if s.Sent > 0 {
			perItem := float64(s.RunCost) / float64(s.Sent)
			projected := s.Cost + cost.Amount(perItem*float64(s.Total-s.Done))
			fields = append(fields, progressField{"~" + money(projected) + " total", "", 5})
		}
	} else {
		fields = append(fields, progressField{"cost unknown", "", 6})
	}
	if s.Limits != "" {
		fields = append(fields, progressField{s.Limits, "", 6})
	}
	if s.Failed > 0 {
		fields = append(fields, progressField{fmt.Sprintf("%d failed", s.Failed), "", 8})
	}
	fields = append(fields, progressField{fmt.Sprintf("%d in flight", s.InFlight), "", 9})
	fields = append(fields, progressField{count(s.Tokens) + " tokens", "", 10})
	if s.Retries > 0 {
		fields = append(fields, progressField{fmt.Sprintf("%d retries", s.Retries), "", 11})
	}
	if s.RateLimited > 0 {
		fields = append(fields, progressField{fmt.Sprintf("%d x 429", s.RateLimited), "", 12})
	}
	return fitFields(fields, width)
}

// fitFields joins the fields with " | " in their order, in at most width
// columns (0: no limit; every field is ASCII, one column a byte). The
// essential fields (rank up to essentialRank) go in first, by rank, in
// their short form where they have one, until one does not fit; then, by
// rank again, those are given their long form where room is left, and the
// other fields are added where they fit. If not even the first field fits,
// it is cut.
func fitFields(fields []progressField, width int) string {
	const sep = " | "
	if width <= 0 {
		width = math.MaxInt
	}
	texts := make([]string, len(fields))
	used := -len(sep)
	room := func(extra int) bool { return used+extra <= width }
	order := rankOrder(fields)
	shortest := func(f progressField) string { return cmp.Or(f.short, f.text) }
	for _, i := range order {
		t := shortest(fields[i])
		if fields[i].rank > essentialRank || !room(len(sep)+len(t)) {
			break
		}
		texts[i] = t
		used += len(sep) + len(t)
	}
	for _, i := range order {
		f := fields[i]
		switch {
		case texts[i] != "" && texts[i] != f.text && room(len(f.text)-len(texts[i])):
			used += len(f.text) - len(texts[i])
			texts[i] = f.text
		case texts[i] == "" && room(len(sep)+len(f.text)):
			texts[i] = f.text
			used += len(sep) + len(f.text)
		case texts[i] == "" && room(len(sep)+len(shortest(f))):
			texts[i] = shortest(f)
			used += len(sep) + len(texts[i])
		}
	}
	var kept []string
	for _, t := range texts {
		if t != "" {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 && len(fields) > 0 {
		t := shortest(fields[0])
		return t[:min(width, len(t))]
	}
	return strings.Join(kept, sep)
}

// essentialRank is the rank of the last field that the progress line
// shows, in its short form, before it spends room on the long form of
// another: done/total, why the run waits, the ETA, the cost so far and the
// budget left.
const essentialRank = 4

// rankOrder returns the indexes of fields, most important first.
func rankOrder(fields []progressField) []int {
	idx := make([]int, len(fields))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(fields[a].rank, fields[b].rank) })
	return idx
}

// money writes an amount short: cents from a dollar up, four decimals
// below ("$0.0123"), so that a cheap run's cost does not read $0.00.
func money(a cost.Amount) string {
	if a >= cost.Dollar {
		return fmt.Sprintf("$%.2f", a.Dollars())
	}
	return fmt.Sprintf("$%.4f", a.Dollars())
}
