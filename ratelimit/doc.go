// Package ratelimit is batchllm's admission gate for provider rate limits:
// it lets a batch run as close to a provider's limits as they allow without
// tripping them, and recovers quickly when it does trip them.
//
// A [Limiter] implements [batchllm.Gate]. Plug it into a processor with
// [batchllm.Config.Gate]; every attempt then asks it for a permit before it
// starts, and hands the permit back with what happened when it ends:
//
//	gate, err := ratelimit.New(ratelimit.Config{
//		Scopes: map[string]ratelimit.Limits{
//			"openai/gpt-4o-mini": {Requests: 5000, Tokens: 2_000_000},
//			"anthropic/claude":   {Requests: 4000, InputTokens: 2_000_000, OutputTokens: 400_000, CachedInputExempt: true},
//		},
//	})
//	cfg := batchllm.Config[In, Out, C]{Gate: gate /* … */}
//
// # Scopes and limits
//
// Limits apply per quota scope, the [batchllm.Estimate.Scope] that a
// strategy's Estimate method returns (for example provider and model).
// Attempts with the same scope share its limits, whatever strategy made
// them. A scope has up to four limits, each a token bucket: requests,
// tokens (input plus output), input tokens and output tokens, per Window
// (a minute by default). An attempt reserves 1 request, its estimated
// input tokens and its maximum output tokens from every bucket at once, the
// way OpenAI and Anthropic charge a request up front. Buckets refill
// continuously, and hold at most a burst of a few seconds of refill (see
// [Limits.Burst] for why not a whole minute).
//
// Attempts of one scope are admitted strictly in the order they asked:
// when the first in line must wait, everyone behind it waits too, so a large
// attempt is never starved by a stream of small ones. An attempt that costs
// more than the burst but not more than the limit is admitted once the
// bucket is full and leaves it in debt, which the next attempts wait out,
// so its wait is what a bucket big enough for it would impose. An attempt
// that costs more than a whole window of a limit can never be admitted: it
// fails at once with a [*TooLargeError], of class ClassFatalItem. A
// cancelled wait returns at once and reserves nothing.
//
// # Reconciliation
//
// When the attempt ends, [batchllm.Permit.Release] compares the reservation
// with the usage the provider reported: unused tokens go back to the
// buckets (most answers are far shorter than their max output tokens), and
// tokens used beyond the reservation are taken, even below zero. Cached
// input tokens are refunded where the provider does not count them
// ([Limits.CachedInputExempt]). A zero usage means unknown, and the
// reservation stands.
//
// # Cooldown
//
// When an attempt is rate limited (ClassRateLimited), its scope stops
// admitting anything until a cooldown ends. Each scope composes a
// [batchllm.CooldownGate], which provides the floor, the cap, the
// multiplier on consecutive rate limits (reset by a success), the rule that
// one burst of refusals makes one cooldown, and the EventCooldownStarted and
// EventCooldownEnded events. The Limiter chooses the wait it hands that gate:
// the largest of the Retry-After the server sent (header, retry-after-ms or
// Gemini's retryDelay, in [batchllm.Outcome.RetryAfter] or
// [batchllm.LimitInfo.RetryAfter]) and, for each limit reported exhausted,
// the time its reset header says the attempt's share comes back (see
// [Config.FullResetWait]).
//
// # Slow start
//
// After a cooldown, admission ramps back up. By default ([AIMD]) the scope
// halves its attempts in flight and then adds one per window of successes.
// [LinearRamp] is the Python library's fixed ramp, enforced for all workers
// together. [NoRamp] turns slow start off. The [Ramp] documentation says why
// AIMD is the default.
//
// # Adaptation
//
// Providers report their limits in headers (x-ratelimit-*,
// anthropic-ratelimit-*), which strategies put in
// [batchllm.Response.Limits]. Unless [Config.NoAdapt] is set, the Limiter
// enforces a reported limit where none is configured (or where the reported
// one is lower), and lowers each bucket to the remaining count the provider
// reported, never raising it. With no limits configured at all it thus
// learns them from the first responses, and runs near them. A provider
// that sends no such headers (Gemini) is followed from its 429s alone: at
// each cooldown a scope that knows no limit infers a request limit a tenth
// below what it admitted in the last window, and raises it by a twentieth
// per window without a cooldown.
//
// # Estimates
//
// The input token estimate comes from the strategy's Estimate method.
// Package [github.com/batchllm/batchllm/tokens] counts a prompt's
// tokens offline: exactly for OpenAI models, approximately for others;
// reconciliation corrects what the estimate gets wrong.
//
// A Limiter lives in one process. The gate is an interface so that a back
// end shared by several processes can replace it without touching the
// processor.
package ratelimit
