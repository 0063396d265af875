package openai

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3/option"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
)

// TestRequestBody checks what goes on the wire for every option.
func TestRequestBody(t *testing.T) {
	rec := simtest.Record(t, `{"id":"c","object":"chat.completion","model":"gpt-x-2026","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	temp := 0.5
	s, err := New(Config{
		Model: "gpt-x", APIKey: "k", BaseURL: rec.URL + "/v1/", System: "sys", Temperature: &temp, MaxTokens: 77,
		Stop: []string{"END"}, Extra: map[string]any{"seed": 7, "metadata.team": "a"},
		RequestOptions: []option.RequestOption{option.WithHeader("X-Trace", "t1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	override := 0.9
	p := batchllm.Prompt{Model: "gpt-y", Temperature: &override, Messages: []batchllm.Message{{Role: "user", Content: "q"}}}
	p.Schema = &batchllm.Schema{Name: "s", Description: "d", JSON: json.RawMessage(`{"type":"object"}`)}
	resp, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: p, State: &batchllm.RetryState{}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model != "gpt-x-2026" || resp.Output != "ok" || resp.Usage != (batchllm.Usage{InputTokens: 5, OutputTokens: 1}) {
		t.Errorf("response %+v", resp)
	}
	got, _ := json.Marshal(rec.Body())
	want := `{"max_completion_tokens":77,"messages":[{"content":"sys","role":"system"},{"content":"q","role":"user"}],"metadata":{"team":"a"},"model":"gpt-y","response_format":{"json_schema":{"description":"d","name":"s","schema":{"type":"object"},"strict":true},"type":"json_schema"},"seed":7,"stop":["END"],"temperature":0.9}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if rec.Header().Get("X-Trace") != "t1" || rec.Header().Get("X-Stainless-Retry-Count") != "0" {
		t.Errorf("headers %v", rec.Header())
	}

	s.cfg.LegacyMaxTokens = true
	rec.Reset()
	if _, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: batchllm.Text("q"), State: &batchllm.RetryState{}}); err != nil {
		t.Fatal(err)
	}
	if rec.Body()["max_tokens"] != 77.0 || rec.Body()["max_completion_tokens"] != nil {
		t.Errorf("legacy max tokens: %v", rec.Body())
	}
}

func TestRefusalAndContentFilter(t *testing.T) {
	for _, tc := range []struct {
		name, message, finish string
		want                  batchllm.FinishReason
	}{
		{"refusal", `{"role":"assistant","content":null,"refusal":"I can't help with that."}`, "stop", batchllm.FinishRefusal},
		{"content filter", `{"role":"assistant","content":""}`, "content_filter", batchllm.FinishContentFilter},
		{"partial content filter", `{"role":"assistant","content":"Half of"}`, "content_filter", batchllm.FinishContentFilter},
		{"reasoning used the budget", `{"role":"assistant","content":""}`, "length", batchllm.FinishLength},
	} {
		url := simtest.Replay(t, http.StatusOK, nil, `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":`+tc.message+`,"finish_reason":"`+tc.finish+`"}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`)
		s, _ := New(Config{Model: "m", APIKey: "k", BaseURL: url + "/v1/"})
		resp, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: batchllm.Text("q"), State: &batchllm.RetryState{}})
		if batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassTruncated || resp.Usage.OutputTokens != 3 {
			t.Errorf("%s: %v, usage %+v; want a truncated error that keeps the usage", tc.name, err, resp.Usage)
		}
		if resp.FinishReason != tc.want || resp.RawFinishReason != tc.finish {
			t.Errorf("%s: finish %q raw %q, want %q raw %q", tc.name, resp.FinishReason, resp.RawFinishReason, tc.want, tc.finish)
		}
		if te, ok := errors.AsType[*batchllm.TruncatedError](err); !ok || te.Reason != tc.want {
			t.Errorf("%s: error %v is not a TruncatedError with reason %s", tc.name, err, tc.want)
		}
	}
}
