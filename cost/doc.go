// Package cost prices LLM usage, enforces hard budgets, and holds
// batchllm's one model catalogue.
//
// A [Table] holds a [Price] per model: input, output, cached-input and
// cache-write prices ([Rate]s, per token), the batch APIs' discount, and for
// some models a second set of rates for long prompts. [Default] returns the
// table embedded in the package (prices.json, with its source and date);
// [Load], [Parse], [Table.Merge] and [Table.Set] override it. Models are
// found by name, with dated snapshot names ("gpt-4o-mini-2024-07-18")
// priced as their base model; an unknown model is an error wrapping
// [ErrUnknownModel], never a silent $0.
//
// The same table is the model catalogue: each model also has its
// [Limits] (context window, maximum output, cache minimum, whether it
// accepts a temperature, which OpenAI API it needs) and the source URL and
// date of its figures. [Table.Limits], [Table.MaxOutput] and
// [Table.CheckInput] read them; the provider strategies use them to refuse
// a request that cannot succeed before sending it, and the simulator
// (llmsim) follows them. Anthropic's one-hour cache writes
// ([github.com/batchllm/batchllm.Usage].CacheWrite1hTokens) are billed at
// their own rate (2× input; five-minute writes 1.25×).
//
// Money is an [Amount], an exact count of picodollars, so that costs add up
// without rounding. [Table.Cost] follows batchllm's usage convention (see
// [github.com/batchllm/batchllm.Usage]): InputTokens counts every prompt
// token, and CachedInputTokens and CacheWriteTokens are subsets of it, each
// billed at its own price. The cost of an attempt is the cost of its usage;
// the cost of an item or a batch is the cost of the sum of its attempts'
// usage, failed attempts and validation re-asks included.
//
// Before a run, [Table.Estimate] and [Forecast] turn the strategies'
// [github.com/batchllm/batchllm.Estimate]s into a cost range. During a run, a
// [Budget] (made with [NewBudget]) is an admission gate that reserves each
// attempt's worst-case cost before it starts, so that the batch stops before
// it could pass its cap rather than after.
package cost
