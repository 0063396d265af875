// Package resume makes a batchllm run resumable from a [journal.Journal],
// for library users; the batchllm CLI's --journal does the same for files.
//
// A [Resumer] does the two halves of resuming:
//
//   - before an item is added, [Resumer.Add] looks it up in the journal by
//     its ID and the digest of its request, and skips it if the journal
//     holds its final result for the same request, returning that result;
//     an unknown item, or one whose request changed, is added;
//   - [Resumer.Record], set as batchllm.Config.Record, appends each result
//     to the journal, durably, on the worker that produced it and before
//     the processor reports it.
//
// So a run that stops for any reason (a crash, kill -9, a cancelled
// context) can be run again over the same journal: nothing reported is
// lost, finished items are not paid for twice, and the calls in flight at
// the crash are the only ones sent again: at most one per worker.
//
// Failures that do not belong to the item (class ClassFatalBatch: a bad key,
// an exhausted quota or budget, and the items an aborted batch ended) are
// not journaled, so that a rerun sends them again; other failures are final
// unless [Options.RetryFailed] is set.
package resume
