package openai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
)

// canned is one error response as the real API sends it.
type canned struct {
	name    string
	status  int
	body    string
	headers map[string]string
	class   batchllm.ErrorClass
	wait    time.Duration
}

var errorShapes = []canned{
	{"rate limited", 429, `{"error":{"message":"Rate limit reached for gpt-x in organization org-x on requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in 1s.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
		map[string]string{"retry-after": "2", "retry-after-ms": "1500", "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"},
		batchllm.ClassRateLimited, 1500 * time.Millisecond},
	{"tokens rate limited", 429, `{"error":{"message":"Rate limit reached on tokens per min","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`,
		map[string]string{"retry-after": "3"}, batchllm.ClassRateLimited, 3 * time.Second},
	{"slow down", 429, `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"slow_down"}}`, nil, batchllm.ClassRateLimited, 0},
	{"delay in message only", 429, `{"error":{"message":"Rate limit reached on tokens per min (TPM). Please try again in 750ms.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`, nil, batchllm.ClassRateLimited, 750 * time.Millisecond},
	{"insufficient quota", 429, `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
		map[string]string{"retry-after": "2"}, batchllm.ClassFatalBatch, 2 * time.Second},
	{"context length", 400, `{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`, nil, batchllm.ClassFatalItem, 0},
	{"bad key", 401, `{"error":{"message":"Incorrect API key provided: sk-proj-abcdefgh1234.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, nil, batchllm.ClassFatalBatch, 0},
	{"forbidden", 403, `{"error":{"message":"Project does not have access to model","type":"invalid_request_error","param":null,"code":"model_not_found"}}`, nil, batchllm.ClassFatalBatch, 0},
	{"unknown model", 404, `{"error":{"message":"The model gpt-x does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}`, nil, batchllm.ClassFatalItem, 0},
	{"server error", 500, `{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}`, nil, batchllm.ClassTransient, 0},
	{"bad gateway text", 502, `<html>Bad Gateway</html>`, nil, batchllm.ClassTransient, 0},
	{"overloaded", 503, `{"error":{"message":"The engine is currently overloaded","type":"service_unavailable_error","param":null,"code":"server_is_overloaded"}}`, nil, batchllm.ClassOverloaded, 0},
	{"overloaded empty body", 503, ``, nil, batchllm.ClassOverloaded, 0},
	{"truncated 200", 200, `{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"mess`, nil, batchllm.ClassTransient, 0},
}

func TestClassifyErrorShapes(t *testing.T) {
	for _, tc := range errorShapes {
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
			s, err := New(Config{Model: "gpt-x", APIKey: "sk-test-secret-key-123", BaseURL: srv.URL + "/v1/"})
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
			if direct := Classify(err); direct != got {
				t.Errorf("Classify = %+v, default classifier = %+v", direct, got)
			}
			if strings.Contains(err.Error(), "sk-") {
				t.Errorf("error text leaks a key: %v", err)
			}
			if tc.headers["x-ratelimit-limit-requests"] != "" {
				if resp.Limits == nil || resp.Limits.Requests.Limit != 60 || resp.Limits.Requests.Reset != time.Second {
					t.Errorf("Limits = %+v, want requests limit 60 reset 1s", resp.Limits)
				}
			}
		})
	}
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
