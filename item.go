package batchllm

import (
	"strings"
	"time"
)

// Item is one unit of work: one input to send, by one strategy, with an
// optional context value that comes back on its result.
type Item[In, Out, C any] struct {
	// ID identifies the item in results, events and journals. It must not
	// be empty or only white space, and must be unique within a processor.
	ID string
	// Input is passed to the strategy in every [Request].
	Input In
	// Strategy makes the calls; nil means the processor's default strategy.
	Strategy Strategy[In, Out]
	// Context is not sent anywhere; it is handed back on the item's result.
	Context C
}

// Result is the outcome of one item.
type Result[Out, C any] struct {
	ItemID string
	// Output is the strategy's output; the zero value if Err is not nil.
	Output Out
	// Err is nil on success, and otherwise an [*ItemError] that gives the
	// class, the number of attempts and the cause.
	Err error
	// Recovered is the error that [Config.Fallback] replaced, if it did.
	Recovered error
	// Context is the item's Context.
	Context C
	// Usage is the sum of all attempts, failed ones included.
	Usage Usage
	// Attempts is the number of attempts made, rate-limited ones included.
	Attempts int
	// Elapsed is the time from the item's first admission request to its
	// result.
	Elapsed time.Duration
	// Model is the model that answered the last attempt, as the provider
	// named it, or else the model the estimate named; empty if unknown.
	Model string
	// FinishReason and RawFinishReason are those of the last attempt's
	// answer (see [Response.FinishReason]); empty if there was none.
	FinishReason    FinishReason
	RawFinishReason string
}

// OK reports whether the item succeeded.
func (r Result[Out, C]) OK() bool { return r.Err == nil }

// Class returns the class of the item's error, or [ClassNone].
func (r Result[Out, C]) Class() ErrorClass {
	if ie, ok := r.Err.(*ItemError); ok {
		return ie.Class
	}
	if r.Err != nil {
		return ClassFatalItem
	}
	return ClassNone
}

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

// Stats is a snapshot of a run's counters.
type Stats struct {
	Added     int64 // items accepted by Add
	Finished  int64 // items with a result
	Succeeded int64
	Failed    int64
	// Attempts counts every attempt started; Retries those after the first
	// of their item (rate-limited retries included).
	Attempts int64
	Retries  int64
	// RateLimited counts attempts refused by a rate limit.
	RateLimited int64
	// InFlight is the number of attempts running now.
	InFlight int64
	// FailedByClass counts failed items by the class of their error.
	FailedByClass map[ErrorClass]int64
	// Usage sums the usage of every finished item, failed attempts included.
	Usage Usage
	// EventsDropped counts events not delivered to a slow observer.
	EventsDropped int64
	// Elapsed is the time since the run started, or its length once it ended.
	Elapsed time.Duration
}

// SuccessRate is Succeeded / Finished, or 0 before any item finished.
func (s Stats) SuccessRate() float64 {
	if s.Finished == 0 {
		return 0
	}
	return float64(s.Succeeded) / float64(s.Finished)
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

func validID(id string) bool { return strings.TrimSpace(id) != "" }
