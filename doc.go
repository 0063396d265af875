/*
Package batchllm runs thousands to millions of LLM requests in parallel, on
any provider, inside the provider's rate limits and the user's budget. It
owns retries in one place, keeps what finished when a run stops, and counts
tokens, cost and cache hits truthfully.

# The pipeline

One item travels one way through a [Processor]:

		Add ─► queue ─► worker ─► Gate.Admit ─► middleware ─► Strategy.Call ─► result
		                             ▲                                   │
		                             └──── Permit.Release(real usage) ◄──┘

	  - A [Strategy] makes one LLM call: one attempt of one item. Provider
	    packages (provider/openai, provider/anthropic, provider/gemini) offer
	    strategies over the official SDKs, with the SDKs' own retries turned
	    off; package structured turns any of them into one that returns a
	    validated Go struct. [StrategyFunc] makes a strategy of a function.
	  - Items wait in a bounded queue; [Processor.Add] blocks when it is full
	    (backpressure) once the run has started, and never before.
	  - A pool of [Config.Workers] goroutines takes items from the queue.
	  - Before each attempt, a worker asks the [Gate] for a [Permit]. The
	    default gate, [CooldownGate], stops every worker from starting a new
	    attempt during a cooldown after a rate limit; package ratelimit adds
	    proactive limits on requests and tokens per minute that adapt to the
	    provider's headers, and package cost adds a hard budget.
	  - The attempt runs under its deadline ([Config.AttemptTimeout]) through
	    the [Middleware] chain. Its error is classified ([Classifier], [ErrorClass])
	    and the processor decides: retry at once (invalid output), back off and
	    retry (transient, overloaded), wait for the cooldown without spending an
	    attempt (rate limited), give up on the item (fatal for the item), or stop
	    the whole batch (fatal for the batch: a bad key, an exhausted quota).
	  - Each item ends with exactly one [Result], streamed by
	    [Processor.Results] in completion order, or collected by [Processor.Run].

# A first run

	strategy, err := openai.New(openai.Config{Model: "gpt-4o-mini"}) // key from OPENAI_API_KEY
	if err != nil {
		return err
	}
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
		Strategy: strategy,
		Workers:  32,
	})
	if err != nil {
		return err // invalid configuration is reported here, never mid-run
	}
	defer p.Close(ctx)
	for i, q := range questions {
		p.Add(ctx, batchllm.Item[batchllm.Prompt, string, struct{}]{ID: fmt.Sprint(i), Input: batchllm.Text(q)})
	}
	summary, err := p.Run(ctx)

To process more items than fit in memory, add them from another goroutine
and range over [Processor.Results]; memory then stays flat whatever the
number of items.

# Retries, deadlines, cancellation

[RetryPolicy] sets the attempts per item and the exponential backoff with
jitter. A server's Retry-After lengthens a backoff; rate-limited attempts do
not count against MaxAttempts but against MaxRateLimitRetries.

There are three separate deadlines: [Config.AttemptTimeout] for one call,
[Config.ItemTimeout] for an item's attempts and waits together, and
[Config.BatchTimeout] for the run. An attempt that runs out of time fails
with a [*TimeoutError] and is retried; an item that runs out of time ends.

Cancelling the run's context stops dispatch and cancels calls in flight;
Run returns the results that finished and [Processor.Err] the cause. Items
that had not finished have no result, so that a journal never records them
as done (package journal makes runs resumable).

# Strategies with more to do

A strategy may implement optional interfaces, found by type assertion as
net/http finds http.Flusher: [Preparer] (set-up once per instance, such as
creating a shared context cache), [Cleaner] (called by [Processor.Close]),
[ErrorHook] (sees every failed attempt and can record what passed in the
item's [RetryState]), [DryRunner] (answers in dry-run mode without calling
the provider) and [Estimator] (tells the gate what an attempt may use).

# Watching a run

[Observer] values receive typed [Event] values asynchronously: a slow
observer never stalls the workers. [Metrics] is a built-in observer with
counts, errors by class, cooldown time, token usage and latency percentiles,
written as JSON; package promobserve is the Prometheus exporter and package
oteltrace opens a span per attempt. An item a [Config.Fallback] recovered
ends with its own [EventItemRecovered].
[Config.Progress] reports progress every few items and at the end, and
[Processor.Stats] is a live snapshot. Panics in strategies, middleware,
observers and callbacks are recovered: the item fails, the batch goes on.

# Tokens

[Usage] has one convention for every provider: InputTokens counts all
prompt tokens, and CachedInputTokens and CacheWriteTokens are subsets of
it. Each result's usage sums all of its attempts, failed ones included, so
totals match the bill. [Usage.CacheHitRate] summarises caching. A [Ledger]
totals the finished items, their tokens and, with [Config.Prices] (package
cost prices every model), their cost, keyed by the model that answered;
[Processor.Stats], [Metrics], package promobserve and the batchllm command
all read one.

# Testing code that uses batchllm

Package batchllmtest has a mock strategy with latency, token counts and
failures scripted by call number or by item, which fire exactly once
whatever the concurrency. Package llmsim is a local simulator of the
OpenAI, Anthropic and Gemini APIs, with their rate limits, headers and
failures, for tests and benchmarks that must not touch the network.
*/
package batchllm
