package openai

import (
	"fmt"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
)

// TestRateLimitEvidence checks what a 429 shows about its cause: the quota
// (headers with nothing left, or a message naming the limit and its use)
// or nothing.
func TestRateLimitEvidence(t *testing.T) {
	body := func(msg string) string {
		return fmt.Sprintf(`{"error":{"message":%q,"type":"requests","param":null,"code":"rate_limit_exceeded"}}`, msg)
	}
	simtest.RateLimitEvidence(t, []simtest.EvidenceCase{
		{Name: "requests exhausted in the headers", Headers: map[string]string{"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0"}, Body: body("Rate limit reached."), Want: batchllm.EvidenceQuota},
		{Name: "tokens almost exhausted", Headers: map[string]string{"x-ratelimit-limit-tokens": "150000", "x-ratelimit-remaining-tokens": "1000"}, Body: body("Rate limit reached."), Want: batchllm.EvidenceQuota},
		{Name: "limit and use in the message", Headers: nil, Body: body("Rate limit reached for gpt-x in organization org-x on requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in 1s."), Want: batchllm.EvidenceQuota},
		{Name: "headers with plenty left", Headers: map[string]string{"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "40", "retry-after": "1"}, Body: body("Too many requests"), Want: batchllm.EvidenceNone},
		{Name: "bare", Headers: map[string]string{"retry-after": "1"}, Body: body("Rate limit reached for requests. Please try again in 1s."), Want: batchllm.EvidenceNone},
	}, func(t *testing.T, url string) batchllm.Strategy[batchllm.Prompt, string] {
		s, err := New(Config{Model: "gpt-x", APIKey: "sk-test", BaseURL: url + "/v1/"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
