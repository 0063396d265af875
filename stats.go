package batchllm

import "time"

// Progress is what a [Config.Progress] callback receives.
type Progress struct {
	// Done is the number of finished items, successful or not.
	Done int64
	// Total is the number of items added so far; it is final once Final
	// is true or the producer has called Finish.
	Total int64
	// ItemID is the item that finished last.
	ItemID string
	// Final is true for the call at the end of the run.
	Final bool
}

// Stats is a snapshot of a run's counters. The outcomes, tokens and cost
// of the finished items are the [Totals] of the processor's [Ledger], and
// Config.Prices prices them.
type Stats struct {
	Added int64 // items accepted by Add
	Totals
	// Attempts counts every attempt started; Retries those after the first
	// of their item (rate-limited retries included).
	Attempts int64
	Retries  int64
	// RateLimited counts attempts refused by a rate limit.
	RateLimited int64
	// InFlight is the number of attempts running now.
	InFlight int64
	// EventsDropped counts events not delivered to a slow observer.
	EventsDropped int64
	// Elapsed is the time since the run started, or its length once it ended.
	Elapsed time.Duration
}

// Summary is what [Processor.Run] returns: every result, in completion order,
// and the final counters.
type Summary[Out, C any] struct {
	Results []Result[Out, C]
	Stats   Stats
}

// Failures returns the failed results, in completion order.
func (s *Summary[Out, C]) Failures() []Result[Out, C] {
	var f []Result[Out, C]
	for _, r := range s.Results {
		if !r.OK() {
			f = append(f, r)
		}
	}
	return f
}

// ByID returns the results keyed by item ID.
func (s *Summary[Out, C]) ByID() map[string]Result[Out, C] {
	m := make(map[string]Result[Out, C], len(s.Results))
	for _, r := range s.Results {
		m[r.ItemID] = r
	}
	return m
}
