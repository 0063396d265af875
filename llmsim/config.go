package llmsim

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Config configures a simulator. The zero value is valid: no limits, no
// latency, no faults, one-minute windows.
type Config struct {
	// Window is the length of the "minute" that RPM and TPM limits refer to.
	// Tests set it to, say, a second so that a limit resets quickly; header
	// values and retry delays are computed against this window. Zero means
	// one minute.
	Window time.Duration

	// Seed seeds the random source used for fault draws and latency
	// samples. The same seed and the same request order give the same
	// faults and latencies.
	Seed uint64

	// OpenAI, Anthropic and Gemini configure each provider's limits,
	// latency and faults independently.
	OpenAI, Anthropic, Gemini ProviderConfig

	// PrefixCacheTTL is how long an OpenAI implicit prompt-prefix cache
	// entry lives after its last use. Zero means 10 minutes.
	PrefixCacheTTL time.Duration

	// FaultRetryAfter is the retry delay announced by an injected 429
	// (retry-after headers, Gemini RetryInfo). Zero means one second.
	FaultRetryAfter time.Duration

	// RejectUnknownModels makes the simulator answer a request for a model
	// it does not know as the real API does: OpenAI 404 model_not_found,
	// Anthropic 404 not_found_error, Gemini 404 NOT_FOUND. It knows the
	// models of its own table (each with its provider's documented context
	// window, output limit and cache minimum) and ExtraModels. Off by
	// default, so that tests may name any model.
	RejectUnknownModels bool
	// ExtraModels are models the simulator knows beside its table's, with
	// no limits.
	ExtraModels []string

	// Batch sets how fast batch jobs (OpenAI Batch, Anthropic Message
	// Batches, Gemini batch mode) run in the background.
	Batch BatchConfig
}

// BatchConfig is the pace of simulated batch jobs. Batch requests are
// answered like online ones but are not rate limited, delayed by Latency,
// or subject to faults: a line fails only if its request is invalid. The
// batch APIs have their own limits, apart from the online ones
// (https://platform.openai.com/docs/guides/batch, "a separate pool of
// significantly higher rate limits"; https://docs.anthropic.com/en/api/rate-limits,
// "Message Batches API" limits; https://ai.google.dev/gemini-api/docs/batch-mode);
// llmsim does not model them, and the pace below is ours, not a measured
// one.
type BatchConfig struct {
	// StepDelay is the time a job spends before it starts processing
	// (OpenAI validating, Gemini pending) and, for OpenAI, finalizing.
	// Zero is instant (the states still exist, briefly).
	StepDelay time.Duration
	// PerRequest is the time to process each request; requests are
	// processed one after another. Zero is instant.
	PerRequest time.Duration
	// Window is the completion window: a job not finished this long after
	// creation expires, its unprocessed requests marked expired. Zero
	// means 24 hours.
	Window time.Duration
}

// ProviderConfig configures one simulated provider. Zero limits are
// unlimited.
type ProviderConfig struct {
	// RPM is the number of requests allowed per Window.
	RPM int64
	// TPM is the number of tokens allowed per Window. OpenAI charges
	// prompt tokens plus max_completion_tokens (or the actual output
	// when no maximum is given) up front; Gemini charges prompt tokens;
	// for Anthropic TPM is a combined input+output bucket that applies
	// in addition to InputTPM and OutputTPM.
	TPM int64
	// InputTPM and OutputTPM are Anthropic's separate input-token and
	// output-token limits per Window (ITPM, OTPM). Input is charged for
	// uncached input and cache writes, never for cache reads; output is
	// charged max_tokens up front. The other providers ignore them.
	InputTPM, OutputTPM int64
	// MaxConcurrent is the number of requests served at once. A request
	// beyond it gets the provider's "overloaded" answer (OpenAI 503
	// server_is_overloaded, Anthropic 529 overloaded_error, Gemini 503
	// UNAVAILABLE). Zero is unlimited.
	MaxConcurrent int
	// Latency is the simulated service time of a successful request.
	Latency Latency
	// Faults maps a fault kind to the probability, in [0, 1], that a
	// request suffers it. The probabilities of all kinds must sum to at
	// most 1.
	Faults map[Fault]float64
	// TokenFactor, if positive, scales the prompt tokens the provider
	// counts (for usage and its rate limits) against the simulator's own
	// tokenizer, which clients share: 1.25 counts 25% more. Real servers
	// count their own way: OpenAI-compatible servers often approximate a
	// prompt as characters / 4, Anthropic and Gemini use tokenizers no
	// client has offline (Anthropic's count_tokens documentation: "the
	// token count should be considered an estimate",
	// https://docs.anthropic.com/en/docs/build-with-claude/token-counting;
	// OpenAI's rule of thumb of about 4 characters a token,
	// https://help.openai.com/en/articles/4936856-what-are-tokens-and-how-to-count-them).
	// Zero means 1. OpenAI and Gemini charge their limits with their own
	// count of the prompt (OpenAI: "your rate limit is calculated as the
	// maximum of max_tokens and the estimated number of tokens based on
	// the character count of your request",
	// https://platform.openai.com/docs/guides/rate-limits; Gemini: the
	// usageMetadata.promptTokenCount of its own tokenizer, which
	// models.countTokens returns,
	// https://ai.google.dev/gemini-api/docs/tokens), and Anthropic its
	// own input_tokens, which /v1/messages/count_tokens estimates; so the
	// factor scales the usage, the limits and the counting endpoints of
	// all three alike.
	TokenFactor float64
	// LimitTokenFactor, if positive, scales the prompt tokens that
	// OpenAI's rate limiter charges against the TPM limit, and nothing
	// else: the usage keeps the tokenizer's count (times TokenFactor).
	// That is real OpenAI: its usage is the tokenizer's exact count
	// (tiktoken's, which clients share), while its limiter charges an
	// estimate from the request's characters ("your rate limit is
	// calculated as the maximum of max_tokens and the estimated number
	// of tokens based on the character count of your request",
	// https://platform.openai.com/docs/guides/rate-limits; "the rate
	// limit endpoint calculation is also just a guess based on
	// characters; it doesn't actually tokenize the input",
	// https://community.openai.com/t/token-per-minute-rate-limit-for-gpt4-issues/360359/4).
	// The x-ratelimit-remaining-tokens header shows that charge, so a
	// client can learn it from the headers but not from the usage. Zero
	// means 1. The other providers ignore it.
	LimitTokenFactor float64
	// RollingWindow, if set, counts the OpenAI and Anthropic limits over a
	// rolling window instead of a continuously refilled bucket: a request
	// passes only if what was admitted in the last Window, itself
	// included, is within the limit, and what a request took comes back
	// whole a Window later. Neither OpenAI nor Anthropic works so (see
	// bucket), but gateways in front of OpenAI-compatible servers do:
	// WSO2's AI Gateway caps "token consumption within a rolling time
	// window"
	// (https://wso2.github.io/docs-api-platform/guides/ai-and-mcp/enforce-token-based-rate-limiting-on-an-llm-proxy/),
	// AssemblyAI's LLM Gateway counts "requests within a 60-second
	// window" (https://www.assemblyai.com/docs/llm-gateway/rate-limits).
	// It is stricter than a bucket of the same limit: a bucket that
	// starts full admits up to twice its limit in the first window, a
	// rolling window never more than its limit. The headers say what
	// remains in the window and, as the reset, when its newest request
	// leaves it. Gemini ignores it (its quotas are fixed windows).
	RollingWindow bool
	// StartUsed is the share, in [0, 1), of every limit already spent when
	// the simulator starts, as when a run begins in a window that earlier
	// work has used: the buckets start at (1 − StartUsed) of their
	// capacity, Gemini's first windows with that share counted. It bounds
	// the opening allowance, so that a long window (a day) can be
	// simulated by a run that lasts seconds: with RPM 1,728,000 per
	// 24-hour Window (20 a second) and StartUsed 0.9999, the bucket holds
	// 172 requests and then refills at 20 a second, and every header says
	// so in the day's terms. Zero starts full.
	StartUsed float64
	// OutputTokens, if positive, pads every answer to at least this many
	// output tokens (before max_tokens truncation). Zero leaves the
	// natural answer (see the package documentation).
	OutputTokens int
	// ReasoningTokens, if positive, is how many tokens OpenAI's reasoning
	// models (the o-series and gpt-5 families of the model table) think
	// before they answer. They are billed as output
	// (completion_tokens_details.reasoning_tokens,
	// output_tokens_details.reasoning_tokens) and count against the
	// output cap: a cap at or below them leaves an empty answer cut off
	// by the limit. Zero: reasoning models answer at once. Other
	// providers ignore it.
	ReasoningTokens int
}

// Latency is a distribution of service times. The first non-zero of P50,
// Max and Fixed selects the shape:
//
//   - P50 (with P99 >= P50): heavy-tailed, log-normal with the given median
//     and 99th percentile;
//   - Max (with Min <= Max): uniform in [Min, Max];
//   - Fixed: always Fixed.
//
// PerOutputToken is added for every output token of the answer, as a model
// spends time generating them ("generating tokens is almost always the
// highest latency step", https://platform.openai.com/docs/guides/latency-optimization).
// The shapes are ours, for tests and benchmarks; the log-normal is a common
// model of heavy-tailed service times, not a fit to a provider's figures.
type Latency struct {
	Fixed          time.Duration
	Min, Max       time.Duration
	P50, P99       time.Duration
	PerOutputToken time.Duration
}

// sample draws one latency given a standard uniform u and a standard normal z.
func (l Latency) sample(u, z float64, outputTokens int) time.Duration {
	var d time.Duration
	switch {
	case l.P50 > 0:
		p99 := max(l.P99, l.P50)
		// A log-normal has median e^mu and 99th percentile e^(mu+2.3263 sigma).
		mu := math.Log(float64(l.P50))
		sigma := (math.Log(float64(p99)) - mu) / 2.326347874
		d = time.Duration(math.Exp(mu + sigma*z))
	case l.Max > 0:
		d = l.Min + time.Duration(u*float64(l.Max-l.Min))
	default:
		d = l.Fixed
	}
	return d + time.Duration(outputTokens)*l.PerOutputToken
}

func (l Latency) zero() bool {
	return l.Fixed == 0 && l.Max == 0 && l.P50 == 0 && l.PerOutputToken == 0
}

func (l Latency) validate() error {
	switch {
	case l.Fixed < 0 || l.Min < 0 || l.Max < 0 || l.P50 < 0 || l.P99 < 0 || l.PerOutputToken < 0:
		return fmt.Errorf("negative latency in %+v", l)
	case l.Max > 0 && l.Min > l.Max:
		return fmt.Errorf("latency Min %v > Max %v", l.Min, l.Max)
	case l.P50 > 0 && l.P99 > 0 && l.P99 < l.P50:
		return fmt.Errorf("latency P99 %v < P50 %v", l.P99, l.P50)
	}
	return nil
}

// ParseLatency parses the latency syntax of the batchllm sim command: a Go
// duration ("50ms", fixed), "min..max" (uniform, e.g. "10ms..90ms"), or a
// comma-separated list of p50=D, p99=D, min=D, max=D, fixed=D and
// per_token=D (e.g. "p50=200ms,p99=2s,per_token=1ms").
func ParseLatency(s string) (Latency, error) {
	var l Latency
	s = strings.TrimSpace(s)
	if s == "" {
		return l, nil
	}
	if lo, hi, ok := strings.Cut(s, ".."); ok && !strings.Contains(s, "=") {
		a, err1 := time.ParseDuration(lo)
		b, err2 := time.ParseDuration(hi)
		if err1 != nil || err2 != nil {
			return l, fmt.Errorf("llmsim: latency %q: want min..max durations", s)
		}
		l.Min, l.Max = a, b
		return l, l.validate()
	}
	if !strings.Contains(s, "=") {
		d, err := time.ParseDuration(s)
		if err != nil {
			return l, fmt.Errorf("llmsim: latency %q: %w", s, err)
		}
		l.Fixed = d
		return l, l.validate()
	}
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return l, fmt.Errorf("llmsim: latency %q: %q is not key=duration", s, kv)
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return l, fmt.Errorf("llmsim: latency %q: %w", s, err)
		}
		switch strings.ToLower(k) {
		case "p50":
			l.P50 = d
		case "p99":
			l.P99 = d
		case "min":
			l.Min = d
		case "max":
			l.Max = d
		case "fixed":
			l.Fixed = d
		case "per_token":
			l.PerOutputToken = d
		default:
			return l, fmt.Errorf("llmsim: latency %q: unknown key %q", s, k)
		}
	}
	if l.P50 == 0 && l.P99 > 0 {
		return l, fmt.Errorf("llmsim: latency %q: p99 needs p50", s)
	}
	return l, l.validate()
}

func (c *Config) validate() error {
	if c.Window < 0 || c.PrefixCacheTTL < 0 || c.FaultRetryAfter < 0 {
		return fmt.Errorf("llmsim: negative duration in Config")
	}
	if c.Batch.StepDelay < 0 || c.Batch.PerRequest < 0 || c.Batch.Window < 0 {
		return fmt.Errorf("llmsim: negative duration in BatchConfig %+v", c.Batch)
	}
	for name, p := range map[string]*ProviderConfig{"openai": &c.OpenAI, "anthropic": &c.Anthropic, "gemini": &c.Gemini} {
		if p.RPM < 0 || p.TPM < 0 || p.InputTPM < 0 || p.OutputTPM < 0 || p.MaxConcurrent < 0 || p.OutputTokens < 0 || p.ReasoningTokens < 0 || p.TokenFactor < 0 || p.LimitTokenFactor < 0 {
			return fmt.Errorf("llmsim: %s: negative limit", name)
		}
		if !(p.StartUsed >= 0 && p.StartUsed < 1) {
			return fmt.Errorf("llmsim: %s: StartUsed %v outside [0, 1)", name, p.StartUsed)
		}
		if err := p.Latency.validate(); err != nil {
			return fmt.Errorf("llmsim: %s: %w", name, err)
		}
		sum := 0.0
		for f, r := range p.Faults {
			if _, err := ParseFault(string(f)); err != nil {
				return fmt.Errorf("llmsim: %s: %w", name, err)
			}
			if r < 0 || r > 1 || math.IsNaN(r) {
				return fmt.Errorf("llmsim: %s: fault %s rate %v outside [0,1]", name, f, r)
			}
			sum += r
		}
		if sum > 1+1e-9 {
			return fmt.Errorf("llmsim: %s: fault rates sum to %v > 1", name, sum)
		}
	}
	return nil
}
