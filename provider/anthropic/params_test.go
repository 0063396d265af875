package anthropic

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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
		io.WriteString(w, `{"id":"m","type":"message","role":"assistant","model":"claude-x-2026","content":[{"type":"text","text":"o"},{"type":"text","text":"k"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":3,"cache_creation_input_tokens":100,"cache_read_input_tokens":200}}`)
	}))
	defer srv.Close()
	s, err := New(Config{
		Model: "claude-x", APIKey: "k", BaseURL: srv.URL, System: "sys", Context: "ctx", CacheTTL: time.Hour,
		Stop: []string{"END"}, Extra: map[string]any{"metadata.user_id": "u1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	temp := 0.9
	p := batchllm.Prompt{Temperature: &temp, Messages: []batchllm.Message{{Role: "user", Content: "q"}, {Role: "assistant", Content: "a"}, {Role: "user", Content: "q2"}}}
	p.Schema = &batchllm.Schema{Name: "s", JSON: json.RawMessage(`{"type":"object"}`)}
	resp, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: p, State: &batchllm.RetryState{}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (batchllm.Usage{InputTokens: 310, OutputTokens: 3, CachedInputTokens: 200, CacheWriteTokens: 100}); resp.Usage != want || resp.Output != "ok" || resp.Model != "claude-x-2026" {
		t.Errorf("response %+v", resp)
	}
	got, _ := json.Marshal(body)
	want := `{"max_tokens":1024,"messages":[{"content":[{"text":"q","type":"text"}],"role":"user"},{"content":[{"text":"a","type":"text"}],"role":"assistant"},{"content":[{"text":"q2","type":"text"}],"role":"user"}],"metadata":{"user_id":"u1"},"model":"claude-x","output_config":{"format":{"schema":{"type":"object"},"type":"json_schema"}},"stop_sequences":["END"],"system":[{"text":"sys","type":"text"},{"cache_control":{"ttl":"1h","type":"ephemeral"},"text":"ctx","type":"text"}]}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if hdr.Get("Anthropic-Version") != "2026-10-21" || hdr.Get("X-Stainless-Retry-Count") != "0" {
		t.Errorf("headers %v", hdr)
	}
	// Up to five minutes asks for the 5m cache.
	s.cfg.CacheTTL = 5 * time.Minute
	if _, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: batchllm.Text("q"), State: &batchllm.RetryState{}}); err != nil {
		t.Fatal(err)
	}
	sys := body["system"].([]any)
	if cc := sys[1].(map[string]any)["cache_control"].(map[string]any); cc["ttl"] != "5m" {
		t.Errorf("cache_control %v", cc)
	}
}
