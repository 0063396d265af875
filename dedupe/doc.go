// Package dedupe provides a middleware that sends identical requests once
// and shares the answer: the answer to the seed's FAQ "How do I implement
// caching for identical prompts?", and the library side of the CLI's
// --dedupe.
//
// A [Deduper] combines two mechanisms, keyed by a user-supplied [KeyFunc]
// (typically the journal's request digest, journal.Digest of the input):
//
//   - single flight: identical requests in flight at the same time make one
//     call, and the others wait for its answer;
//   - a cache of completed answers, unbounded by default, or bounded by
//     [Options.MaxEntries] with least-recently-used eviction, or switched
//     off.
//
// Only successes are shared and cached; each failure belongs to the attempt
// that made the call, and the processor's retry policy treats it as usual.
// An attempt answered without a call reports zero usage, so that token
// totals and budgets count what was paid, once, on the item that paid it.
//
// The cache lives in memory, for the Deduper's life. Across runs, the
// journal package is what keeps finished items from being sent again.
package dedupe
