// Command batchllm sends a file of prompts to an LLM provider, in
// parallel, within the provider's rate limits and a budget, and writes a
// file of answers; it resumes after a crash without paying twice.
//
//	batchllm run [flags] INPUT.jsonl        send every item, write one result per item
//	batchllm estimate [flags] INPUT.jsonl   count tokens; the time and cost a run implies
//	batchllm sim [flags]                    serve the provider simulator on loopback
//
// Try it without a key, against the built-in simulator:
//
//	go run ./cmd/batchllm run --provider sim cmd/batchllm/testdata/sample.jsonl
//
// # Input and output
//
// Each input line is a JSON object: {"id": ..., "prompt": "..."} or
// {"id": ..., "messages": [{"role": "user", "content": "..."}, ...]}, with
// optional "system", "model", "max_tokens", "temperature", "stop" (stop
// sequences: a string or an array of strings, up to the provider's number)
// and "metadata" (any JSON value, copied to the output untouched). The whole input is
// checked, in one streaming pass, before anything is sent (standard input is
// buffered to a temporary file for it): a malformed line, a missing id or
// prompt, a duplicate id or an unknown model stops the command with exit
// status 2 and a message naming the file, the line and the fault; with
// --rejects FILE such lines go to FILE instead, one JSON object each with
// the line number, the reason and the line, and the rest is sent.
//
// Each output line is {"id", "ok", "output", "error": {"class", "message"},
// "usage", "attempts", "latency_ms", "model", "finish_reason", "cost_usd",
// "metadata"}, in completion order, or in input order with --ordered: a
// window of at most --reorder-window finished results waits for an
// earlier unfinished one, and when it is full no new item is taken from
// the input (nothing is spilled to disk), which bounds the memory.
// "output" is the answer's text, or with --json-schema the JSON value the
// answer holds (validated against the schema; an answer that does not
// validate is retried). Every line is written with a single write call by
// one writer, so lines never interleave or tear.
//
// # Resume
//
// With --journal FILE each result is appended to the journal and fsynced
// before its output line is written. Running the same command again reads
// the journal first: an item whose last journal record has the same request
// digest (provider, model, system prompt, messages, max_tokens, temperature,
// stop and schema, or a batch-format body as written; not the id or
// metadata) is not sent again, and its journaled
// result is written to the output again, with the item's current metadata;
// an item whose request changed is sent again. Failed items are final like
// successes unless --retry-failed is given, except failures of class
// fatal_batch (a bad key, an exhausted quota or budget), which are never
// journaled and so are always sent again.
//
// The output is derived from the journal: every run rewrites the output
// file from the start, journaled results first as the input is read and new
// results as they come, so it holds each item of the input exactly once
// whatever happened to earlier runs. After kill -9 at any moment nothing
// reported is lost and nothing is duplicated, and the requests sent again
// are at most --workers: each worker journals its result before it takes
// another item, so at most that many answered calls can lack a journal
// record.
//
// # Interrupts
//
// The first Ctrl-C (SIGINT or SIGTERM) stops dispatching: calls in flight
// may finish for --grace (default 10s) and their results are journaled and
// written; items not yet sent stay unsent. When the grace period ends, the
// calls still in flight are cancelled. A second Ctrl-C exits at once. Either
// way the journal is consistent and a rerun resumes.
//
// # Logs
//
// Standard error carries the progress, the summary and a log. The progress
// is a line fitted to the terminal's width (done/total, why the run waits if
// it does: a 429 cooldown, the budget or a rate limit; the ETA, the cost so
// far, the budget left, the projected total cost, the limits in force, the
// rate and counters; the least important dropped first when narrow), or,
// when standard error is not a terminal, the same as a plain log line every
// --progress-interval. The log is in the log/slog text format. --log-level
// sets how much it logs: error; warn (the default: doubtful settings, a
// batch aborted); info (also each failed item with its error class and
// message, cooldowns, the batch's start and end); debug (also every attempt:
// item id, attempt number, model, admission wait, and for a failed attempt
// its class, duration and error). Prompts and answers are never logged. API
// keys appear nowhere: not in the log, the output, the journal, the rejects
// file or the metrics; the providers remove the key from every error
// message, even when a server or proxy quotes it back, and the CLI removes
// it again from every error message and log line it writes.
//
// # Exit status
//
//	0    every item succeeded (an empty input included)
//	1    some items failed, or the run stopped on an error (a batch-fatal error, a journal write error)
//	2    bad usage, input or configuration: nothing was sent
//	130  interrupted
package main
