package gemini

import (
	"fmt"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
)

// TestRateLimitEvidence checks that a QuotaFailure shows the quota
// exhausted and that RESOURCE_EXHAUSTED without one is a capacity refusal
// (Gemini's shared pool: "Resource has been exhausted (e.g. check quota).").
func TestRateLimitEvidence(t *testing.T) {
	simtest.RateLimitEvidence(t, []simtest.EvidenceCase{
		{Name: "per-minute QuotaFailure", Headers: nil, Body: fmt.Sprintf(quotaBody, "GenerateRequestsPerMinutePerProjectPerModel", "2s"), Want: batchllm.EvidenceQuota},
		{Name: "no QuotaFailure", Headers: nil, Body: `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`, Want: batchllm.EvidenceCapacity},
	}, func(t *testing.T, url string) batchllm.Strategy[batchllm.Prompt, string] {
		s, err := New(Config{Model: "gemini-x", APIKey: "AIzaSyTEST", BaseURL: url})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
