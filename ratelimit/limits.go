package ratelimit

import (
	"fmt"
	"time"
)

// Limits are the rate limits of one quota scope. Each non-zero limit is a
// separate token bucket; an attempt is admitted only when every bucket can
// pay for it. Zero limits are not enforced (but may be learned from the
// provider's headers; see [Config.NoAdapt]).
//
// Set the dimensions the provider enforces: OpenAI has Requests and Tokens
// (input and output share one limit); Anthropic has Requests, InputTokens
// and OutputTokens; Gemini has Requests and Tokens (input).
type Limits struct {
	// Requests is the most requests per Window.
	Requests int64
	// Tokens is the most input plus output tokens per Window.
	Tokens int64
	// InputTokens is the most input tokens per Window.
	InputTokens int64
	// OutputTokens is the most output tokens per Window.
	OutputTokens int64

	// Window is the period the limits are counted over. Default one minute,
	// as providers publish them; a simulator with scaled windows may use a
	// second. Limits the provider reports are taken to be per Window too.
	Window time.Duration
	// Burst is how much of each limit may be spent at once after a quiet
	// spell, measured in time of refill: a bucket holds at most
	// limit × Burst / Window tokens (at least one). Default Window/12, that is
	// 5 s of a per-minute limit (the whole Window when Rolling).
	//
	// A whole window of burst (what the OpenAI cookbook and the Python
	// library start with) lets a fresh run send almost two windows' worth in
	// its first window, and providers that count in sub-minute slices
	// (Azure's 10 s frames, OpenAI's quantized limits) answer that with
	// 429s. Five seconds is short enough to stay inside such slices and long
	// enough that a burst of parallel workers starts at once instead of one
	// per refill tick. An attempt whose cost exceeds the burst but not the
	// limit is still admitted, when the bucket is full, and leaves it in
	// debt; see [Limiter].
	Burst time.Duration
	// CachedInputExempt says that input tokens read from a cache do not
	// count toward InputTokens and Tokens, as with Anthropic's ITPM on
	// current models and Groq. The reservation is made in full and the
	// cached part refunded when the attempt ends.
	CachedInputExempt bool
	// OutputChargedAtMax says that the provider counts an attempt's maximum
	// output tokens (max_tokens) when it admits the request and gives back
	// none of what the answer did not use, as OpenAI's TPM and Anthropic's
	// OTPM do. The reservation's output part is then never refunded, so the
	// local buckets drain as fast as the provider's. Without it, unused
	// output tokens are refunded, which suits a provider that counts what
	// was generated.
	OutputChargedAtMax bool
	// Rolling says that the provider counts each limit over a rolling
	// window (at most the limit in any Window), as some gateways do,
	// rather than refilling a bucket continuously, as OpenAI and Anthropic
	// do. Admissions are then also kept within each limit over any window
	// a margin longer than Window (an attempt reaches the server a varying
	// time after its admission): 2% at first, doubled by each quota
	// refusal up to 16%, and narrowed again window by window. The
	// provider's remaining counts no longer set the buckets' levels (they
	// do not refill continuously), and Burst defaults to the whole Window,
	// so that each window's limit goes out at once, as the server allows.
	// It applies to windows up to a minute. Without it, a rolling window
	// is found from the provider's readings when their resets show it (see
	// the package documentation). The log is this Limiter's: processes
	// that share a quota through a shared [Store] each keep only their own
	// admissions in it.
	Rolling bool
}

func (l Limits) withDefaults() Limits {
	if l.Window <= 0 {
		l.Window = time.Minute
	}
	if l.Burst <= 0 {
		l.Burst = l.Window / 12
		if l.Rolling {
			l.Burst = l.Window
		}
	}
	l.Burst = min(l.Burst, l.Window)
	return l
}

func (l Limits) validate(name string) error {
	for _, d := range []struct {
		field string
		v     int64
	}{{"Requests", l.Requests}, {"Tokens", l.Tokens}, {"InputTokens", l.InputTokens}, {"OutputTokens", l.OutputTokens}} {
		if d.v < 0 {
			return fmt.Errorf("ratelimit: %s.%s is %d; it must be >= 0 (0 means no limit)", name, d.field, d.v)
		}
	}
	if l.Window < 0 {
		return fmt.Errorf("ratelimit: %s.Window is %v; it must be >= 0 (0 means a minute)", name, l.Window)
	}
	if l.Burst < 0 {
		return fmt.Errorf("ratelimit: %s.Burst is %v; it must be >= 0 (0 means Window/12)", name, l.Burst)
	}
	return nil
}

func (l Limits) array() Amounts {
	return Amounts{l.Requests, l.Tokens, l.InputTokens, l.OutputTokens}
}
