package batchllm

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrorClass says what a failed attempt means for the item and the batch, and
// so what the processor does next.
type ErrorClass int

const (
	// ClassNone is the class of no error.
	ClassNone ErrorClass = iota
	// ClassTransient: a 5xx, a connection reset, a timeout. Retried with
	// exponential backoff and jitter.
	ClassTransient
	// ClassRateLimited: the provider refused the request because a rate limit
	// was reached (HTTP 429). The admission gate starts a cooldown for every
	// worker; the retry does not consume an attempt but counts against
	// [RetryPolicy.MaxRateLimitRetries].
	ClassRateLimited
	// ClassOverloaded: the provider is overloaded (Anthropic 529, 503).
	// Retried with backoff, per item; other workers are not paused.
	ClassOverloaded
	// ClassInvalidOutput: the answer arrived but did not validate. Retried at
	// once, without backoff.
	ClassInvalidOutput
	// ClassFatalItem: this item cannot succeed (a bad request, a context that
	// is too long, a panic). Not retried; the batch goes on.
	ClassFatalItem
	// ClassFatalBatch: no item can succeed (a bad API key, an exhausted
	// quota). The batch stops: items not yet finished end at once with an
	// error that names the cause.
	ClassFatalBatch
	// ClassTruncated: the answer arrived but is incomplete: it was cut off
	// by the output limit or the context window, withheld by a content
	// filter, or empty (see [FinishReason]). Not retried as is, since the
	// same request gives the same answer; the item fails unless a strategy
	// changes the request (for example a larger output limit).
	ClassTruncated
)

var classNames = [...]string{"none", "transient", "rate_limited", "overloaded", "invalid_output", "fatal_item", "fatal_batch", "truncated"}

// String returns the class's snake_case name, as used in events, metrics and
// the CLI's output.
func (c ErrorClass) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return fmt.Sprintf("ErrorClass(%d)", int(c))
	}
	return classNames[c]
}

// ParseErrorClass is the inverse of [ErrorClass.String].
func ParseErrorClass(s string) (ErrorClass, error) {
	for i, n := range classNames {
		if n == s {
			return ErrorClass(i), nil
		}
	}
	return 0, fmt.Errorf("batchllm: unknown error class %q", s)
}

// MarshalText implements encoding.TextMarshaler.
func (c ErrorClass) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *ErrorClass) UnmarshalText(b []byte) error {
	v, err := ParseErrorClass(string(b))
	*c = v
	return err
}

// Classification is a [Classifier]'s verdict on one error.
type Classification struct {
	Class ErrorClass
	// RetryAfter is how long the server asked the client to wait (Retry-After,
	// retry-after-ms, a rate-limit reset header, Gemini's RetryInfo), or 0.
	RetryAfter time.Duration
	// Evidence says, for a rate limit, whether the shared quota or the
	// server's capacity refused the request.
	Evidence RateLimitEvidence
}

// A Classifier maps the error of a failed attempt to an [ErrorClass].
type Classifier interface {
	Classify(err error) Classification
}

// ClassifierFunc adapts a function to the [Classifier] interface.
type ClassifierFunc func(err error) Classification

// Classify calls f(err).
func (f ClassifierFunc) Classify(err error) Classification { return f(err) }

// ClassifiedError is an error that carries its own class. Provider strategies
// return their SDK's errors wrapped in one, so that the default classifier
// needs to know nothing about any provider.
type ClassifiedError struct {
	Class      ErrorClass
	RetryAfter time.Duration
	// Evidence says, for a rate limit, what the answer showed about its
	// cause (see [RateLimitEvidence]).
	Evidence RateLimitEvidence
	Err      error
}

// Classified wraps err so that [DefaultClassifier] puts it in class c, with
// the server's suggested wait retryAfter (0 if none). It returns nil if err is
// nil.
func Classified(err error, c ErrorClass, retryAfter time.Duration) error {
	if err == nil {
		return nil
	}
	return &ClassifiedError{Class: c, RetryAfter: retryAfter, Err: err}
}

func (e *ClassifiedError) Error() string { return e.Err.Error() }
func (e *ClassifiedError) Unwrap() error { return e.Err }

// DefaultClassifier is the classifier a processor uses unless told otherwise:
//
//   - an error that wraps a [*ClassifiedError] has that error's class;
//   - a [*TimeoutError] of an attempt, context.DeadlineExceeded, a net.Error
//     (connection refused, reset, timeout) and any other error are transient;
//   - a [*PanicError] is fatal for the item.
//
// Unknown errors are transient, so a strategy that returns a plain error is
// retried up to [RetryPolicy.MaxAttempts] times.
var DefaultClassifier Classifier = ClassifierFunc(defaultClassify)

func defaultClassify(err error) Classification {
	if ce, ok := errors.AsType[*ClassifiedError](err); ok {
		return Classification{Class: ce.Class, RetryAfter: ce.RetryAfter, Evidence: ce.Evidence}
	}
	if _, ok := errors.AsType[*PanicError](err); ok {
		return Classification{Class: ClassFatalItem}
	}
	if _, ok := errors.AsType[*SkipError](err); ok {
		return Classification{Class: ClassFatalItem}
	}
	// Timeouts, network errors and anything unknown: worth another try.
	return Classification{Class: ClassTransient}
}

// ItemError is the error of a failed [Result]: it says why the item failed,
// after how many attempts, and wraps the last attempt's error.
type ItemError struct {
	ItemID   string
	Class    ErrorClass
	Attempts int
	Err      error
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("item %q failed after %d attempt(s) (%s): %v", e.ItemID, e.Attempts, e.Class, e.Err)
}

func (e *ItemError) Unwrap() error { return e.Err }

// Deadline scopes of a [TimeoutError].
const (
	ScopeAttempt = "attempt"
	ScopeItem    = "item"
)

// TimeoutError reports that an attempt or a whole item ran out of time.
// An attempt's timeout is transient and retried; an item's ends the item.
type TimeoutError struct {
	Scope   string // ScopeAttempt or ScopeItem
	ItemID  string
	Attempt int
	Elapsed time.Duration
	Limit   time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s timeout: item %q attempt %d ran %v (limit %v)", e.Scope, e.ItemID, e.Attempt, e.Elapsed.Round(time.Millisecond), e.Limit)
}

// Is makes errors.Is(err, context.DeadlineExceeded) true for a TimeoutError.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// PanicError is the error of an attempt, middleware or hook that panicked.
// The panic is recovered; the item fails and the batch goes on.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// SkipError is returned by a middleware that decides an item must not be
// sent. The item ends at once, failed, with this error; it is not retried.
type SkipError struct{ Reason string }

// Skip returns a [*SkipError] with the given reason, for middleware that skips
// items.
func Skip(reason string) error { return &SkipError{Reason: reason} }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// Sentinel errors.
var (
	// ErrClosed is returned by Add after Finish or Close, and by Run and
	// Results on a processor that already ran.
	ErrClosed = errors.New("batchllm: processor closed")
	// ErrBatchAborted is wrapped by the error of every item that ended
	// because an error of class [ClassFatalBatch] stopped the batch.
	ErrBatchAborted = errors.New("batchllm: batch aborted")
	// ErrRateLimitRetriesExhausted is wrapped by the error of an item that
	// was rate limited more than [RetryPolicy.MaxRateLimitRetries] times.
	ErrRateLimitRetriesExhausted = errors.New("batchllm: rate-limit retries exhausted")
)
