package anthropic

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ant "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/llmsim"
)

func TestFinishReasonMapping(t *testing.T) {
	for raw, want := range map[ant.StopReason]batchllm.FinishReason{
		"end_turn": batchllm.FinishStop, "stop_sequence": batchllm.FinishStop, "max_tokens": batchllm.FinishLength,
		"model_context_window_exceeded": batchllm.FinishLength, "tool_use": batchllm.FinishToolUse,
		"refusal": batchllm.FinishRefusal, "pause_turn": batchllm.FinishOther, "": batchllm.FinishUnknown,
	} {
		if got := FinishReason(raw); got != want {
			t.Errorf("FinishReason(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestStopReasons: every stop_reason that is not a whole answer fails with
// class truncated and keeps the usage and the partial text; the 1h cache
// writes are reported apart so that they are priced at 2×.
func TestStopReasons(t *testing.T) {
	for _, tc := range []struct {
		stop  string
		class batchllm.ErrorClass
		want  batchllm.FinishReason
	}{
		{"end_turn", batchllm.ClassNone, batchllm.FinishStop},
		{"stop_sequence", batchllm.ClassNone, batchllm.FinishStop},
		{"max_tokens", batchllm.ClassTruncated, batchllm.FinishLength},
		{"model_context_window_exceeded", batchllm.ClassTruncated, batchllm.FinishLength},
		{"refusal", batchllm.ClassTruncated, batchllm.FinishRefusal},
		{"pause_turn", batchllm.ClassTruncated, batchllm.FinishOther},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"m","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Partial ans"}],"stop_reason":"`+tc.stop+`",`+
				`"usage":{"input_tokens":45,"output_tokens":3,"cache_creation_input_tokens":100000,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":100000}}}`)
		}))
		s, err := New(Config{Model: "claude-sonnet-4-5", APIKey: "k", BaseURL: srv.URL, MaxTokens: 3})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.Call(t.Context(), req(batchllm.Text("q")))
		srv.Close()
		if got := batchllm.DefaultClassifier.Classify(err).Class; (err == nil) != (tc.class == batchllm.ClassNone) || (err != nil && got != tc.class) {
			t.Errorf("%s: err %v, want class %v", tc.stop, err, tc.class)
		}
		if resp.FinishReason != tc.want || resp.RawFinishReason != tc.stop || resp.Output != "Partial ans" {
			t.Errorf("%s: response %+v", tc.stop, resp)
		}
		if resp.Usage.CacheWrite1hTokens != 100_000 || resp.Usage.CacheWriteTokens != 100_000 {
			t.Errorf("%s: usage %+v", tc.stop, resp.Usage)
		}
		// The review's repro: this request is billed $0.600135, not $0.375135.
		if c, err := cost.Default().Cost(resp.Model, resp.Usage, false); err != nil || c != 600_135*cost.Microdollar+3*15*cost.Microdollar {
			t.Errorf("%s: cost %v (%v)", tc.stop, c, err)
		}
	}
}

// TestSimMaxTokens: the simulator's max_tokens cut-off, through the SDK.
func TestSimMaxTokens(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 3 })
	resp, err := s.Call(t.Context(), req(batchllm.Text("tell me a long story")))
	if te, ok := errors.AsType[*batchllm.TruncatedError](err); !ok || te.Reason != batchllm.FinishLength || te.Raw != "max_tokens" {
		t.Fatalf("err %v", err)
	}
	if resp.Usage.OutputTokens != 3 || resp.FinishReason != batchllm.FinishLength {
		t.Errorf("response %+v", resp)
	}
	s = simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 3; c.OnTruncated = batchllm.TruncatedRetryLarger })
	r := req(batchllm.Text("tell me a long story"))
	for range 6 {
		if resp, err = s.Call(t.Context(), r); err == nil {
			break
		}
		if c := batchllm.DefaultClassifier.Classify(err).Class; c != batchllm.ClassInvalidOutput {
			t.Fatalf("class %v", c)
		}
	}
	if err != nil || resp.FinishReason != batchllm.FinishStop {
		t.Errorf("retry-larger never completed: %v", err)
	}
}

// TestTemperatureRefused: the Messages API version of SDK v2 takes no
// temperature; a prompt that sets one fails before it is sent instead of
// having it dropped without a word.
func TestTemperatureRefused(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := simStrategy(t, sim, "", nil)
	p := batchllm.Text("q")
	temp := 0.2
	p.Temperature = &temp
	_, err := s.Call(t.Context(), req(p))
	if c := batchllm.DefaultClassifier.Classify(err).Class; c != batchllm.ClassFatalItem || !strings.Contains(err.Error(), "takes no temperature") {
		t.Errorf("class %v err %v", c, err)
	}
	if n := sim.Stats().Anthropic.Requests; n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestSimContextWindowExceeded: an answer that would overflow the context
// window ends with model_context_window_exceeded, a cut-off answer.
func TestSimContextWindowExceeded(t *testing.T) {
	sim := startSim(t, llmsim.Config{Anthropic: llmsim.ProviderConfig{OutputTokens: 200}})
	s := simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 1000 })
	// claude-haiku-4-5's window is 200,000 tokens (as the simulator counts,
	// 4 bytes a token); leave room for 100. The strategy's approximate
	// count is higher, but within cost.ApproxMargin, so the prompt is sent.
	p := batchllm.Text(strings.Repeat("abcd", 200_000-100-4))
	resp, err := s.Call(t.Context(), req(p))
	if te, ok := errors.AsType[*batchllm.TruncatedError](err); !ok || te.Raw != "model_context_window_exceeded" || te.Reason != batchllm.FinishLength {
		t.Fatalf("err %v", err)
	}
	if resp.Usage.OutputTokens != 200_000-resp.Usage.InputTokens || resp.Usage.OutputTokens == 0 {
		t.Errorf("usage %+v", resp.Usage)
	}
}
