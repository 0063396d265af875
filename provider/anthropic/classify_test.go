package anthropic

import (
	"fmt"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
)

func TestClassifyErrorShapes(t *testing.T) {
	env := func(typ, msg, extra string) string {
		return fmt.Sprintf(`{"type":"error","error":{"type":%q,"message":%q%s},"request_id":"req_011"}`, typ, msg, extra)
	}
	reset := time.Now().Add(30 * time.Second).UTC().Format(time.RFC3339)
	shapes := []simtest.ErrorShape{
		{Name: "rate limited", Status: 429, Body: env("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", ""), Headers: map[string]string{"retry-after": "7", "anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "0", "anthropic-ratelimit-requests-reset": reset}, Class: batchllm.ClassRateLimited, Wait: 7 * time.Second},
		{Name: "spend limit 429", Status: 429, Body: env("rate_limit_error", "You have reached your specified workspace API usage limits.", `,"details":{"error_code":"enforced_spend_limit_reached"}`), Headers: map[string]string{"retry-after": "60"}, Class: batchllm.ClassFatalBatch, Wait: 60 * time.Second},
		{Name: "credit balance 400", Status: 400, Body: env("invalid_request_error", "Your credit balance is too low to access the Anthropic API.", ""), Class: batchllm.ClassFatalBatch},
		{Name: "billing 402", Status: 402, Body: env("billing_error", "billing problem", ""), Class: batchllm.ClassFatalBatch},
		{Name: "overloaded", Status: 529, Body: env("overloaded_error", "Overloaded", ""), Class: batchllm.ClassOverloaded},
		{Name: "overloaded with retry-after", Status: 529, Body: env("overloaded_error", "Overloaded", ""), Headers: map[string]string{"retry-after": "1"}, Class: batchllm.ClassOverloaded, Wait: time.Second},
		{Name: "api error", Status: 500, Body: env("api_error", "Internal server error", ""), Class: batchllm.ClassTransient},
		{Name: "timeout", Status: 504, Body: env("timeout_error", "timeout", ""), Class: batchllm.ClassTransient},
		{Name: "prompt too long", Status: 400, Body: env("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum", ""), Class: batchllm.ClassFatalItem},
		{Name: "too large", Status: 413, Body: env("request_too_large", "Request exceeds the maximum allowed number of bytes.", ""), Class: batchllm.ClassFatalItem},
		{Name: "bad key", Status: 401, Body: env("authentication_error", "invalid x-api-key", ""), Class: batchllm.ClassFatalBatch},
		{Name: "permission", Status: 403, Body: env("permission_error", "Your API key does not have permission to use the specified resource.", ""), Class: batchllm.ClassFatalBatch},
		{Name: "not found", Status: 404, Body: env("not_found_error", "model: claude-x", ""), Class: batchllm.ClassFatalItem},
		{Name: "html 502", Status: 502, Body: "<html>bad gateway</html>", Class: batchllm.ClassTransient},
		{Name: "invalid json 200", Status: 200, Body: `{"id":"msg_1","type":"message",`, Class: batchllm.ClassTransient},
	}
	simtest.ErrorShapes(t, shapes, "sk-ant", func(t *testing.T, url string) batchllm.Strategy[batchllm.Prompt, string] {
		s, err := New(Config{Model: "claude-x", APIKey: "sk-ant-test-secret-1234", BaseURL: url})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T, tc simtest.ErrorShape, resp batchllm.Response[string], err error) {
		if tc.Headers["anthropic-ratelimit-requests-limit"] != "" {
			if resp.Limits == nil || resp.Limits.Requests.Limit != 50 || resp.Limits.Requests.Reset <= 25*time.Second {
				t.Errorf("Limits = %+v, want requests limit 50 reset ~30s", resp.Limits)
			}
		}
	})
}
