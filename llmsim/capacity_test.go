package llmsim

import (
	"errors"
	"net/http"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"google.golang.org/genai"
)

// A capacity 429 names no quota and carries no rate-limit headers; with
// FaultCapacity it asks for a wait, with FaultCapacityNoWait it does not.
func TestCapacityFaults(t *testing.T) {
	s := start(t, Config{})
	for _, fault := range []Fault{FaultCapacity, FaultCapacityNoWait} {
		errs := sdkCalls(t, t.Context(), s, s.GeminiBaseURL(), nil, string(fault))
		wantWait := fault == FaultCapacity
		var oe *openai.Error
		if !errors.As(errs["openai"], &oe) || oe.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s openai: %v, want a 429", fault, errs["openai"])
		}
		checkHeaders := func(prov string, h http.Header) {
			for k := range h {
				if len(k) > 12 && (k[:12] == "X-Ratelimit-" || k[:12] == "Anthropic-Ra") {
					t.Errorf("%s %s: rate-limit header %s on a capacity 429", fault, prov, k)
				}
			}
			if got := h.Get("Retry-After") != ""; got != wantWait {
				t.Errorf("%s %s: Retry-After present %v, want %v", fault, prov, got, wantWait)
			}
		}
		checkHeaders("openai", oe.Response.Header)
		var ae *anthropic.Error
		if !errors.As(errs["anthropic"], &ae) || ae.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s anthropic: %v, want a 429", fault, errs["anthropic"])
		}
		checkHeaders("anthropic", ae.Response.Header)
		var ge genai.APIError
		if !errors.As(errs["gemini"], &ge) || ge.Code != http.StatusTooManyRequests || ge.Status != "RESOURCE_EXHAUSTED" {
			t.Fatalf("%s gemini: %v, want 429 RESOURCE_EXHAUSTED", fault, errs["gemini"])
		}
		var retryInfo, quotaFailure bool
		for _, d := range ge.Details {
			switch d["@type"] {
			case "type.googleapis.com/google.rpc.RetryInfo":
				retryInfo = true
			case "type.googleapis.com/google.rpc.QuotaFailure":
				quotaFailure = true
			}
		}
		if quotaFailure || retryInfo != wantWait {
			t.Errorf("%s gemini details %v: want no QuotaFailure and RetryInfo %v", fault, ge.Details, wantWait)
		}
	}
	if st := s.Stats().OpenAI; st.Faults[string(FaultCapacity)] != 1 || st.Responses["429"] != 2 {
		t.Errorf("openai stats %+v, want one capacity fault counted and two 429s", st)
	}
}

// TokenFactor scales the prompt tokens the provider counts, in usage and
// against its limits.
func TestTokenFactor(t *testing.T) {
	plain := start(t, Config{})
	scaled := start(t, Config{OpenAI: ProviderConfig{TokenFactor: 1.25}})
	usage := func(s *Server) int64 {
		c := openAIClient(s)
		r, err := c.Chat.Completions.New(t.Context(), chatParams("count these words for me please, all of them"))
		if err != nil {
			t.Fatal(err)
		}
		return r.Usage.PromptTokens
	}
	p, q := usage(plain), usage(scaled)
	if want := int64(float64(p)*1.25 + 0.5); q != want {
		t.Fatalf("prompt tokens %d with TokenFactor 1.25, want %d (1.25 × %d)", q, want, p)
	}
}
