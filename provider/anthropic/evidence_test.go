package anthropic

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/batchllm/batchllm"
)

// TestRateLimitEvidence checks that a rate_limit_error with the
// anthropic-ratelimit headers shows the quota exhausted, and one without
// them nothing.
func TestRateLimitEvidence(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    batchllm.RateLimitEvidence
	}{
		{"with the rate-limit headers", map[string]string{"retry-after": "2", "anthropic-ratelimit-input-tokens-limit": "30000",
			"anthropic-ratelimit-input-tokens-remaining": "0", "anthropic-ratelimit-input-tokens-reset": "2030-01-01T00:00:00Z"}, batchllm.EvidenceQuota},
		{"retry-after only", map[string]string{"retry-after": "2"}, batchllm.EvidenceNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.headers {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, `{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization."},"request_id":"req_1"}`)
			}))
			defer srv.Close()
			s, err := New(Config{Model: "claude-x", APIKey: "sk-ant-test", BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: batchllm.Text("hi"), Attempt: 1, State: &batchllm.RetryState{}})
			got := batchllm.DefaultClassifier.Classify(err)
			if got.Class != batchllm.ClassRateLimited || got.Evidence != tc.want {
				t.Fatalf("classified %+v, want rate limited with evidence %v", got, tc.want)
			}
		})
	}
}
