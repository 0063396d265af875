package batchllm

import (
	"encoding/json"
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
	// Raw is the last attempt's response body (see [Response.Raw]); nil
	// if there was none.
	Raw json.RawMessage
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

func validID(id string) bool { return strings.TrimSpace(id) != "" }
