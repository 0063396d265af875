package anthropic

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
)

// TestRequestBody checks what goes on the wire for every option.
func TestRequestBody(t *testing.T) {
	rec := simtest.Record(t, `{"id":"m","type":"message","role":"assistant","model":"claude-x-2026","content":[{"type":"text","text":"o"},{"type":"text","text":"k"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":3,"cache_creation_input_tokens":100,"cache_read_input_tokens":200}}`)
	s, err := New(Config{
		Model: "claude-x", APIKey: "k", BaseURL: rec.URL, System: "sys", Context: "ctx", CacheTTL: time.Hour,
		Stop: []string{"END"}, Extra: map[string]any{"metadata.user_id": "u1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := batchllm.Prompt{Messages: []batchllm.Message{{Role: "user", Content: "q"}, {Role: "assistant", Content: "a"}, {Role: "user", Content: "q2"}}}
	p.Schema = &batchllm.Schema{Name: "s", JSON: json.RawMessage(`{"type":"object"}`)}
	resp, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: p, State: &batchllm.RetryState{}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (batchllm.Usage{InputTokens: 310, OutputTokens: 3, CachedInputTokens: 200, CacheWriteTokens: 100}); resp.Usage != want || resp.Output != "ok" || resp.Model != "claude-x-2026" {
		t.Errorf("response %+v", resp)
	}
	got, _ := json.Marshal(rec.Body())
	want := `{"max_tokens":1024,"messages":[{"content":[{"text":"q","type":"text"}],"role":"user"},{"content":[{"text":"a","type":"text"}],"role":"assistant"},{"content":[{"text":"q2","type":"text"}],"role":"user"}],"metadata":{"user_id":"u1"},"model":"claude-x","output_config":{"format":{"schema":{"type":"object"},"type":"json_schema"}},"stop_sequences":["END"],"system":[{"text":"sys","type":"text"},{"cache_control":{"ttl":"1h","type":"ephemeral"},"text":"ctx","type":"text"}]}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if rec.Header().Get("Anthropic-Version") != "2026-10-21" || rec.Header().Get("X-Stainless-Retry-Count") != "0" {
		t.Errorf("headers %v", rec.Header())
	}
	// Up to five minutes asks for the 5m cache.
	s.cfg.CacheTTL = 5 * time.Minute
	if _, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: batchllm.Text("q"), State: &batchllm.RetryState{}}); err != nil {
		t.Fatal(err)
	}
	sys := rec.Body()["system"].([]any)
	if cc := sys[1].(map[string]any)["cache_control"].(map[string]any); cc["ttl"] != "5m" {
		t.Errorf("cache_control %v", cc)
	}
}

// TestSchemaTool: in SchemaTool mode the schema becomes a single forced
// tool, and the output is the tool call's input.
func TestSchemaTool(t *testing.T) {
	rec := simtest.Record(t, `{"id":"m","type":"message","role":"assistant","model":"claude-x","content":[{"type":"tool_use","id":"t1","name":"person","input":{"name":"Ann","age":41}}],"stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":3}}`)
	s, err := New(Config{Model: "claude-x", APIKey: "k", BaseURL: rec.URL, SchemaMode: SchemaTool})
	if err != nil {
		t.Fatal(err)
	}
	p := batchllm.Text("Ann, 41")
	p.Schema = &batchllm.Schema{Name: "person", Description: "a person", JSON: json.RawMessage(
		`{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}`)}
	resp, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: p, State: &batchllm.RetryState{}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Output != `{"name":"Ann","age":41}` {
		t.Errorf("output %s", resp.Output)
	}
	tools, _ := json.Marshal(rec.Body()["tools"])
	if want := `[{"description":"a person","input_schema":{"additionalProperties":false,"properties":{"age":{"type":"integer"},"name":{"type":"string"}},"required":["name","age"],"type":"object"},"name":"person"}]`; string(tools) != want {
		t.Errorf("tools\n got %s\nwant %s", tools, want)
	}
	choice, _ := json.Marshal(rec.Body()["tool_choice"])
	if string(choice) != `{"name":"person","type":"tool"}` || rec.Body()["output_config"] != nil {
		t.Errorf("tool_choice %s, output_config %v", choice, rec.Body()["output_config"])
	}
	// An answer without the tool call is invalid output.
	rec.Answer(`{"id":"m","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"no"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":1}}`)
	if _, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: p, State: &batchllm.RetryState{}}); batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassInvalidOutput {
		t.Errorf("no tool call: %v, want invalid output", err)
	}
}
