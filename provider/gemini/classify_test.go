package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
)

const quotaBody = `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED",
  "details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_input_token_count","quotaId":"%s","quotaDimensions":{"location":"global","model":"gemini-x"},"quotaValue":"250000"}]},
             {"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},
             {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"%s"}]}}`

func TestClassifyErrorShapes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		class     batchllm.ErrorClass
		wait      time.Duration
		cacheMiss bool
	}{
		{"per-minute quota", 429, fmt.Sprintf(quotaBody, "GenerateContentInputTokensPerModelPerMinute-FreeTier", "26s"), batchllm.ClassRateLimited, 26 * time.Second, false},
		{"fractional delay", 429, fmt.Sprintf(quotaBody, "GenerateRequestsPerMinutePerProjectPerModel", "25.465s"), batchllm.ClassRateLimited, 25465 * time.Millisecond, false},
		{"daily quota", 429, fmt.Sprintf(quotaBody, "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "3600s"), batchllm.ClassFatalBatch, time.Hour, false},
		{"no code in body", 429, `{"error":{"message":"slow","status":"RESOURCE_EXHAUSTED"}}`, batchllm.ClassRateLimited, 0, false},
		{"overloaded", 503, `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`, batchllm.ClassOverloaded, 0, false},
		{"internal", 500, `{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`, batchllm.ClassTransient, 0, false},
		{"deadline", 504, `{"error":{"code":504,"message":"Deadline exceeded","status":"DEADLINE_EXCEEDED"}}`, batchllm.ClassTransient, 0, false},
		{"text 502", 502, `<html>Bad Gateway</html>`, batchllm.ClassTransient, 0, false},
		{"bad key", 400, `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`, batchllm.ClassFatalBatch, 0, false},
		{"region", 400, `{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}`, batchllm.ClassFatalBatch, 0, false},
		{"too long", 400, `{"error":{"code":400,"message":"The input token count (2000000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}`, batchllm.ClassFatalItem, 0, false},
		{"permission", 403, `{"error":{"code":403,"message":"Method doesn't allow unregistered callers.","status":"PERMISSION_DENIED"}}`, batchllm.ClassFatalBatch, 0, false},
		{"cache expired", 403, `{"error":{"code":403,"message":"CachedContent not found (or permission denied)","status":"PERMISSION_DENIED"}}`, batchllm.ClassFatalBatch, 0, true},
		{"cache unknown", 404, `{"error":{"code":404,"message":"cachedContents/abc is not found.","status":"NOT_FOUND"}}`, batchllm.ClassFatalItem, 0, true},
		{"truncated 200", 200, `{"candidates":[{"content":{"role":"model","parts":[{"te`, batchllm.ClassTransient, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			s, err := New(Config{Model: "gemini-x", APIKey: "AIzaSyTESTKEY1234567890", BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := s.Call(context.Background(), batchllm.Request[batchllm.Prompt]{Input: batchllm.Text("hi"), Attempt: 1, State: &batchllm.RetryState{}})
			if err == nil {
				t.Fatal("Call succeeded, want an error")
			}
			got := batchllm.DefaultClassifier.Classify(err)
			if got.Class != tc.class || got.RetryAfter != tc.wait {
				t.Errorf("class = %v wait %v, want %v wait %v (err: %v)", got.Class, got.RetryAfter, tc.class, tc.wait, err)
			}
			if IsCacheNotFound(err) != tc.cacheMiss {
				t.Errorf("IsCacheNotFound = %v, want %v", !tc.cacheMiss, tc.cacheMiss)
			}
			if tc.wait > 0 && (resp.Limits == nil || resp.Limits.RetryAfter != tc.wait) {
				t.Errorf("Limits = %+v, want RetryAfter %v", resp.Limits, tc.wait)
			}
			if strings.Contains(err.Error(), "AIza") {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
}

func TestProtoDuration(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want time.Duration
	}{
		{"26s", 26 * time.Second}, {"25.465s", 25465 * time.Millisecond}, {"0s", 0}, {"-3s", 0},
		{"abc", 0}, {nil, 0}, {42.0, 0},
		{map[string]any{"seconds": "3", "nanos": 5e8}, 3500 * time.Millisecond},
		{map[string]any{"seconds": 2.0}, 2 * time.Second},
		{"1e20s", 24 * time.Hour},
	} {
		if got := ProtoDuration(tc.in); got != tc.want {
			t.Errorf("ProtoDuration(%#v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func FuzzProtoDuration(f *testing.F) {
	for _, s := range []string{"26s", "25.465s", "", "s", "-1s", "NaN", "Infs", "1e400s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d := ProtoDuration(s); d < 0 || d > 24*time.Hour {
			t.Fatalf("ProtoDuration(%q) = %v", s, d)
		}
	})
}

func TestDisplayName(t *testing.T) {
	a := DisplayName("gemini-x", "sys", []string{"doc"}, map[string]string{"team": "a"})
	b := DisplayName("gemini-x", "sys", []string{"doc"}, map[string]string{"team": "b"})
	c := DisplayName("models/gemini-x", "sys", []string{"doc"}, map[string]string{"team": "a"})
	d := DisplayName("gemini-x", "sys", []string{"do", "c"}, map[string]string{"team": "a"})
	if a == b || a == d {
		t.Fatalf("identities collide: %q %q %q", a, b, d)
	}
	if a != c {
		t.Fatalf("models/ prefix changes identity: %q vs %q", a, c)
	}
	if !strings.HasPrefix(a, "batchllm/gemini-x/") {
		t.Fatalf("display name %q does not name the model", a)
	}
	long := DisplayName(strings.Repeat("m", 300), "", []string{"x"}, nil)
	if len(long) > maxDisplayName {
		t.Fatalf("display name is %d bytes, want <= %d", len(long), maxDisplayName)
	}
}

func TestErrorLimits(t *testing.T) {
	var ae genai.APIError
	if err := json.Unmarshal([]byte(fmt.Sprintf(quotaBody, "GenerateContentInputTokensPerModelPerMinute-FreeTier", "26s")), &struct {
		Error *genai.APIError `json:"error"`
	}{&ae}); err != nil {
		t.Fatal(err)
	}
	want := batchllm.LimitInfo{InputTokens: batchllm.LimitWindow{Limit: 250000, Reset: 26 * time.Second}, RetryAfter: 26 * time.Second}
	if got := ErrorLimits(ae); got == nil || *got != want {
		t.Fatalf("ErrorLimits = %+v, want %+v", got, want)
	}
	if got := ErrorLimits(genai.APIError{Code: 500}); got != nil {
		t.Fatalf("ErrorLimits of a 500 = %+v, want nil", got)
	}
}
