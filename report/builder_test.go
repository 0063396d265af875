package report

import (
	"maps"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/journal"
)

func fromJournal(t *testing.T, path string, opts Options) *Data {
	t.Helper()
	b := NewBuilder(opts)
	if err := b.FromJournal(path); err != nil {
		t.Fatalf("FromJournal(%s): %v", path, err)
	}
	return b.Data()
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// The fixture is two runs of five items: a and b succeed (b after a 429 and
// a 2 s cooldown), c fails twice with a transient error and succeeds in the
// second run, d and e fail with the same error but different numbers.
func TestFixtureCounts(t *testing.T) {
	d := fromJournal(t, "testdata/run.journal", Options{})
	tot := d.Totals
	if tot.Items != 5 || tot.OK != 3 || tot.Failed != 2 || tot.Results != 6 {
		t.Errorf("items/ok/failed/results = %d/%d/%d/%d, want 5/3/2/6 (c's failure superseded by its success)", tot.Items, tot.OK, tot.Failed, tot.Results)
	}
	if tot.Attempts != 8 || tot.FailedAttempts != 5 || tot.RateLimited != 1 {
		t.Errorf("attempts/failed/429 = %d/%d/%d, want 8/5/1", tot.Attempts, tot.FailedAttempts, tot.RateLimited)
	}
	if tot.Cooldowns != 1 || tot.CooldownS != 2 {
		t.Errorf("cooldowns = %d, %vs; want 1, 2s", tot.Cooldowns, tot.CooldownS)
	}
	if u := tot.Usage; u.InputTokens != 350 || u.CachedInputTokens != 100 || u.OutputTokens != 35 {
		t.Errorf("usage = %+v, want 350 in (100 cached), 35 out", u)
	}
	if !near(tot.CacheHitRate, 100.0/350) {
		t.Errorf("cache hit rate = %v, want %v", tot.CacheHitRate, 100.0/350)
	}
	if want := map[string]int64{"rate_limited": 1, "transient": 2, "fatal_item": 2}; !maps.Equal(d.FailedAttemptsByClass, want) {
		t.Errorf("failed attempts by class = %v, want %v", d.FailedAttemptsByClass, want)
	}
	if want := map[string]int64{"fatal_item": 2}; !maps.Equal(d.FailedItemsByClass, want) {
		t.Errorf("failed items by class = %v, want %v", d.FailedItemsByClass, want)
	}
	if want := map[string]int64{"stop": 3, "unknown": 2}; !maps.Equal(d.FinishReasons, want) {
		t.Errorf("finish reasons = %v, want %v", d.FinishReasons, want)
	}
	if want := []Count{{N: 1, Items: 5}}; !reflect.DeepEqual(d.AttemptsPerItem, want) {
		t.Errorf("attempts per item = %v, want %v (c's last result took one attempt)", d.AttemptsPerItem, want)
	}
	if !d.HasAttempts || len(d.Runs) != 2 || d.Runs[1].Config["retry-failed"] != true {
		t.Errorf("has attempts %v, runs %+v", d.HasAttempts, d.Runs)
	}
	if l := d.Limits[""]; l.RPM != 60 || l.RPMSource != "told" {
		t.Errorf("limits = %+v, want 60 rpm told", d.Limits)
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "1 claimed record") {
		t.Errorf("notes = %q, want one about the claim", d.Notes)
	}
}

func TestFixtureFailureGroups(t *testing.T) {
	d := fromJournal(t, "testdata/run.journal", Options{})
	want := []FailureGroup{{
		Class: "fatal_item", Pattern: "context length … exceeds …", Message: "context length 9120 exceeds 8192",
		Count: 2, Examples: []string{"d", "e"},
	}}
	if !reflect.DeepEqual(d.Failures, want) {
		t.Errorf("failures = %+v\nwant %+v (c's transient failure was superseded)", d.Failures, want)
	}
}

func TestFixtureCost(t *testing.T) {
	d := fromJournal(t, "testdata/run.journal", Options{})
	if !near(d.Cost.ActualUSD, 0.0035) || d.Cost.Unpriced != 0 {
		t.Errorf("cost = %v (%d unpriced), want 0.0035", d.Cost.ActualUSD, d.Cost.Unpriced)
	}
	if d.Cost.ProjectedUSD == nil || !near(*d.Cost.ProjectedUSD, 0.0035) {
		t.Errorf("projected = %v, want 0.0035: all 5 items are done", d.Cost.ProjectedUSD)
	}
	if d.Cost.EstimateUSD != nil {
		t.Errorf("estimate = %v, want nil: the last run recorded none", *d.Cost.EstimateUSD)
	}
	var sum float64
	for _, v := range d.Series.Columns["cost_usd"] {
		sum += v
	}
	if !near(sum, 0.0035) {
		t.Errorf("cost series adds up to %v, want 0.0035", sum)
	}
	if p := d.Progress; p.Total != 5 || p.Done != 5 {
		t.Errorf("progress = %+v, want 5 of 5", p)
	}
}

func TestFixtureLatency(t *testing.T) {
	d := fromJournal(t, "testdata/run.journal", Options{})
	// Items' last results: 40, 45, 130, 210, 3400 ms.
	il := d.ItemLatency
	if il.Count != 5 || il.P50 != 130 || il.P90 != 3400 || il.Max != 3400 || !near(il.MeanMS, 765) {
		t.Errorf("item latency = %+v, want 5 values, p50 130, p90 3400, max 3400, mean 765", il)
	}
	// Calls, the 429 excluded: 30, 35, 120, 200, 300, 1000, 1100 ms.
	cl := d.CallLatency
	if cl.Count != 7 || cl.P50 != 200 || cl.Max != 1100 {
		t.Errorf("call latency = %+v, want 7 calls, p50 200, max 1100", cl)
	}
	var n int64
	for _, b := range il.Histogram {
		n += b.Count
	}
	if n != 5 {
		t.Errorf("item histogram holds %d values, want 5: %+v", n, il.Histogram)
	}
}

func TestFixtureSeries(t *testing.T) {
	d := fromJournal(t, "testdata/run.journal", Options{})
	s := d.Series
	// 04:00:00 to 04:10:00 is 601 one-second buckets: within maxBuckets.
	if s.Step != 1 || s.Start != time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC).Unix() || len(s.Columns["attempts"]) != 601 {
		t.Fatalf("series step %d start %d len %d", s.Step, s.Start, len(s.Columns["attempts"]))
	}
	col := s.Columns
	sum := func(name string) (v float64) {
		for _, x := range col[name] {
			v += x
		}
		return v
	}
	if sum("attempts") != 8 || sum("rate_limited") != 1 || sum("results_ok") != 3 || sum("results_failed") != 3 {
		t.Errorf("series sums: attempts %v, 429 %v, ok %v, failed %v", sum("attempts"), sum("rate_limited"), sum("results_ok"), sum("results_failed"))
	}
	if col["rate_limited"][1] != 1 {
		t.Errorf("the 429 is not in the 04:00:01 bucket: %v", col["rate_limited"][:5])
	}
	if got := col["cooldown_s"][:4]; !reflect.DeepEqual(got, []float64{0, 1, 1, 0}) {
		t.Errorf("cooldown seconds per bucket = %v, want [0 1 1 0]", got)
	}
	if col["rpm_limit"][0] != 60 {
		t.Errorf("rpm limit at the start = %v, want 60", col["rpm_limit"][0])
	}
	if p := s.ProjectedCostUSD[1]; p == nil || !near(*p, 0.005) {
		t.Errorf("projected cost after the first result = %v, want 0.001×5", p)
	}
}

func TestOldJournalRendersWhatItHas(t *testing.T) {
	d := fromJournal(t, "testdata/old.journal", Options{})
	if d.Totals.Items != 3 || d.Totals.OK != 2 || d.Totals.Failed != 1 || d.HasAttempts {
		t.Errorf("totals = %+v, has attempts %v", d.Totals, d.HasAttempts)
	}
	if want := []Count{{1, 2}, {3, 1}}; !reflect.DeepEqual(d.AttemptsPerItem, want) {
		t.Errorf("attempts per item = %v, want %v", d.AttemptsPerItem, want)
	}
	// No model anywhere: the two results with tokens cannot be priced.
	if d.Cost.Unpriced != 2 || d.Cost.ProjectedUSD != nil {
		t.Errorf("cost = %+v, want 2 unpriced and no projection", d.Cost)
	}
	if len(d.Notes) != 3 {
		t.Errorf("notes = %q, want three: no attempts, no run, unpriced", d.Notes)
	}
	if d.ItemLatency.P50 != 500 || d.ItemLatency.Max != 1500 {
		t.Errorf("item latency = %+v", d.ItemLatency)
	}
}

func TestResultWithoutCostIsPricedByModel(t *testing.T) {
	var asked []string
	b := NewBuilder(Options{Price: func(model string, u batchllm.Usage) (float64, bool) {
		asked = append(asked, model)
		return float64(u.InputTokens) / 1000, model != "unpriced"
	}})
	t0 := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	b.Run("r", t0, journal.RunEvent{Event: "start", Items: 4, Config: map[string]any{"model": "run-model"}})
	b.Result("a", t0, Result{OK: true, Model: "m", Usage: batchllm.Usage{InputTokens: 2000}})
	b.Result("b", t0, Result{OK: true, Usage: batchllm.Usage{InputTokens: 1000}}) // priced with the run's model
	b.Result("c", t0, Result{OK: true, Model: "unpriced", Usage: batchllm.Usage{InputTokens: 1000}})
	d := b.Data()
	if !near(d.Cost.ActualUSD, 3) || d.Cost.Unpriced != 1 {
		t.Errorf("cost %v, %d unpriced; want 3, 1", d.Cost.ActualUSD, d.Cost.Unpriced)
	}
	if want := []string{"m", "run-model", "unpriced"}; !reflect.DeepEqual(asked, want) {
		t.Errorf("priced models %v, want %v", asked, want)
	}
	if d.Cost.ProjectedUSD != nil {
		t.Errorf("projected %v with an unpriced result; want none", *d.Cost.ProjectedUSD)
	}
}

func TestSeriesStaysBounded(t *testing.T) {
	s := newSeries()
	t0 := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	const n = 10_000
	for i := range n {
		s.add(t0.Add(time.Duration(i)*time.Second), colAttempts, 1)
	}
	s.add(t0.Add(-time.Hour), colAttempts, 1) // out of order, before the start
	if s.len() > maxBuckets {
		t.Errorf("series has %d buckets, more than %d", s.len(), maxBuckets)
	}
	var sum float64
	for _, v := range s.cols[colAttempts] {
		sum += v
	}
	if sum != n+1 {
		t.Errorf("series sums to %v after coarsening, want %d", sum, n+1)
	}
	if s.step != 32 {
		t.Errorf("step = %d, want 32: the smallest power of two that fits 13,600 s in %d buckets", s.step, maxBuckets)
	}
}

func TestLatencyQuantilesAboveASecondAreClose(t *testing.T) {
	var h latencyHist
	for v := int64(1); v <= 100_000; v++ {
		h.add(v)
	}
	for _, q := range []float64{.5, .9, .99} {
		want := int64(math.Ceil(q * 100_000))
		got := h.quantile(q)
		if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.002 {
			t.Errorf("quantile(%v) = %d, want %d within 0.2%%", q, got, want)
		}
	}
	if h.quantile(0.005) != 500 {
		t.Errorf("quantile(0.005) = %d, want exactly 500 below a second", h.quantile(0.005))
	}
}

func TestMessagePattern(t *testing.T) {
	for msg, want := range map[string]string{
		"context length 9120 exceeds 8192":                 "context length … exceeds …",
		`model "gpt-9" not found (request req_8f3a2b)`:     "model … not found (request …)",
		"upstream connect error or disconnect/reset 503":   "upstream connect error or disconnect/reset …",
		"invalid   whitespace\n  collapsed":                "invalid whitespace collapsed",
		"Post \"https://api.x/v1\": dial tcp: i/o timeout": "Post …: dial tcp: i/o timeout",
	} {
		if got := messagePattern(msg); got != want {
			t.Errorf("messagePattern(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestFailureGroupsAreCapped(t *testing.T) {
	var f failureGroups
	for i := range maxGroups + 10 {
		f.add(string(rune('a'+i%26)), "fatal_item", strings.Repeat("x", i%7+1)+" "+strings.Repeat("y", i/7+1))
	}
	if n := len(f.byKey); n != maxGroups {
		t.Errorf("%d groups, want %d (the rest in one \"other\" group)", n, maxGroups)
	}
}
