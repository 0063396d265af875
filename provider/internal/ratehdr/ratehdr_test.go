package ratehdr

import (
	"net/http"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"none", hdr(), 0},
		{"seconds", hdr("retry-after", "2"), 2 * time.Second},
		{"fractional seconds", hdr("retry-after", "0.5"), 500 * time.Millisecond},
		{"ms wins", hdr("retry-after", "2", "retry-after-ms", "1500"), 1500 * time.Millisecond},
		{"fractional ms", hdr("retry-after-ms", "12.5"), 12500 * time.Microsecond},
		{"bad ms falls back", hdr("retry-after", "3", "retry-after-ms", "soon"), 3 * time.Second},
		{"http date", hdr("retry-after", now.Add(90*time.Second).Format(http.TimeFormat)), 90 * time.Second},
		{"past date", hdr("retry-after", now.Add(-time.Minute).Format(http.TimeFormat)), 0},
		{"negative", hdr("retry-after", "-4"), 0},
		{"garbage", hdr("retry-after", "tomorrow"), 0},
		{"huge", hdr("retry-after", "1e300"), maxWait},
		{"NaN", hdr("retry-after", "NaN"), 0},
	} {
		if got := RetryAfter(tc.h, now); got != tc.want {
			t.Errorf("%s: RetryAfter = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestOpenAIDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1s": time.Second, "6ms": 6 * time.Millisecond, "1m20s": 80 * time.Second,
		"17.28s": 17280 * time.Millisecond, "6m0s": 6 * time.Minute, "20": 20 * time.Second,
		"": 0, "-1s": 0, "1d": 0, "x": 0,
	} {
		if got := OpenAIDuration(in); got != want {
			t.Errorf("OpenAIDuration(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestOpenAI(t *testing.T) {
	h := hdr(
		"x-ratelimit-limit-requests", "60",
		"x-ratelimit-remaining-requests", "59",
		"x-ratelimit-reset-requests", "1s",
		"x-ratelimit-limit-tokens", "150000",
		"x-ratelimit-remaining-tokens", "149984",
		"x-ratelimit-reset-tokens", "6m0s",
		"retry-after", "2",
	)
	got := OpenAI(h, now)
	want := &batchllm.LimitInfo{
		Requests:   batchllm.LimitWindow{Limit: 60, Remaining: 59, Reset: time.Second},
		Tokens:     batchllm.LimitWindow{Limit: 150000, Remaining: 149984, Reset: 6 * time.Minute},
		RetryAfter: 2 * time.Second,
	}
	if got == nil || *got != *want {
		t.Fatalf("OpenAI = %+v, want %+v", got, want)
	}
	if got := OpenAI(hdr("x-request-id", "req_1"), now); got != nil {
		t.Fatalf("OpenAI without limit headers = %+v, want nil", got)
	}
}

func TestAnthropic(t *testing.T) {
	reset := now.Add(30 * time.Second).Format(time.RFC3339)
	h := hdr(
		"anthropic-ratelimit-requests-limit", "50",
		"anthropic-ratelimit-requests-remaining", "49",
		"anthropic-ratelimit-requests-reset", reset,
		"anthropic-ratelimit-tokens-limit", "90000",
		"anthropic-ratelimit-tokens-remaining", "80000",
		"anthropic-ratelimit-tokens-reset", reset,
		"anthropic-ratelimit-input-tokens-limit", "40000",
		"anthropic-ratelimit-input-tokens-remaining", "39000",
		"anthropic-ratelimit-input-tokens-reset", now.Add(-time.Second).Format(time.RFC3339),
		"anthropic-ratelimit-output-tokens-limit", "8000",
		"anthropic-ratelimit-output-tokens-remaining", "7990",
		"anthropic-ratelimit-output-tokens-reset", "not a time",
		"retry-after", "7",
	)
	got := Anthropic(h, now)
	want := &batchllm.LimitInfo{
		Requests: batchllm.LimitWindow{Limit: 50, Remaining: 49, Reset: 30 * time.Second},
		// 10,000 used, back in 30 s: a window of 4.5 minutes.
		Tokens:       batchllm.LimitWindow{Limit: 90000, Remaining: 80000, Reset: 30 * time.Second, Window: 270 * time.Second},
		InputTokens:  batchllm.LimitWindow{Limit: 40000, Remaining: 39000},
		OutputTokens: batchllm.LimitWindow{Limit: 8000, Remaining: 7990},
		RetryAfter:   7 * time.Second,
	}
	if got == nil || *got != *want {
		t.Fatalf("Anthropic = %+v, want %+v", got, want)
	}
	if got := Anthropic(hdr(), now); got != nil {
		t.Fatalf("Anthropic without headers = %+v, want nil", got)
	}
}

// checkInfo asserts the invariants every parsed LimitInfo keeps, whatever
// the input: nothing negative and no delay beyond maxWait.
func checkInfo(t *testing.T, li *batchllm.LimitInfo) {
	t.Helper()
	if li == nil {
		return
	}
	for _, w := range []batchllm.LimitWindow{li.Requests, li.Tokens, li.InputTokens, li.OutputTokens} {
		if w.Limit < 0 || w.Remaining < 0 || w.Reset < 0 || w.Reset > maxWait {
			t.Fatalf("bad window %+v", w)
		}
	}
	if li.RetryAfter < 0 || li.RetryAfter > maxWait {
		t.Fatalf("bad RetryAfter %v", li.RetryAfter)
	}
}

func FuzzOpenAI(f *testing.F) {
	f.Add("60", "59", "1m20s", "2", "1500")
	f.Add("", "", "6ms", "Wed, 21 Oct 2026 07:28:00 GMT", "")
	f.Add("-1", "x", "9999999h", "1e309", "NaN")
	f.Fuzz(func(t *testing.T, limit, remaining, reset, retryAfter, retryAfterMs string) {
		h := hdr("x-ratelimit-limit-tokens", limit, "x-ratelimit-remaining-tokens", remaining,
			"x-ratelimit-reset-tokens", reset, "retry-after", retryAfter, "retry-after-ms", retryAfterMs)
		checkInfo(t, OpenAI(h, now))
	})
}

func FuzzAnthropic(f *testing.F) {
	f.Add("50", "49", "2026-11-29T12:00:30Z", "7")
	f.Add("", "", "2026-11-29T12:00:30.123456789+02:00", "")
	f.Add("99999999999999999999", "-3", "9999-12-31T23:59:59Z", "-1")
	f.Fuzz(func(t *testing.T, limit, remaining, reset, retryAfter string) {
		h := hdr("anthropic-ratelimit-requests-limit", limit, "anthropic-ratelimit-requests-remaining", remaining,
			"anthropic-ratelimit-requests-reset", reset, "retry-after", retryAfter)
		checkInfo(t, Anthropic(h, now))
	})
}

func TestEvidenceAndQuotaMessage(t *testing.T) {
	w := func(limit, remaining int64) batchllm.LimitWindow {
		return batchllm.LimitWindow{Limit: limit, Remaining: remaining}
	}
	for _, c := range []struct {
		li   *batchllm.LimitInfo
		want batchllm.RateLimitEvidence
	}{
		{nil, batchllm.EvidenceNone},
		{&batchllm.LimitInfo{RetryAfter: time.Second}, batchllm.EvidenceNone},
		{&batchllm.LimitInfo{Requests: w(60, 0)}, batchllm.EvidenceQuota},
		{&batchllm.LimitInfo{Requests: w(60, 30), Tokens: w(100000, 1000)}, batchllm.EvidenceQuota},
		{&batchllm.LimitInfo{Requests: w(60, 30), Tokens: w(100000, 1001)}, batchllm.EvidenceNone},
	} {
		if got := Evidence(c.li); got != c.want {
			t.Errorf("Evidence(%+v) = %v, want %v", c.li, got, c.want)
		}
	}
	for msg, want := range map[string]bool{
		"Rate limit reached for gpt-x in organization org-x on requests per min (RPM): Limit 60, Used 60, Requested 1.": true,
		"Rate limit reached for gpt-x on tokens per min (TPM): Limit 30000, Requested 500.":                             true,
		"Rate limit reached for requests. Please try again in 1s.":                                                      false,
		"": false,
	} {
		if got := QuotaMessage(msg); got != want {
			t.Errorf("QuotaMessage(%q) = %v, want %v", msg, got, want)
		}
	}
	if HasLimits(&batchllm.LimitInfo{RetryAfter: time.Second}) || !HasLimits(&batchllm.LimitInfo{Tokens: w(1, 0)}) {
		t.Error("HasLimits")
	}
}

func TestWindowOf(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name        string
		w           batchllm.LimitWindow
		granularity time.Duration
		want        time.Duration
	}{
		// 20 per second: 2 used, refilled in 100 ms.
		{"1 s window", batchllm.LimitWindow{Limit: 20, Remaining: 18, Reset: 100 * ms}, ms, time.Second},
		// remaining rounded down: 1.4 used really, 70 ms, read as 2 used.
		{"1 s, remaining rounded down", batchllm.LimitWindow{Limit: 20, Remaining: 18, Reset: 70 * ms}, ms, time.Second},
		{"10 s window", batchllm.LimitWindow{Limit: 100, Remaining: 95, Reset: 500 * ms}, ms, 10 * time.Second},
		{"a minute", batchllm.LimitWindow{Limit: 60, Remaining: 0, Reset: 60 * time.Second}, ms, time.Minute},
		{"all used, full in 6m0s: a window of 6 minutes", batchllm.LimitWindow{Limit: 150000, Remaining: 0, Reset: 6 * time.Minute}, ms, 6 * time.Minute},
		{"a day", batchllm.LimitWindow{Limit: 10000, Remaining: 9990, Reset: 86400 * ms}, ms, 24 * time.Hour},
		{"a raw 2 s window from a precise reading", batchllm.LimitWindow{Limit: 100, Remaining: 50, Reset: time.Second}, ms, 2 * time.Second},
		{"one used says nothing", batchllm.LimitWindow{Limit: 20, Remaining: 19, Reset: 50 * ms}, ms, 0},
		{"a reset too coarse for its format", batchllm.LimitWindow{Limit: 50, Remaining: 40, Reset: 12 * time.Second}, time.Second, 0},
		{"Anthropic whole seconds, long enough", batchllm.LimitWindow{Limit: 50, Remaining: 10, Reset: 48 * time.Second}, time.Second, time.Minute},
		{"unknown", batchllm.LimitWindow{}, ms, 0},
	} {
		if got := WindowOf(c.w, c.granularity); got != c.want {
			t.Errorf("%s: WindowOf(%+v) = %v, want %v", c.name, c.w, got, c.want)
		}
	}
	// Through the header parsers.
	h := http.Header{}
	h.Set("X-Ratelimit-Limit-Requests", "20")
	h.Set("X-Ratelimit-Remaining-Requests", "15")
	h.Set("X-Ratelimit-Reset-Requests", "250ms")
	if li := OpenAI(h, time.Now()); li.Requests.Window != time.Second {
		t.Errorf("OpenAI window %v, want 1s", li.Requests.Window)
	}
}
