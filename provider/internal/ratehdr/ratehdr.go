// Package ratehdr parses the rate-limit headers of the OpenAI and Anthropic
// APIs (and the standard Retry-After) into a [batchllm.LimitInfo].
//
// Every parser is total: a missing, empty, negative or malformed value is
// treated as unknown (zero), never as an error, because a provider that
// sends a header we do not understand must not fail a call that succeeded.
package ratehdr

import (
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/batchllm/batchllm"
)

// maxWait caps every parsed delay. No provider asks for more than a day;
// a larger value is a bug or an attack and would overflow arithmetic.
const maxWait = 24 * time.Hour

// RetryAfter returns the wait a response asked for: retry-after-ms
// (milliseconds, possibly fractional; OpenAI and Anthropic send it, and it is
// more precise), else Retry-After as seconds (possibly fractional) or as an
// HTTP date, measured from now. It returns 0 if neither is present or valid.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil {
			return clamp(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return clamp(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return clamp(float64(t.Sub(now)))
	}
	return 0
}

// clamp converts a float nanosecond count to a Duration in [0, maxWait];
// NaN is 0.
func clamp(ns float64) time.Duration {
	if !(ns > 0) { // also catches NaN
		return 0
	}
	if ns >= float64(maxWait) || math.IsInf(ns, 1) {
		return maxWait
	}
	return time.Duration(ns)
}

// OpenAIDuration parses OpenAI's x-ratelimit-reset-* values, which are Go
// duration strings ("1s", "6ms", "1m20s", "17.28s"). Some compatible
// servers send bare seconds ("20" or "0.5"); those are accepted too. It
// returns 0 for anything else.
func OpenAIDuration(s string) time.Duration {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	if d, err := time.ParseDuration(s); err == nil {
		return clamp(float64(d))
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return clamp(f * float64(time.Second))
	}
	return 0
}

// Int parses a non-negative integer header value; anything else is 0.
func Int(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// OpenAI parses the x-ratelimit-{limit,remaining,reset}-{requests,tokens}
// headers and the retry delay of an OpenAI (or OpenAI-compatible) response.
// It returns nil if the response carried none of them.
func OpenAI(h http.Header, now time.Time) *batchllm.LimitInfo {
	window := func(kind string) batchllm.LimitWindow {
		w := batchllm.LimitWindow{
			Limit:     Int(h.Get("X-Ratelimit-Limit-" + kind)),
			Remaining: Int(h.Get("X-Ratelimit-Remaining-" + kind)),
			Reset:     OpenAIDuration(h.Get("X-Ratelimit-Reset-" + kind)),
		}
		// OpenAI's durations are rounded to the millisecond.
		w.Window = WindowOf(w, time.Millisecond)
		return w
	}
	li := batchllm.LimitInfo{
		Requests:   window("Requests"),
		Tokens:     window("Tokens"),
		RetryAfter: RetryAfter(h, now),
	}
	if li == (batchllm.LimitInfo{}) {
		return nil
	}
	return &li
}

// AnthropicReset parses an anthropic-ratelimit-*-reset value, an absolute
// RFC 3339 time, into the time left from now (0 if it is past or invalid).
func AnthropicReset(s string, now time.Time) time.Duration {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return clamp(float64(t.Sub(now)))
}

// Anthropic parses the anthropic-ratelimit-{requests,tokens,input-tokens,
// output-tokens}-{limit,remaining,reset} headers and the retry delay of an
// Anthropic response. It returns nil if the response carried none of them.
func Anthropic(h http.Header, now time.Time) *batchllm.LimitInfo {
	window := func(kind string) batchllm.LimitWindow {
		p := "Anthropic-Ratelimit-" + kind + "-"
		reset := h.Get(p + "Reset")
		w := batchllm.LimitWindow{
			Limit:     Int(h.Get(p + "Limit")),
			Remaining: Int(h.Get(p + "Remaining")),
			Reset:     AnthropicReset(reset, now),
		}
		// RFC 3339 times are whole seconds unless they show a fraction.
		granularity := time.Second
		if strings.Contains(reset, ".") {
			granularity = time.Millisecond
		}
		w.Window = WindowOf(w, granularity)
		return w
	}
	li := batchllm.LimitInfo{
		Requests:     window("Requests"),
		Tokens:       window("Tokens"),
		InputTokens:  window("Input-Tokens"),
		OutputTokens: window("Output-Tokens"),
		RetryAfter:   RetryAfter(h, now),
	}
	if li == (batchllm.LimitInfo{}) {
		return nil
	}
	return &li
}

// Evidence returns what the rate-limit headers of a 429 show about its
// cause: [batchllm.EvidenceQuota] when some reported limit has (almost)
// nothing left, at most 1% of it, else [batchllm.EvidenceNone]. Headers
// that show plenty left say nothing about the cause either way.
func Evidence(li *batchllm.LimitInfo) batchllm.RateLimitEvidence {
	if li == nil {
		return batchllm.EvidenceNone
	}
	for _, w := range [...]batchllm.LimitWindow{li.Requests, li.Tokens, li.InputTokens, li.OutputTokens} {
		if w.Known() && w.Remaining*100 <= w.Limit {
			return batchllm.EvidenceQuota
		}
	}
	return batchllm.EvidenceNone
}

// quotaMessage matches the part of OpenAI's rate-limit message that names
// the quota and its use: "… on requests per min (RPM): Limit 60, Used 60,
// Requested 1." (wire-protocols.md §2.2, from real error dumps), and the
// "Limit 60, Requested 1" of messages that leave out the use.
var quotaMessage = regexp.MustCompile(`Limit [0-9]+, (?:Used|Requested) [0-9]+`)

// QuotaMessage reports whether an error message names a quota and its use,
// as OpenAI's (and compatible servers') rate-limit messages do.
func QuotaMessage(msg string) bool { return quotaMessage.MatchString(msg) }

// HasLimits reports whether li reports any limit (not only a retry delay).
func HasLimits(li *batchllm.LimitInfo) bool {
	return li != nil && (li.Requests.Known() || li.Tokens.Known() || li.InputTokens.Known() || li.OutputTokens.Known())
}

// standardWindows are the windows providers count limits over: Azure
// OpenAI's 1 s and 10 s intervals, the published per-minute limits, and
// per-hour and per-day quotas.
var standardWindows = [...]time.Duration{time.Second, 10 * time.Second, time.Minute, time.Hour, 24 * time.Hour}

// WindowOf derives the length of a limit's window from one reading. Both
// OpenAI and Anthropic refill their limits continuously and report, as the
// reset, the time until the limit is full again, so the refill rate is
// (limit − remaining) / reset and the window limit / rate. A reading is
// used only when it is precise enough: the reset at least 20 times the
// granularity of its format, and at least 2 units used (remaining is
// rounded down, which makes the estimate up to one unit's worth short).
// A short estimate is snapped to the next standard window (1 s, 10 s,
// 1 min, 1 h, 1 day) when it is at least half of it, which the rounding
// guarantees for the right one; with 20 units or more used the estimate
// stands as it is unless it lies within 5% of a standard window. It
// returns 0 when the reading does not say.
func WindowOf(w batchllm.LimitWindow, granularity time.Duration) time.Duration {
	used := w.Limit - w.Remaining
	if !w.Known() || used < 2 || w.Reset < 20*granularity {
		return 0
	}
	est := time.Duration(float64(w.Reset) * float64(w.Limit) / float64(used))
	for _, s := range standardWindows {
		if est <= s+s/20 {
			switch {
			case est >= s-s/20 || est >= s/2 && used < 20:
				return s
			case used >= 20:
				return est
			}
			return 0
		}
	}
	if used >= 20 {
		return min(est, maxWait)
	}
	return 0
}
