package anthropic

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
)

func TestClassifyErrorShapes(t *testing.T) {
	env := func(typ, msg, extra string) string {
		return fmt.Sprintf(`{"type":"error","error":{"type":%q,"message":%q%s},"request_id":"req_011"}`, typ, msg, extra)
	}
	reset := time.Now().Add(30 * time.Second).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		headers map[string]string
		class   batchllm.ErrorClass
		wait    time.Duration
	}{
		{"rate limited", 429, env("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", ""),
			map[string]string{"retry-after": "7", "anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "0", "anthropic-ratelimit-requests-reset": reset},
			batchllm.ClassRateLimited, 7 * time.Second},
		{"spend limit 429", 429, env("rate_limit_error", "You have reached your specified workspace API usage limits.", `,"details":{"error_code":"enforced_spend_limit_reached"}`),
			map[string]string{"retry-after": "60"}, batchllm.ClassFatalBatch, 60 * time.Second},
		{"credit balance 400", 400, env("invalid_request_error", "Your credit balance is too low to access the Anthropic API.", ""), nil, batchllm.ClassFatalBatch, 0},
		{"billing 402", 402, env("billing_error", "billing problem", ""), nil, batchllm.ClassFatalBatch, 0},
		{"overloaded", 529, env("overloaded_error", "Overloaded", ""), nil, batchllm.ClassOverloaded, 0},
		{"overloaded with retry-after", 529, env("overloaded_error", "Overloaded", ""), map[string]string{"retry-after": "1"}, batchllm.ClassOverloaded, time.Second},
		{"api error", 500, env("api_error", "Internal server error", ""), nil, batchllm.ClassTransient, 0},
		{"timeout", 504, env("timeout_error", "timeout", ""), nil, batchllm.ClassTransient, 0},
		{"prompt too long", 400, env("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum", ""), nil, batchllm.ClassFatalItem, 0},
		{"too large", 413, env("request_too_large", "Request exceeds the maximum allowed number of bytes.", ""), nil, batchllm.ClassFatalItem, 0},
		{"bad key", 401, env("authentication_error", "invalid x-api-key", ""), nil, batchllm.ClassFatalBatch, 0},
		{"permission", 403, env("permission_error", "Your API key does not have permission to use the specified resource.", ""), nil, batchllm.ClassFatalBatch, 0},
		{"not found", 404, env("not_found_error", "model: claude-x", ""), nil, batchllm.ClassFatalItem, 0},
		{"html 502", 502, "<html>bad gateway</html>", nil, batchllm.ClassTransient, 0},
		{"invalid json 200", 200, `{"id":"msg_1","type":"message",`, nil, batchllm.ClassTransient, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.headers {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			s, err := New(Config{Model: "claude-x", APIKey: "sk-ant-test-secret-1234", BaseURL: srv.URL})
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
			if strings.Contains(err.Error(), "sk-ant") {
				t.Errorf("error text leaks a key: %v", err)
			}
			if tc.headers["anthropic-ratelimit-requests-limit"] != "" {
				if resp.Limits == nil || resp.Limits.Requests.Limit != 50 || resp.Limits.Requests.Reset <= 25*time.Second {
					t.Errorf("Limits = %+v, want requests limit 50 reset ~30s", resp.Limits)
				}
			}
		})
	}
}
