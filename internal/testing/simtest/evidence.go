package simtest

import (
	"net/http"
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

// RateLimitEvidence replays each case's 429 (see [Replay]), calls
// the strategy newStrategy builds for the server's URL once, and checks
// that the error is rate limited with the case's evidence.
func RateLimitEvidence(t *testing.T, cases []EvidenceCase, newStrategy NewAt) {
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			_, err := newStrategy(t, Replay(t, http.StatusTooManyRequests, tc.Headers, tc.Body)).Call(t.Context(), Request(batchllm.Text("hi")))
			got := batchllm.DefaultClassifier.Classify(err)
			if got.Class != batchllm.ClassRateLimited || got.Evidence != tc.Want {
				t.Fatalf("classified %+v, want rate limited with evidence %v (err %v)", got, tc.Want, err)
			}
		})
	}
}
