package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/journal"
)

// Result is what a report reads of an item's result record. Its fields and
// JSON names are those of the CLI's output lines and of [journal.Outcome],
// so either decodes into it; fields an older journal lacks stay zero.
type Result struct {
	OK    bool         `json:"ok"`
	Error *ResultError `json:"error,omitempty"`
	// Usage is the item's usage, all its attempts included.
	Usage        batchllm.Usage `json:"usage"`
	Attempts     int            `json:"attempts"`
	LatencyMS    int64          `json:"latency_ms"`
	Model        string         `json:"model,omitempty"`
	FinishReason string         `json:"finish_reason,omitempty"`
	// CostUSD is the item's cost; when nil the report prices Usage itself.
	CostUSD *float64 `json:"cost_usd,omitempty"`
}

// ResultError is a failed item's error.
type ResultError struct {
	Class   string `json:"class"`
	Message string `json:"message"`
}

// Options configure a [Builder].
type Options struct {
	// Title heads the page; default "batchllm run".
	Title string
	// Source names where the records come from (the journal's path).
	Source string
	// Price returns the cost in US dollars of usage u of model, and false
	// if the model is not priced. It prices results that carry no cost of
	// their own; nil means the built-in table (cost.Default).
	Price func(model string, u batchllm.Usage) (float64, bool)
}

// Builder gathers the records of a run into the page's [Data]. Feed it
// records in the order they were written, with [Builder.Add] (as read from
// a journal) or the typed methods (from a running batch). Its methods are
// safe for concurrent use, so a live view can read it while workers feed it.
//
// Its memory is bounded by the run's shape, not its length, except for one
// small entry per distinct item (about 60 bytes), which lets an item's
// later result replace its earlier one in the counts.
type Builder struct {
	mu   sync.Mutex
	opts Options

	series                  *series
	itemLatency, callLatncy latencyHist
	seed                    maphash.Seed
	itemIndex               map[uint64]int32
	items                   []itemState
	failures                failureGroups
	attemptsPerItem         map[int]int64
	failedItemsByClass      map[string]int64
	failedAttemptsByClass   map[string]int64
	finish                  map[string]int64
	callFinish              map[string]int64
	intern                  map[string]string

	totals      Totals
	costUSD     float64
	unpriced    int64
	runs        []Run
	model       string // the last run's --model, for pricing results without one
	limits      map[string]journal.Limits
	cooldowns   []Cooldown
	first, last time.Time
	hasAttempts bool
	otherKinds  map[journal.Kind]int64
}

// itemState is what an item's last result contributed to the counts, so
// that a later result can take it back.
type itemState struct {
	ok        bool
	attempts  int32
	latencyMS int64
	class     string
	group     string // failure group key
	finish    string
}

// maxCooldowns is how many of the latest cooldowns the page lists.
const maxCooldowns = 200

// NewBuilder returns an empty Builder.
func NewBuilder(opts Options) *Builder {
	if opts.Title == "" {
		opts.Title = "batchllm run"
	}
	if opts.Price == nil {
		table := cost.Default()
		opts.Price = func(model string, u batchllm.Usage) (float64, bool) {
			a, err := table.Cost(model, u, false)
			return a.Dollars(), err == nil
		}
	}
	return &Builder{
		opts:                  opts,
		series:                newSeries(),
		seed:                  maphash.MakeSeed(),
		itemIndex:             map[uint64]int32{},
		attemptsPerItem:       map[int]int64{},
		failedItemsByClass:    map[string]int64{},
		failedAttemptsByClass: map[string]int64{},
		finish:                map[string]int64{},
		callFinish:            map[string]int64{},
		intern:                map[string]string{},
		limits:                map[string]journal.Limits{},
		otherKinds:            map[journal.Kind]int64{},
	}
}

// Add takes one journal record: a result, an attempt or a run event.
// Other kinds (claims, provider-batch submissions) are only counted.
func (b *Builder) Add(rec journal.Record[json.RawMessage]) error {
	switch rec.Kind {
	case journal.KindResult:
		var r Result
		if err := json.Unmarshal(rec.Value, &r); err != nil {
			return fmt.Errorf("result of %q: %w", rec.ID, err)
		}
		b.Result(rec.ID, rec.Time, r)
	case journal.KindAttempt:
		var a journal.Attempt
		if err := json.Unmarshal(rec.Value, &a); err != nil {
			return fmt.Errorf("attempt of %q: %w", rec.ID, err)
		}
		b.Attempt(rec.ID, rec.Time, a)
	case journal.KindRun:
		var e journal.RunEvent
		if err := json.Unmarshal(rec.Value, &e); err != nil {
			return fmt.Errorf("run record %q: %w", rec.ID, err)
		}
		b.Run(rec.ID, rec.Time, e)
	default:
		b.mu.Lock()
		b.otherKinds[rec.Kind]++
		b.seen(rec.Time)
		b.mu.Unlock()
	}
	return nil
}

// seen widens [first, last]. The caller holds mu.
func (b *Builder) seen(t time.Time) {
	if t.IsZero() {
		return
	}
	if b.first.IsZero() || t.Before(b.first) {
		b.first = t
	}
	if t.After(b.last) {
		b.last = t
	}
}

func (b *Builder) str(s string) string {
	if v, ok := b.intern[s]; ok {
		return v
	}
	b.intern[s] = s
	return s
}

// Attempt takes one attempt of item id that ended at end.
func (b *Builder) Attempt(id string, end time.Time, a journal.Attempt) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seen(end)
	b.hasAttempts = true
	b.totals.Attempts++
	b.series.add(end, colAttempts, 1)
	if a.Class != "" {
		b.totals.FailedAttempts++
		b.failedAttemptsByClass[b.str(a.Class)]++
		b.series.add(end, colAttemptsFailed, 1)
	}
	if a.FinishReason != "" {
		b.callFinish[b.str(a.FinishReason)]++
	}
	if a.Class == batchllm.ClassRateLimited.String() {
		b.totals.RateLimited++
		b.series.add(end, colRateLimited, 1)
	} else {
		b.callLatncy.add(a.DurationMS)
	}
}

// Result takes the result of item id, recorded at t.
func (b *Builder) Result(id string, t time.Time, r Result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seen(t)
	b.totals.Results++
	if r.OK {
		b.series.add(t, colResultsOK, 1)
	} else {
		b.series.add(t, colResultsFailed, 1)
	}
	u := r.Usage
	b.totals.Usage = b.totals.Usage.Add(u)
	b.series.add(t, colInputTokens, float64(u.InputTokens))
	b.series.add(t, colCachedTokens, float64(u.CachedInputTokens))
	b.series.add(t, colOutputTokens, float64(u.OutputTokens))
	if c, ok := b.resultCost(r); ok {
		b.costUSD += c
		b.series.add(t, colCostUSD, c)
	} else {
		b.unpriced++
	}

	h := maphash.String(b.seed, id)
	if i, ok := b.itemIndex[h]; ok {
		b.forget(id, b.items[i])
		b.items[i] = b.count(id, r)
		return
	}
	b.itemIndex[h] = int32(len(b.items))
	b.items = append(b.items, b.count(id, r))
}

func (b *Builder) resultCost(r Result) (float64, bool) {
	if r.CostUSD != nil {
		return *r.CostUSD, true
	}
	if r.Usage.IsZero() {
		return 0, true
	}
	model := cmp.Or(r.Model, b.model)
	if model == "" {
		return 0, false
	}
	return b.opts.Price(model, r.Usage)
}

// count adds an item's last result to the per-item counts and returns what
// it added.
func (b *Builder) count(id string, r Result) itemState {
	s := itemState{ok: r.OK, attempts: int32(r.Attempts), latencyMS: r.LatencyMS, finish: b.str(cmp.Or(r.FinishReason, "unknown"))}
	if r.OK {
		b.totals.OK++
	} else {
		b.totals.Failed++
		class, msg := "unknown", ""
		if r.Error != nil {
			class, msg = cmp.Or(r.Error.Class, class), r.Error.Message
		}
		s.class = b.str(class)
		b.failedItemsByClass[s.class]++
		s.group = b.failures.add(id, s.class, msg)
	}
	b.attemptsPerItem[int(s.attempts)]++
	b.finish[s.finish]++
	b.itemLatency.add(s.latencyMS)
	return s
}

// forget takes back what count added for an item's earlier result.
func (b *Builder) forget(id string, s itemState) {
	if s.ok {
		b.totals.OK--
	} else {
		b.totals.Failed--
		decr(b.failedItemsByClass, s.class)
		b.failures.remove(s.group, id)
	}
	decr(b.attemptsPerItem, int(s.attempts))
	decr(b.finish, s.finish)
	b.itemLatency.remove(s.latencyMS)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func decr[K comparable](m map[K]int64, k K) {
	if m[k]--; m[k] <= 0 {
		delete(m, k)
	}
}

// Run takes a run event recorded at t by the run named id.
func (b *Builder) Run(id string, t time.Time, e journal.RunEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seen(t)
	switch e.Event {
	case "start":
		b.runs = append(b.runs, Run{ID: id, Start: t, Items: e.Items, EstimateUSD: e.EstimateUSD, Config: e.Config})
		if m, ok := e.Config["model"].(string); ok {
			b.model = m
		}
	case "limits":
		if e.Limits != nil {
			b.limits[e.Scope] = *e.Limits
		}
		var rpm, tpm int64
		for _, l := range b.limits {
			rpm += l.RPM
			tpm += l.TPM
		}
		b.series.add(t, colRPMLimit, float64(rpm))
		b.series.add(t, colTPMLimit, float64(tpm))
	case "cooldown":
		d := time.Duration(e.CooldownMS) * time.Millisecond
		b.totals.Cooldowns++
		b.totals.CooldownS += d.Seconds()
		b.series.addSpan(t, d)
		b.cooldowns = append(b.cooldowns, Cooldown{Start: t, DurationMS: e.CooldownMS, Scope: e.Scope, Reason: e.Reason})
		if len(b.cooldowns) > 2*maxCooldowns {
			b.cooldowns = slices.Clone(b.cooldowns[len(b.cooldowns)-maxCooldowns:])
		}
	}
}

// Data returns a snapshot of what the builder has gathered.
func (b *Builder) Data() *Data {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := &Data{
		Title:                 b.opts.Title,
		Source:                b.opts.Source,
		Generated:             time.Now().UTC(),
		First:                 b.first,
		Last:                  b.last,
		Totals:                b.totals,
		ItemLatency:           b.itemLatency.summary(),
		CallLatency:           b.callLatncy.summary(),
		FailedAttemptsByClass: maps.Clone(b.failedAttemptsByClass),
		FailedItemsByClass:    maps.Clone(b.failedItemsByClass),
		FinishReasons:         maps.Clone(b.finish),
		CallFinishReasons:     maps.Clone(b.callFinish),
		Failures:              b.failures.list(),
		Runs:                  slices.Clone(b.runs),
		Limits:                maps.Clone(b.limits),
		HasAttempts:           b.hasAttempts,
	}
	d.Totals.Items = int64(len(b.items))
	d.Totals.CacheHitRate = b.totals.Usage.CacheHitRate()
	for _, n := range slices.Sorted(maps.Keys(b.attemptsPerItem)) {
		d.AttemptsPerItem = append(d.AttemptsPerItem, Count{N: n, Items: b.attemptsPerItem[n]})
	}
	d.Cooldowns = slices.Clone(b.cooldowns[max(len(b.cooldowns)-maxCooldowns, 0):])
	d.Cost = Cost{ActualUSD: b.costUSD, Unpriced: b.unpriced}
	if n := len(b.runs); n > 0 {
		last := b.runs[n-1]
		d.Cost.EstimateUSD = last.EstimateUSD
		d.Progress.Total = last.Items
	}
	d.Progress.Done = d.Totals.Items
	d.Series, d.Progress.RatePerS = b.seriesData(d.Progress.Total)
	if left := d.Progress.Total - d.Progress.Done; left >= 0 && d.Progress.Total > 0 && d.Progress.RatePerS > 0 {
		eta := float64(left) / d.Progress.RatePerS
		d.Progress.ETAS = &eta
	}
	if d.Totals.Items > 0 && d.Progress.Total > 0 && d.Cost.Unpriced == 0 {
		p := b.costUSD / float64(d.Totals.Items) * float64(max(d.Progress.Total, d.Totals.Items))
		d.Cost.ProjectedUSD = &p
	}
	d.Notes = b.notes()
	// Empty lists as [] rather than null, for the page's script.
	d.AttemptsPerItem = nonNil(d.AttemptsPerItem)
	d.Cooldowns = nonNil(d.Cooldowns)
	d.Runs = nonNil(d.Runs)
	d.Notes = nonNil(d.Notes)
	return d
}

// seriesData copies the series and derives the projected cost per bucket
// and the recent result rate.
func (b *Builder) seriesData(total int64) (Series, float64) {
	s := b.series
	out := Series{Start: s.lo * s.step, Step: s.step, Columns: map[string][]float64{}}
	for c := range numColumns {
		col := append([]float64{}, s.cols[c]...) // [] rather than null when empty
		if c.isLevel() {                         // a limit stays in force until the next change
			for i := 1; i < len(col); i++ {
				if col[i] == 0 {
					col[i] = col[i-1]
				}
			}
		}
		out.Columns[columnNames[c]] = col
	}
	n := s.len()
	out.ProjectedCostUSD = make([]*float64, n)
	var cumCost, cumResults float64
	for i := range n {
		cumCost += s.cols[colCostUSD][i]
		cumResults += s.cols[colResultsOK][i] + s.cols[colResultsFailed][i]
		if total > 0 && cumResults > 0 && b.unpriced == 0 {
			p := cumCost / cumResults * float64(total)
			out.ProjectedCostUSD[i] = &p
		}
	}
	// The rate over the last minute of buckets (at least one bucket).
	var results float64
	k := 0
	for i := n - 1; i >= 0 && (k == 0 || int64(k)*s.step < 60); i-- {
		results += s.cols[colResultsOK][i] + s.cols[colResultsFailed][i]
		k++
	}
	rate := 0.0
	if k > 0 {
		rate = results / float64(int64(k)*s.step)
	}
	return out, rate
}

// notes says what the page cannot show, and why.
func (b *Builder) notes() []string {
	var notes []string
	if !b.hasAttempts && b.totals.Results > 0 {
		notes = append(notes, "This journal has no attempt records (it was written by an older batchllm, or compacted): throughput, 429s, call latency and failed attempts by class are not shown.")
	}
	if len(b.runs) == 0 && b.totals.Results > 0 {
		notes = append(notes, "This journal has no run record: the configuration, the number of items to do and the projected cost are unknown.")
	}
	if b.unpriced > 0 {
		notes = append(notes, fmt.Sprintf("%d result(s) could not be priced (model unknown to the price table): the cost shown leaves them out.", b.unpriced))
	}
	for _, k := range slices.Sorted(maps.Keys(b.otherKinds)) {
		notes = append(notes, fmt.Sprintf("%d %s record(s) are not shown.", b.otherKinds[k], k))
	}
	return notes
}
