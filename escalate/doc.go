// Package escalate changes how an item is asked after an answer that did
// not validate. It is the one home of escalation in batchllm: [Models]
// moves the item to a stronger (dearer) strategy, and [Temperatures] raises
// the sampling temperature so that the retry does not repeat the same
// invalid answer.
//
// Both count an item's invalid answers (errors of class
// [batchllm.ClassInvalidOutput]) in its [batchllm.RetryState], through the
// processor's error hook: the processor calls OnError after each failed
// attempt, and the wrapper records there what the next attempt of the same
// item must do. Rate-limited, network and server errors never escalate: a
// stronger model would fail the same way, only at a higher price, and a
// retry that saw no answer has nothing to move away from.
//
// They compose: Models(cheap, Temperatures(strong, 0, 0.5)) asks the cheap
// strategy first, the strong one after the first invalid answer, and the
// strong one at temperature 0.5 after its own first invalid answer.
//
// With package structured, which turns answers into validated Go values
// and fails an attempt whose answer does not validate as
// [batchllm.ClassInvalidOutput], put the escalation under the structured
// strategy, so that each step gets the schema and the re-ask feedback:
//
//	s, err := structured.New[Contact](escalate.Models(nano, mini, full))
package escalate
