// Package batchapi sends items through the providers' Batch APIs (OpenAI
// Batch, Anthropic Message Batches, Gemini batch mode), which answer
// within 24 hours at about half the price of live calls, with the same
// item and result types as a live run.
//
// A [Provider] pairs a provider's Batch API with the live strategy of
// package provider/openai, provider/anthropic or provider/gemini built from
// the same Config: every batch request is byte for byte the request that
// strategy sends live (system prompt, structured output, per-item model,
// max tokens and stop sequences, extra fields), and every answer is read by
// that strategy as if it had come back live, so usage, finish reasons,
// refusals and error classes are the same in both modes; each [Result]
// carries the response as received in Raw. An OpenAI prompt with a raw
// body (batchllm.Prompt.Raw, a line of an OpenAI Batch API input file) goes
// into the batch file as the live strategy sends it: as written, without
// "stream", with the model filled in if missing; it goes in a batch of its
// body's endpoint and its answer is read as that endpoint's.
//
// [Run] splits the items into batches within the provider's limits, one
// model per batch where the provider requires it:
//
//   - OpenAI: 50,000 requests and 200 MB per input file, one model and one
//     endpoint per file (https://platform.openai.com/docs/api-reference/batch/create,
//     https://platform.openai.com/docs/guides/batch): requests to
//     /v1/responses (a model the Responses API alone serves) and to
//     /v1/chat/completions go in separate batches;
//   - Anthropic: 100,000 requests or 256 MB per batch, models mixed
//     (https://docs.anthropic.com/en/docs/build-with-claude/batch-processing);
//   - Gemini: one model per batch, inline requests up to 20 MB in all or an
//     input file up to 2 GB (https://ai.google.dev/gemini-api/docs/batch-mode),
//     with no limit on requests; batchllm sends a batch of up to
//     [GeminiInlineBytes] inline and a larger one as an uploaded JSONL file.
//
// Requests are spooled to an unlinked temporary file as they are read and
// uploaded from it by streaming, and results files are read by streaming,
// so memory grows with the number of items in flight (under 200 bytes
// each), not with their size. Polls start a
// second after a batch is created and back off, doubling, to
// [Config.PollInterval].
//
// # Crash safety
//
// With a [Journal] (see [JournalOf]), a run journals each batch's items and
// their request digests before it creates the batch, under the batch's
// name, and journals the provider's id as soon as the batch exists. A
// rerun after a crash at any moment finds its batches again: by the
// journaled id, or, for a batch whose creation may have succeeded before
// its id reached the journal, by its name (OpenAI metadata, Gemini display
// name), and collects them instead of submitting their items again. An
// item is submitted again only once the batch it was in has ended without
// running it (expired, cancelled, failed), so no item is ever submitted
// twice while an earlier submission of it may still succeed. A batch's
// name carries the attempt its items are on, so that they keep their count
// of attempts across reruns. A result is
// reported only after [Config.Record] made it durable; until then the
// journal says the item is in its batch, whose results the provider keeps
// (OpenAI 30 days, Anthropic 29), so no result is lost either.
//
// # Interrupting
//
// When ctx is done, Run stops polling and returns the batches still
// running in [Stats.Running]; they go on at the provider, and a rerun with
// the same journal collects them. [Config.CancelOnStop] cancels them
// instead.
//
// # Live instead of another batch
//
// [Config.DivertNotRun] hands the items a batch ended without running to
// [Config.Divert] instead of submitting them again, and [Config.Cutoff]
// stops waiting for batches at a given time: the running ones are
// cancelled, and what they did not run, with anything not yet submitted,
// is diverted. The caller sends diverted items live (the CLI's --batch
// auto --deadline and --batch-not-run live do, after the batch pass).
//
// # Cost
//
// The results carry the usage the provider reported; price them with
// cost.Table.Cost(model, usage, true), the batch price. A cost.Budget with
// Batch set, as [Config.Gate], reserves each item's worst case at the batch
// price before its batch is submitted.
package batchapi
