package batchllm

import (
	"fmt"
	"time"
)

// EventKind says what an [Event] reports.
type EventKind int

const (
	// EventBatchStarted: a run began. Workers is the number of workers.
	EventBatchStarted EventKind = iota + 1
	// EventBatchCompleted: a run ended. Duration is the run's wall time; Usage
	// its total; Err the run's error, if any.
	EventBatchCompleted
	// EventWorkerStarted and EventWorkerStopped bracket each worker's life.
	EventWorkerStarted
	EventWorkerStopped
	// EventAttemptStarted: an attempt was admitted and its call begins.
	// Duration is the time the attempt waited for admission. Every started
	// attempt ends with exactly one EventAttemptFailed or EventItemCompleted,
	// so attempts in flight = started − failed − completed.
	EventAttemptStarted
	// EventAttemptFailed: an attempt failed; Class says how, Err why, and
	// Duration how long it ran. Whether it is retried shows in later events.
	EventAttemptFailed
	// EventItemCompleted: an item succeeded. Duration is the item's time from
	// its first admission request to its result; Usage all of its attempts.
	EventItemCompleted
	// EventItemFailed: an item failed for good, whatever the reason: retries
	// exhausted, a fatal error, a deadline, a skip, an aborted batch. Usage
	// is all of its attempts. An item whose failure Config.Fallback replaced
	// with a success ends with EventItemRecovered instead.
	EventItemFailed
	// EventRateLimited: an attempt was refused by a rate limit (HTTP 429).
	EventRateLimited
	// EventCooldownStarted: the gate stopped admitting attempts for Duration;
	// Reason says which signal chose the length.
	EventCooldownStarted
	// EventCooldownEnded: admission resumed; Duration is the cooldown's length.
	EventCooldownEnded
	// EventItemRecovered: an item failed for good and Config.Fallback
	// replaced the failure with a success. Class and Err are those of the
	// failure it replaced; Duration and Usage as for EventItemCompleted.
	EventItemRecovered
)

var eventNames = [...]string{"", "batch_started", "batch_completed", "worker_started", "worker_stopped",
	"attempt_started", "attempt_failed", "item_completed", "item_failed", "rate_limited", "cooldown_started", "cooldown_ended", "item_recovered"}

func (k EventKind) String() string {
	if k <= 0 || int(k) >= len(eventNames) {
		return fmt.Sprintf("EventKind(%d)", int(k))
	}
	return eventNames[k]
}

// Event is something that happened during a run, for observers. Fields that
// do not apply to a kind are zero.
type Event struct {
	Kind     EventKind
	Time     time.Time
	WorkerID int // 0-based: the worker the event happened on
	// Workers is the number of workers, for EventBatchStarted.
	Workers int
	ItemID  string
	Attempt int
	// Model is the model of the attempt: the one that answered if known,
	// else the strategy's estimate (see [Estimator]).
	Model string
	// Scope is the quota scope of the attempt or of the cooldown (see
	// [Estimate]); empty for the default scope.
	Scope    string
	Class    ErrorClass
	Err      error
	Duration time.Duration
	Usage    Usage
	Reason   string
}

// An Observer receives the events of a run.
//
// Delivery is asynchronous, so a slow observer never stalls the workers:
// each observer has its own queue of [Config.ObserverBuffer] events and its
// own goroutine, and sees events in the order they were emitted. If an
// observer falls so far behind that its queue is full, further events for it
// are dropped (and counted in [Stats.EventsDropped]) until it catches up.
// Every event emitted during a run has been delivered or dropped by the time
// Run returns or the Results iteration ends: the end of a run waits at most
// [Config.DrainTimeout] for the observers to take what is queued for them,
// then drops the rest of a stuck observer's events and counts them. A
// panicking observer is recovered, logged, and keeps receiving events.
type Observer interface {
	OnEvent(Event)
}

// ObserverFunc adapts a function to the [Observer] interface.
type ObserverFunc func(Event)

// OnEvent calls f(e).
func (f ObserverFunc) OnEvent(e Event) { f(e) }
