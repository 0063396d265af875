package gemini

import (
	"encoding/json"
	"net/http"
	"testing"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
)

// TestRequestBody checks what goes on the wire for every option.
func TestRequestBody(t *testing.T) {
	rec := simtest.Record(t, `{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":100,"candidatesTokenCount":5,"thoughtsTokenCount":7,"cachedContentTokenCount":80,"totalTokenCount":112},"modelVersion":"gemini-x-001"}`)
	temp := 0.25
	s, err := New(Config{
		Model: "gemini-x", APIKey: testKey, BaseURL: rec.URL, System: "sys", Temperature: &temp, MaxTokens: 64,
		Stop: []string{"END"}, Extra: map[string]any{"labels": map[string]any{"team": "a"}},
		Headers: http.Header{"X-Trace": {"t1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := batchllm.Prompt{MaxTokens: 32, Messages: []batchllm.Message{{Role: "user", Content: "q"}, {Role: "assistant", Content: "a"}, {Role: "user", Content: "q2"}}}
	p.Schema = &batchllm.Schema{Name: "s", JSON: json.RawMessage(`{"type":"object"}`)}
	resp, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: p, State: &batchllm.RetryState{}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (batchllm.Usage{InputTokens: 100, OutputTokens: 12, CachedInputTokens: 80}); resp.Usage != want || resp.Output != "ok" || resp.Model != "gemini-x-001" {
		t.Errorf("response %+v", resp)
	}
	got, _ := json.Marshal(rec.Body())
	want := `{"contents":[{"parts":[{"text":"q"}],"role":"user"},{"parts":[{"text":"a"}],"role":"model"},{"parts":[{"text":"q2"}],"role":"user"}],"generationConfig":{"maxOutputTokens":32,"responseJsonSchema":{"type":"object"},"responseMimeType":"application/json","stopSequences":["END"],"temperature":0.25},"labels":{"team":"a"},"systemInstruction":{"parts":[{"text":"sys"}],"role":"user"}}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if rec.Header().Get("X-Trace") != "t1" || rec.Header().Get("X-Goog-Api-Key") != testKey {
		t.Errorf("headers %v", rec.Header())
	}
}

func TestBlockedPrompt(t *testing.T) {
	url := simtest.Replay(t, http.StatusOK, nil, `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH"}]},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9}}`)
	s, err := New(Config{Model: "gemini-x", APIKey: testKey, BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	r := batchllm.Request[batchllm.Prompt]{Input: batchllm.Text("bad"), State: &batchllm.RetryState{}}
	resp, err := s.Call(t.Context(), r)
	if batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassTruncated || resp.Usage.InputTokens != 9 || resp.FinishReason != batchllm.FinishContentFilter {
		t.Fatalf("blocked prompt: %v, %+v; want a truncated error with the usage and finish content_filter", err, resp)
	}
	d, err := s.Detailed().Call(t.Context(), r)
	if err != nil || d.Output.BlockReason != "SAFETY" || d.Output.Text != "" {
		t.Fatalf("detailed: %+v, %v; want the block reason and no error", d.Output, err)
	}
}

func TestNewRefusesRetryingClient(t *testing.T) {
	for _, tc := range []struct {
		ro *genai.HTTPRetryOptions
		ok bool
	}{
		{nil, true},
		{&genai.HTTPRetryOptions{Attempts: genai.Ptr[int32](1)}, true},
		{&genai.HTTPRetryOptions{}, false},
		{&genai.HTTPRetryOptions{Attempts: genai.Ptr[int32](3)}, false},
	} {
		c, err := genai.NewClient(t.Context(), &genai.ClientConfig{APIKey: testKey, Backend: genai.BackendGeminiAPI,
			HTTPOptions: genai.HTTPOptions{BaseURL: "http://127.0.0.1:1", RetryOptions: tc.ro}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(Config{Model: "m", Client: c}); (err == nil) != tc.ok {
			t.Errorf("RetryOptions %+v: New error %v, want ok=%v", tc.ro, err, tc.ok)
		}
	}
}
