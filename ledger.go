package batchllm

import (
	"maps"
	"sync"
)

// A Ledger totals finished items: how many succeeded, how many of those a
// fallback recovered, how many failed and with which class, their tokens,
// and, given a [Pricer], their cost, each also by the model that answered.
// It is the one place batchllm adds these up: [Processor.Stats], [Metrics],
// package promobserve and the batchllm command's summary all read a Ledger,
// so their numbers agree.
//
// A Ledger is fed either entries ([Ledger.Add], say with [Result.Entry]) or
// events (it is an [Observer] of the item events). The zero value is ready
// to use and prices nothing; its methods are safe for concurrent use.
type Ledger struct {
	price Pricer

	mu     sync.Mutex
	totals Totals
}

// A Pricer returns what usage u of model costs, in picodollars (10⁻¹² US
// dollars, the unit of cost.Amount), or an error if model has no price.
// (*cost.Table).Pricer returns one.
type Pricer func(model string, u Usage) (int64, error)

// NewLedger returns an empty ledger that prices usage with price, which may
// be nil for no cost.
func NewLedger(price Pricer) *Ledger { return &Ledger{price: price} }

// LedgerEntry is one finished item as a [Ledger] counts it.
type LedgerEntry struct {
	// Model is the model that answered (see [Result.Model]); "" if unknown.
	Model string
	// Usage is what all of the item's attempts used.
	Usage Usage
	// Class is the class of the item's error, [ClassNone] for a success.
	Class ErrorClass
	// Recovered marks a success that a fallback made of a failure.
	Recovered bool
	// Resumed marks a result taken from a journal: it counts among the
	// outcomes, but its tokens and cost were spent by an earlier run and
	// are not added again.
	Resumed bool
}

// Totals are what a [Ledger] has counted.
type Totals struct {
	// Finished = Succeeded + Failed.
	Finished  int64
	Succeeded int64
	// Recovered counts the successes a fallback made of failures; they are
	// included in Succeeded.
	Recovered int64
	Failed    int64
	// Resumed counts the results taken from a journal, whatever their
	// outcome; they are included in Finished.
	Resumed int64
	// FailedByClass counts the failed items by the class of their error.
	FailedByClass map[ErrorClass]int64
	// Usage sums the usage of every finished item that is not resumed,
	// failed attempts included.
	Usage Usage
	// Cost is the cost of Usage in picodollars (see [Pricer]): 0 without
	// a Pricer. Unpriced counts the items with usage whose model has no
	// price, and whose cost is therefore missing from Cost.
	Cost     int64
	Unpriced int64
	// ByModel splits Usage, Cost and Unpriced by the model that answered.
	ByModel map[string]ModelTotals
}

// ModelTotals are the part of a ledger's [Totals] of one model.
type ModelTotals struct {
	// Items counts the finished items this model answered, resumed ones
	// excluded.
	Items    int64
	Usage    Usage
	Cost     int64
	Unpriced int64
}

// SuccessRate is Succeeded / Finished, or 0 before any item finished.
func (t Totals) SuccessRate() float64 {
	if t.Finished == 0 {
		return 0
	}
	return float64(t.Succeeded) / float64(t.Finished)
}

// clone returns a copy of t that shares no map with it.
func (t Totals) clone() Totals {
	t.FailedByClass = maps.Clone(t.FailedByClass)
	t.ByModel = maps.Clone(t.ByModel)
	if t.FailedByClass == nil {
		t.FailedByClass = map[ErrorClass]int64{}
	}
	if t.ByModel == nil {
		t.ByModel = map[string]ModelTotals{}
	}
	return t
}

// Add counts one finished item.
func (l *Ledger) Add(e LedgerEntry) {
	var cost int64
	priced := true
	if !e.Resumed && !e.Usage.IsZero() && l.price != nil {
		// Usage of zero costs nothing, whatever the model: an item that
		// never reached the provider is not "unpriced".
		c, err := l.price(e.Model, e.Usage)
		cost, priced = c, err == nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t := &l.totals
	t.Finished++
	switch {
	case e.Class == ClassNone:
		t.Succeeded++
		if e.Recovered {
			t.Recovered++
		}
	default:
		t.Failed++
		if t.FailedByClass == nil {
			t.FailedByClass = make(map[ErrorClass]int64)
		}
		t.FailedByClass[e.Class]++
	}
	if e.Resumed {
		t.Resumed++
		return
	}
	if t.ByModel == nil {
		t.ByModel = make(map[string]ModelTotals)
	}
	m := t.ByModel[e.Model]
	m.Items++
	m.Usage = m.Usage.Add(e.Usage)
	t.Usage = t.Usage.Add(e.Usage)
	if l.price != nil {
		if priced {
			m.Cost += cost
			t.Cost += cost
		} else {
			m.Unpriced++
			t.Unpriced++
		}
	}
	t.ByModel[e.Model] = m
}

// OnEvent implements [Observer]: it adds the item of each
// [EventItemCompleted], [EventItemRecovered] and [EventItemFailed], and
// ignores the other events. A ledger fed by events misses the items whose
// events were dropped (see [Stats.EventsDropped]); [Processor.Stats] is
// exact.
func (l *Ledger) OnEvent(e Event) {
	switch e.Kind {
	case EventItemCompleted:
		l.Add(LedgerEntry{Model: e.Model, Usage: e.Usage})
	case EventItemRecovered:
		l.Add(LedgerEntry{Model: e.Model, Usage: e.Usage, Recovered: true})
	case EventItemFailed:
		l.Add(LedgerEntry{Model: e.Model, Usage: e.Usage, Class: e.Class})
	}
}

// Totals returns what the ledger has counted so far.
func (l *Ledger) Totals() Totals {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.totals.clone()
}

// Reset empties the ledger; its Pricer is kept.
func (l *Ledger) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.totals = Totals{}
}

// Entry returns the result as a [Ledger] counts it.
func (r Result[Out, C]) Entry() LedgerEntry {
	return LedgerEntry{Model: r.Model, Usage: r.Usage, Class: r.Class(), Recovered: r.Recovered != nil}
}
