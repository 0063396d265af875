package anthropic

import (
	"fmt"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
)

// TestPromptStop: a Prompt's Stop replaces Config.Stop in stop_sequences.
func TestPromptStop(t *testing.T) {
	rec := simtest.Record(t, `{"id":"m","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"ok"}],"stop_reason":"stop_sequence","stop_sequence":"END","usage":{"input_tokens":10,"output_tokens":3}}`)
	s, err := New(Config{Model: "claude-x", APIKey: "k", BaseURL: rec.URL, Stop: []string{"END"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		stop []string
		want string
	}{{nil, "[END]"}, {[]string{"\n\nHuman:", "6."}, "[\n\nHuman: 6.]"}} {
		p := batchllm.Text("q")
		p.Stop = c.stop
		resp, err := s.Call(t.Context(), batchllm.Request[batchllm.Prompt]{Input: p, State: &batchllm.RetryState{}})
		if err != nil || fmt.Sprint(rec.Body()["stop_sequences"]) != c.want || resp.FinishReason != batchllm.FinishStop {
			t.Errorf("Stop %q: %v, stop_sequences %q, finish %q; want %q and stop", c.stop, err, rec.Body()["stop_sequences"], resp.FinishReason, c.want)
		}
	}
}
