package gemini

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
)

// TestRequestBody checks what goes on the wire for every option.
func TestRequestBody(t *testing.T) {
	var body map[string]any
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body = nil
		json.Unmarshal(b, &body)
		hdr = r.Header
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":100,"candidatesTokenCount":5,"thoughtsTokenCount":7,"cachedContentTokenCount":80,"totalTokenCount":112},"modelVersion":"gemini-x-001"}`)
	}))
	defer srv.Close()
	temp := 0.25
	s, err := New(Config{
		Model: "gemini-x", APIKey: testKey, BaseURL: srv.URL, System: "sys", Temperature: &temp, MaxTokens: 64,
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
	got, _ := json.Marshal(body)
	want := `{"contents":[{"parts":[{"text":"q"}],"role":"user"},{"parts":[{"text":"a"}],"role":"model"},{"parts":[{"text":"q2"}],"role":"user"}],"generationConfig":{"maxOutputTokens":32,"responseJsonSchema":{"type":"object"},"responseMimeType":"application/json","stopSequences":["END"],"temperature":0.25},"labels":{"team":"a"},"systemInstruction":{"parts":[{"text":"sys"}],"role":"user"}}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if hdr.Get("X-Trace") != "t1" || hdr.Get("X-Goog-Api-Key") != testKey {
		t.Errorf("headers %v", hdr)
	}
}

func TestBlockedPrompt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH"}]},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9}}`)
	}))
	defer srv.Close()
	s, err := New(Config{Model: "gemini-x", APIKey: testKey, BaseURL: srv.URL})
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
