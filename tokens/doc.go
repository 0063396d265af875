// Package tokens estimates the input tokens of a prompt before it is sent,
// offline, for the admission gate of package ratelimit to reserve.
//
// A [Counter] counts the tokens of a text. [For] returns the right one for
// a model: for OpenAI models the real tokenizer (o200k_base or cl100k_base,
// through github.com/tiktoken-go/tokenizer, whose vocabularies are compiled
// into the binary, so nothing is downloaded at run time, and loaded into
// memory, about 6 MiB for o200k_base, at a tokenizer's first Count, not
// before); for every other
// model the approximation [Approx]. Anthropic and Google publish no offline
// tokenizer for their current models (both offer a counting endpoint, which
// costs a request), so an approximation is the honest choice there. Any
// other tokenizer plugs in by implementing Counter.
//
// [CountPrompt] adds the chat format's overhead to the counts of a
// [batchllm.Prompt]'s parts, and [EstimatePrompt] does both for a model
// name. An estimate need not be exact: the gate reconciles every
// reservation with the usage the provider reports, refunding what was
// over-estimated and carrying what was under-estimated as debt.
package tokens
