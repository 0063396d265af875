package gemini

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
)

const quotaBody = `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED",
  "details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_input_token_count","quotaId":"%s","quotaDimensions":{"location":"global","model":"gemini-x"},"quotaValue":"250000"}]},
             {"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},
             {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"%s"}]}}`

func TestClassifyErrorShapes(t *testing.T) {
	cacheMiss := map[string]bool{"cache expired": true, "cache unknown": true}
	shapes := []simtest.ErrorShape{
		{Name: "per-minute quota", Status: 429, Body: fmt.Sprintf(quotaBody, "GenerateContentInputTokensPerModelPerMinute-FreeTier", "26s"), Class: batchllm.ClassRateLimited, Wait: 26 * time.Second},
		{Name: "fractional delay", Status: 429, Body: fmt.Sprintf(quotaBody, "GenerateRequestsPerMinutePerProjectPerModel", "25.465s"), Class: batchllm.ClassRateLimited, Wait: 25465 * time.Millisecond},
		{Name: "daily quota", Status: 429, Body: fmt.Sprintf(quotaBody, "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "3600s"), Class: batchllm.ClassFatalBatch, Wait: time.Hour},
		{Name: "delay in message only", Status: 429, Body: `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: https://ai.dev/rate-limit. \n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 20, model: gemini-2.5-flash\nPlease retry in 45.5s.","status":"RESOURCE_EXHAUSTED"}}`, Class: batchllm.ClassRateLimited, Wait: 45500 * time.Millisecond},
		{Name: "no code in body", Status: 429, Body: `{"error":{"message":"slow","status":"RESOURCE_EXHAUSTED"}}`, Class: batchllm.ClassRateLimited},
		{Name: "overloaded", Status: 503, Body: `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`, Class: batchllm.ClassOverloaded},
		{Name: "internal", Status: 500, Body: `{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`, Class: batchllm.ClassTransient},
		{Name: "deadline", Status: 504, Body: `{"error":{"code":504,"message":"Deadline exceeded","status":"DEADLINE_EXCEEDED"}}`, Class: batchllm.ClassTransient},
		{Name: "text 502", Status: 502, Body: `<html>Bad Gateway</html>`, Class: batchllm.ClassTransient},
		{Name: "bad key", Status: 400, Body: `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`, Class: batchllm.ClassFatalBatch},
		{Name: "region", Status: 400, Body: `{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}`, Class: batchllm.ClassFatalBatch},
		{Name: "too long", Status: 400, Body: `{"error":{"code":400,"message":"The input token count (2000000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}`, Class: batchllm.ClassFatalItem},
		{Name: "permission", Status: 403, Body: `{"error":{"code":403,"message":"Method doesn't allow unregistered callers.","status":"PERMISSION_DENIED"}}`, Class: batchllm.ClassFatalBatch},
		{Name: "cache expired", Status: 403, Body: `{"error":{"code":403,"message":"CachedContent not found (or permission denied)","status":"PERMISSION_DENIED"}}`, Class: batchllm.ClassFatalBatch},
		{Name: "cache unknown", Status: 404, Body: `{"error":{"code":404,"message":"cachedContents/abc is not found.","status":"NOT_FOUND"}}`, Class: batchllm.ClassFatalItem},
		{Name: "truncated 200", Status: 200, Body: `{"candidates":[{"content":{"role":"model","parts":[{"te`, Class: batchllm.ClassTransient},
	}
	simtest.ErrorShapes(t, shapes, "AIza", func(t *testing.T, url string) batchllm.Strategy[batchllm.Prompt, string] {
		return newStrategy(t, Config{Model: "gemini-x", APIKey: "AIzaSyTESTKEY1234567890", BaseURL: url})
	}, func(t *testing.T, tc simtest.ErrorShape, resp batchllm.Response[string], err error) {
		if IsCacheNotFound(err) != cacheMiss[tc.Name] {
			t.Errorf("IsCacheNotFound = %v, want %v", !cacheMiss[tc.Name], cacheMiss[tc.Name])
		}
		if tc.Wait > 0 && (resp.Limits == nil || resp.Limits.RetryAfter != tc.Wait) {
			t.Errorf("Limits = %+v, want RetryAfter %v", resp.Limits, tc.Wait)
		}
	})
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
