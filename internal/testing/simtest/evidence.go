package simtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/batchllm/batchllm"
)

// EvidenceCase is a 429 a provider sends (its headers and JSON body) and
// the evidence of its cause the strategy must read from it.
type EvidenceCase struct {
	Name    string
	Headers map[string]string
	Body    string
	Want    batchllm.RateLimitEvidence
}

// RateLimitEvidence serves each case's 429 from a loopback server, calls
// the strategy newStrategy builds for the server's URL once, and checks
// that the error is rate limited with the case's evidence.
func RateLimitEvidence(t *testing.T, cases []EvidenceCase, newStrategy func(t *testing.T, url string) batchllm.Strategy[batchllm.Prompt, string]) {
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.Headers {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, tc.Body)
			}))
			defer srv.Close()
			_, err := newStrategy(t, srv.URL).Call(t.Context(), Request(batchllm.Text("hi")))
			got := batchllm.DefaultClassifier.Classify(err)
			if got.Class != batchllm.ClassRateLimited || got.Evidence != tc.Want {
				t.Fatalf("classified %+v, want rate limited with evidence %v (err %v)", got, tc.Want, err)
			}
		})
	}
}
