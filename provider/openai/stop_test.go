package openai

import (
	"fmt"
	"strings"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
)

// TestPromptStop: a Prompt's Stop replaces Config.Stop in chat
// completions' "stop"; more than 4 fail the item, class fatal_item,
// before anything is sent, as does any Stop on an item that goes to the
// Responses API; a raw body takes neither, and says its own.
func TestPromptStop(t *testing.T) {
	rec := simtest.Record(t, `{"id":"c","object":"chat.completion","model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	s, err := New(Config{Model: "gpt-x", APIKey: "k", BaseURL: rec.URL + "/v1/", Stop: []string{"END"}})
	if err != nil {
		t.Fatal(err)
	}
	call := func(p batchllm.Prompt) error {
		rec.Reset()
		_, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{ItemID: "i1", Input: p, State: &batchllm.RetryState{}})
		return err
	}
	p := batchllm.Text("q")
	if err := call(p); err != nil || fmt.Sprint(rec.Body()["stop"]) != "[END]" {
		t.Errorf("Config.Stop: %v, stop %v", err, rec.Body()["stop"])
	}
	p.Stop = []string{"\n\n", "4."}
	if err := call(p); err != nil || fmt.Sprint(rec.Body()["stop"]) != "[\n\n 4.]" {
		t.Errorf("Prompt.Stop: %v, stop %q", err, rec.Body()["stop"])
	}

	p.Stop = []string{"a", "b", "c", "d", "e"}
	err = call(p)
	if batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassFatalItem || !strings.Contains(fmt.Sprint(err), "5 stop sequences; chat completions take up to 4") || rec.Body() != nil {
		t.Errorf("5 stop sequences: %v, sent %v; want fatal_item and nothing sent", err, rec.Body())
	}

	p.Stop, p.Model = []string{"END"}, "o3-pro" // served by the Responses API alone
	err = call(p)
	if batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassFatalItem || !strings.Contains(fmt.Sprint(err), "the Responses API has no stop sequences") || rec.Body() != nil {
		t.Errorf("stop to the Responses API: %v, sent %v; want fatal_item and nothing sent", err, rec.Body())
	}

	raw := batchllm.Prompt{Stop: []string{"x"}, Raw: &batchllm.RawRequest{Endpoint: batchllm.EndpointChatCompletions,
		Body: []byte(`{"model":"gpt-x","messages":[{"role":"user","content":"q"}],"stop":"RAW"}`)}}
	if err := call(raw); err != nil || rec.Body()["stop"] != "RAW" {
		t.Errorf("raw body: %v, stop %v; want the body's own", err, rec.Body()["stop"])
	}
}
