// Package resume makes a batchllm run resumable from a [journal.Journal]:
// it is how library users resume, and how the batchllm command's --journal
// does.
//
// A [Resumer] does the two halves of resuming:
//
//   - before an item is added, [Resumer.Add] looks it up in the journal by
//     its ID and the digest of its request, and skips it if the journal
//     holds its final result for the same request, returning that record;
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
//
// # Records
//
// [New] keeps [journal.Outcome] records, the JSON form of a result.
// [WithCodec] keeps records of any type, as a [Codec] says: the batchllm
// command keeps its output lines, whose fields are those of an Outcome (plus
// the item's ID and cost), so a library run and the command read each
// other's journals when they digest requests alike ([ProviderDigest] is the
// command's digest).
package resume
