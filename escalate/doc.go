// Package escalate wraps strategies to change how an item is asked when an
// attempt fails: [Models] moves to a stronger (dearer) model only after the
// cheaper one gave an answer that did not validate, and [Temperatures] raises
// the sampling temperature with each attempt so that a retry does not repeat
// the same invalid answer.
//
// Both rely on the processor's per-item [batchllm.RetryState] and error
// hook: the processor calls OnError after each failed attempt with the
// attempt's error, and the wrapper records there what the next attempt of
// the same item must do. Rate-limited, network and server errors never
// escalate: a stronger model would fail the same way, only at a higher price.
//
// They compose: Models(Temperatures(cheap, 0, 0.4, 0.8), strong) retries the
// cheap model with rising temperature and escalates to the strong one on the
// first invalid answer.
package escalate
