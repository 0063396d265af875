package gemini

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/batchllm/batchllm"
)

// TestRateLimitEvidence checks that a QuotaFailure shows the quota
// exhausted and that RESOURCE_EXHAUSTED without one is a capacity refusal
// (Gemini's shared pool: "Resource has been exhausted (e.g. check quota).").
func TestRateLimitEvidence(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want batchllm.RateLimitEvidence
	}{
		{"per-minute QuotaFailure", fmt.Sprintf(quotaBody, "GenerateRequestsPerMinutePerProjectPerModel", "2s"), batchllm.EvidenceQuota},
		{"no QuotaFailure", `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`, batchllm.EvidenceCapacity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			s, err := New(Config{Model: "gemini-x", APIKey: "AIzaSyTEST", BaseURL: srv.URL})
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
