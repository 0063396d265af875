package gemini

import (
	"fmt"
	"strings"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
)

// TestPromptStop: a Prompt's Stop replaces Config.Stop in
// generationConfig.stopSequences; more than 5 fail the item, class
// fatal_item, before anything is sent.
func TestPromptStop(t *testing.T) {
	rec := simtest.Record(t, `{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":1,"totalTokenCount":11},"modelVersion":"gemini-x"}`)
	s, err := New(Config{Model: "gemini-x", APIKey: testKey, BaseURL: rec.URL, Stop: []string{"END"}})
	if err != nil {
		t.Fatal(err)
	}
	call := func(stop []string) error {
		rec.Reset()
		p := batchllm.Text("q")
		p.Stop = stop
		_, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: p, State: &batchllm.RetryState{}})
		return err
	}
	stops := func() string {
		gc, _ := rec.Body()["generationConfig"].(map[string]any)
		return fmt.Sprint(gc["stopSequences"])
	}
	if err := call(nil); err != nil || stops() != "[END]" {
		t.Errorf("Config.Stop: %v, stopSequences %s", err, stops())
	}
	if err := call([]string{"a", "b", "c", "d", "e"}); err != nil || stops() != "[a b c d e]" {
		t.Errorf("Prompt.Stop of 5: %v, stopSequences %s", err, stops())
	}
	err = call([]string{"a", "b", "c", "d", "e", "f"})
	if batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassFatalItem || !strings.Contains(fmt.Sprint(err), "6 stop sequences; Gemini takes up to 5") || rec.Body() != nil {
		t.Errorf("6 stop sequences: %v, sent %v; want fatal_item and nothing sent", err, rec.Body())
	}
}
