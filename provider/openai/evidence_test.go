package openai

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/batchllm/batchllm"
)

// TestRateLimitEvidence checks what a 429 shows about its cause: the quota
// (headers with nothing left, or a message naming the limit and its use)
// or nothing.
func TestRateLimitEvidence(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers map[string]string
		msg     string
		want    batchllm.RateLimitEvidence
	}{
		{"requests exhausted in the headers", map[string]string{"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0"}, "Rate limit reached.", batchllm.EvidenceQuota},
		{"tokens almost exhausted", map[string]string{"x-ratelimit-limit-tokens": "150000", "x-ratelimit-remaining-tokens": "1000"}, "Rate limit reached.", batchllm.EvidenceQuota},
		{"limit and use in the message", nil, "Rate limit reached for gpt-x in organization org-x on requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in 1s.", batchllm.EvidenceQuota},
		{"headers with plenty left", map[string]string{"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "40", "retry-after": "1"}, "Too many requests", batchllm.EvidenceNone},
		{"bare", map[string]string{"retry-after": "1"}, "Rate limit reached for requests. Please try again in 1s.", batchllm.EvidenceNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.headers {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprintf(w, `{"error":{"message":%q,"type":"requests","param":null,"code":"rate_limit_exceeded"}}`, tc.msg)
			}))
			defer srv.Close()
			s, err := New(Config{Model: "gpt-x", APIKey: "sk-test", BaseURL: srv.URL + "/v1/"})
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
