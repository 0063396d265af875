package openai

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
)

// errorShapes are error responses as the real API sends them.
var errorShapes = []simtest.ErrorShape{
	{Name: "rate limited", Status: 429, Body: `{"error":{"message":"Rate limit reached for gpt-x in organization org-x on requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in 1s.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`, Headers: map[string]string{"retry-after": "2", "retry-after-ms": "1500", "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"}, Class: batchllm.ClassRateLimited, Wait: 1500 * time.Millisecond},
	{Name: "tokens rate limited", Status: 429, Body: `{"error":{"message":"Rate limit reached on tokens per min","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`, Headers: map[string]string{"retry-after": "3"}, Class: batchllm.ClassRateLimited, Wait: 3 * time.Second},
	{Name: "slow down", Status: 429, Body: `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"slow_down"}}`, Class: batchllm.ClassRateLimited},
	{Name: "delay in message only", Status: 429, Body: `{"error":{"message":"Rate limit reached on tokens per min (TPM). Please try again in 750ms.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`, Class: batchllm.ClassRateLimited, Wait: 750 * time.Millisecond},
	{Name: "insufficient quota", Status: 429, Body: `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`, Headers: map[string]string{"retry-after": "2"}, Class: batchllm.ClassFatalBatch, Wait: 2 * time.Second},
	{Name: "context length", Status: 400, Body: `{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`, Class: batchllm.ClassFatalItem},
	{Name: "bad key", Status: 401, Body: `{"error":{"message":"Incorrect API key provided: sk-proj-abcdefgh1234.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, Class: batchllm.ClassFatalBatch},
	{Name: "forbidden", Status: 403, Body: `{"error":{"message":"Project does not have access to model","type":"invalid_request_error","param":null,"code":"model_not_found"}}`, Class: batchllm.ClassFatalBatch},
	{Name: "unknown model", Status: 404, Body: `{"error":{"message":"The model gpt-x does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}`, Class: batchllm.ClassFatalItem},
	{Name: "server error", Status: 500, Body: `{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}`, Class: batchllm.ClassTransient},
	{Name: "bad gateway text", Status: 502, Body: `<html>Bad Gateway</html>`, Class: batchllm.ClassTransient},
	{Name: "overloaded", Status: 503, Body: `{"error":{"message":"The engine is currently overloaded","type":"service_unavailable_error","param":null,"code":"server_is_overloaded"}}`, Class: batchllm.ClassOverloaded},
	{Name: "overloaded empty body", Status: 503, Body: ``, Class: batchllm.ClassOverloaded},
	{Name: "truncated 200", Status: 200, Body: `{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"mess`, Class: batchllm.ClassTransient},
}

func TestClassifyErrorShapes(t *testing.T) {
	simtest.ErrorShapes(t, errorShapes, "sk-", func(t *testing.T, url string) batchllm.Strategy[batchllm.Prompt, string] {
		s, err := New(Config{Model: "gpt-x", APIKey: "sk-test-secret-key-123", BaseURL: url + "/v1/"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T, tc simtest.ErrorShape, resp batchllm.Response[string], err error) {
		if direct, got := Classify(err), batchllm.DefaultClassifier.Classify(err); direct != got {
			t.Errorf("Classify = %+v, default classifier = %+v", direct, got)
		}
		if tc.Headers["x-ratelimit-limit-requests"] != "" {
			if resp.Limits == nil || resp.Limits.Requests.Limit != 60 || resp.Limits.Requests.Reset != time.Second {
				t.Errorf("Limits = %+v, want requests limit 60 reset 1s", resp.Limits)
			}
		}
	})
}

func TestClassifyNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connection refused from now on
	s, err := New(Config{Model: "gpt-x", APIKey: "k", BaseURL: url + "/v1/"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Call(context.Background(), batchllm.Request[batchllm.Prompt]{Input: batchllm.Text("hi"), State: &batchllm.RetryState{}})
	if got := Classify(err); got.Class != batchllm.ClassTransient {
		t.Fatalf("connection refused: class %v, want transient (err %v)", got.Class, err)
	}
	if ce, ok := errors.AsType[*batchllm.ClassifiedError](err); !ok || ce.Class != batchllm.ClassTransient {
		t.Fatalf("error %v is not wrapped as transient", err)
	}
}

func TestMessageDelay(t *testing.T) {
	for msg, want := range map[string]time.Duration{
		"Rate limit reached for gpt-x on requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in 1s. Visit": time.Second,
		"Please try again in 1.5s.": 1500 * time.Millisecond,
		"Please try again in 20ms.": 20 * time.Millisecond,
		"Please try again in 6m0s.": 6 * time.Minute,
		"You exceeded your quota":   0,
		"try again in a moment":     0,
	} {
		if got := MessageDelay(msg); got != want {
			t.Errorf("MessageDelay(%q) = %v, want %v", msg, got, want)
		}
	}
}

func FuzzMessageDelay(f *testing.F) {
	f.Add("Please try again in 1.5s.")
	f.Add("try again in 99999999999h")
	f.Add("try again in 1m2s3ms")
	f.Fuzz(func(t *testing.T, msg string) {
		if d := MessageDelay(msg); d < 0 || d > 24*time.Hour {
			t.Fatalf("MessageDelay(%q) = %v", msg, d)
		}
	})
}
