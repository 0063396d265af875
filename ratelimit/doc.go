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
// Some gateways in front of OpenAI-compatible servers count a rolling
// window instead: never more than the limit in any window. A bucket admits
// its burst on top of that, and is refused for it in every window; a
// rolling scope also keeps a log of its admissions and holds each window,
// a margin longer than the limit's, within every limit, and lets each
// window's limit go at once. The margin covers the varying time from
// admission to the server: 2% at first, doubled by a quota refusal (once
// per burst of them) up to 16%, and a quarter of its excess taken back
// each window after (rolling.go). A scope rolls when told so
// ([Limits.Rolling]) or when the provider's readings show a rolling
// window. Their headers look like a bucket's (a limit, what remains, a
// reset), but a bucket's reset is the time until it is full again, in
// proportion to what is used, while a rolling window's, read right after
// a request, is a whole window whatever is used. The rule, on the
// requests limit (exact counts) of successful attempts, for a limit of 10
// or more: once 3 readings with at most half of it used show a reset at
// least 90% of the longest reset of a reading with 80% or more used, the
// scope rolls, over a window of the longest reset read. No bucket's
// readings can meet it: their resets with half used are at most half a
// window, and with 80% used at least 70% of it, which leaves room for a
// reset rounded to the second or a clock skew of up to an eighth of the
// window (rollingevidence.go). A fixed window (reset longest when least
// is used) meets it too, and is kept as safely by the log.
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
// # Quota refusals and capacity refusals
//
// A 429 means one of two things, and they call for opposite answers. When
// the scope's shared quota is exhausted, every attempt of the scope would
// be refused, so the scope stops admitting anything for a while (a
// cooldown) and, with no limit known, learns a lower one. When the server
// is short of capacity (Gemini's shared pool, an overloaded
// OpenAI-compatible server, a proxy), refusals fall on a share of requests
// whatever the send rate; pausing everyone, or lowering the limit, only
// loses throughput (one such refusal in twenty used to cut a run to a few
// items a second). The decision rule, for a ClassRateLimited outcome:
//
//  1. [batchllm.EvidenceQuota] (the answer shows the quota exhausted:
//     rate-limit headers with nothing remaining, OpenAI's "Limit 60, Used
//     60" message, Gemini's QuotaFailure, Anthropic's rate_limit_error with
//     its headers): a cooldown, below.
//  2. [batchllm.EvidenceCapacity] (a refusal that names no quota, such as
//     Gemini's RESOURCE_EXHAUSTED without QuotaFailure): no cooldown, no
//     learning. The processor retries the item alone after the server's
//     Retry-After (or its backoff), parked off its worker, and does not
//     count it as an attempt.
//  3. [batchllm.EvidenceNone] (a bare 429): as 2, unless bare 429s are
//     too frequent to be random: 10 or more of the scope's last 32
//     outcomes. A rate limit refuses everything above it, so its share of
//     429s rises with the send rate and reaches that at any overload above
//     about 45%; 5% random refusals reach it about once in 100,000
//     outcomes. Then as 1.
//
// # Cooldown
//
// A cooldown lasts the largest of the waits the server asked for (the
// Retry-After header, retry-after-ms or Gemini's retryDelay, in
// [batchllm.Outcome.RetryAfter] or [batchllm.LimitInfo.RetryAfter]) and,
// for each limit reported exhausted, the time its reset header says the
// attempt's share comes back (see [Config.FullResetWait]), even when that
// is well under a second; [Config.CooldownFloor] only applies when the
// server named no wait. Consecutive cooldowns (with no success between
// them) are multiplied, up to [Config.CooldownMax], and one burst of
// refusals makes one cooldown: refusals of attempts admitted before the
// cooldown began start no other. The mechanics are shared with
// [batchllm.CooldownGate]; the Limiter acts on a cooldown directly when it
// starts one (slow start, inference, the EventCooldownStarted and
// EventCooldownEnded events).
//
// # Slow start
//
// A scope that knows no limit (none configured) starts slow with the
// default [AIMD] ramp: one attempt in flight, one more for each success
// (twice as many every round trip), until the first answer reports a
// limit, a quota refusal hands over to the ramp, or a second has passed
// (an LLM call may take a minute, and the workers must not idle for
// several). Without it every worker would start before any answer could
// say what the limit is, and against a limit below the number of workers
// the excess of that first wave would be refused.
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
// follows them:
//
//   - The window: providers refill continuously and report the time until
//     a limit is full again, so limit, remaining and reset together give
//     the refill rate and so the window (1 s, 10 s, a minute, a day; see
//     [batchllm.LimitWindow.Window]). A limit is taken to be per minute
//     only when no reading says otherwise.
//   - The limit: a reported limit is enforced where none is configured. A
//     limit the user configured is never lowered by a reading alone; only
//     quota refusals with the provider reporting a lower limit exhausted
//     prove it too high, and then the reported one is enforced and the
//     Limiter logs it once ([Config.Logger]).
//   - The level: each bucket is set to what the provider says remains,
//     less what was admitted after the attempt the reading came with. That
//     may be more than the burst (the provider's opening allowance, a full
//     window at the start of a run), unless a configured limit below the
//     provider's is in force. A reading that raises the level is lowered
//     by what the attempts admitted before its own and still in flight
//     reserved: under load a request can reach the provider after one
//     admitted later, and the reading does not count it yet.
//
// With no limits configured at all the Limiter thus learns them from the
// first responses, and runs near them. A provider
// that sends no such headers (Gemini) is followed from its quota refusals
// alone: at a cooldown a scope that knows no limit infers a request limit a
// tenth below what it admitted in the last window; the inferred limit has a
// floor and wins back what it lost within a few windows once refusals stop
// (infer.go has the exact rule).
//
// # Estimates
//
// The input token estimate comes from the strategy's Estimate method.
// Package [github.com/batchllm/batchllm/tokens] counts a prompt's
// tokens offline: exactly for OpenAI models, approximately for others.
// Providers count their own way, so the Limiter learns per model the ratio
// of the input tokens the usage reports to the estimate and reserves the
// corrected figure (unless [Config.NoAdapt]; see [Limiter.TokenRatios]);
// reconciliation corrects what remains wrong. A provider may also charge
// its limit with a count that its usage does not report: OpenAI's usage
// is the tokenizer's exact count, while its limiter charges an estimate
// from the request's characters. No ratio learned from the usage can see
// that; the remaining-tokens header does, and each reading sets the
// bucket's level (see Adaptation), so the difference is corrected at
// every answer rather than learned.
//
// # Sharing limits between processes
//
// The buckets and the cooldown of each scope live in a [Store]. The
// default keeps them in the process; a shared one (a database) lets
// several processes, each with its own Limiter, keep one provider quota
// together. The module's conformance suite, internal/testing/ratelimittest,
// checks a Store implementation.
package ratelimit
