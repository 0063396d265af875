package anthropic

import (
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
)

// TestRateLimitEvidence checks that a rate_limit_error with the
// anthropic-ratelimit headers shows the quota exhausted, and one without
// them nothing.
func TestRateLimitEvidence(t *testing.T) {
	const body = `{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization."},"request_id":"req_1"}`
	simtest.RateLimitEvidence(t, []simtest.EvidenceCase{
		{Name: "with the rate-limit headers", Headers: map[string]string{"retry-after": "2", "anthropic-ratelimit-input-tokens-limit": "30000",
			"anthropic-ratelimit-input-tokens-remaining": "0", "anthropic-ratelimit-input-tokens-reset": "2030-01-01T00:00:00Z"}, Body: body, Want: batchllm.EvidenceQuota},
		{Name: "retry-after only", Headers: map[string]string{"retry-after": "2"}, Body: body, Want: batchllm.EvidenceNone},
	}, func(t *testing.T, url string) batchllm.Strategy[batchllm.Prompt, string] {
		s, err := New(Config{Model: "claude-x", APIKey: "sk-ant-test", BaseURL: url})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
