package anthropic

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"github.com/batchllm/batchllm/llmsim"
)

// streamed returns a streaming strategy on sim with the given limits.
func streamed(t *testing.T, sim *llmsim.Server, fault llmsim.Fault, firstToken, stall time.Duration, mod func(*Config)) *Strategy {
	return simStrategy(t, sim, string(fault), func(c *Config) {
		c.Stream, c.FirstTokenTimeout, c.StallTimeout = true, firstToken, stall
		if mod != nil {
			mod(c)
		}
	})
}

func TestStreamAssemblesLikeNonStreamed(t *testing.T) {
	sim := startSim(t, llmsim.Config{Anthropic: llmsim.ProviderConfig{RPM: 500, OutputTokens: 60}})
	for _, maxTokens := range []int{200, 10} { // whole, then cut by max_tokens
		mod := func(c *Config) {
			c.Model = "claude-sonnet-4-5" // caches from 1,024 tokens (Haiku 4.5 needs 4,096)
			c.System = strings.Repeat("shared rules ", 400)
			c.CacheTTL = time.Hour
			c.MaxTokens = maxTokens
		}
		plain := simStrategy(t, sim, "", mod)
		stream := streamed(t, sim, "", time.Minute, time.Minute, mod)
		p := batchllm.Text("tell me a long story")
		want, werr := plain.Call(t.Context(), req(p))
		got, gerr := stream.Call(t.Context(), req(p))
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("max %d: streamed err %v, plain err %v", maxTokens, gerr, werr)
		}
		// The plain call wrote the cache, the streamed one read it: the
		// usage differs only in that.
		if got.Usage.CachedInputTokens == 0 || got.Usage.InputTokens != want.Usage.InputTokens || got.Usage.OutputTokens != want.Usage.OutputTokens {
			t.Errorf("max %d: streamed usage %+v, plain %+v", maxTokens, got.Usage, want.Usage)
		}
		if got.Output != want.Output || got.Model != want.Model || got.FinishReason != want.FinishReason || got.RawFinishReason != want.RawFinishReason {
			t.Errorf("max %d: streamed %+v\nplain %+v", maxTokens, got, want)
		}
		wantFinish := map[int]string{200: "end_turn", 10: "max_tokens"}[maxTokens]
		if got.RawFinishReason != wantFinish || (maxTokens == 10) != (batchllm.DefaultClassifier.Classify(gerr).Class == batchllm.ClassTruncated) {
			t.Errorf("max %d: stop_reason %q err %v, want %q (truncated when cut)", maxTokens, got.RawFinishReason, gerr, wantFinish)
		}
		if got.Limits == nil || got.Limits.Requests.Limit != 500 {
			t.Errorf("max %d: limits %+v, want the anthropic-ratelimit headers of the stream's response", maxTokens, got.Limits)
		}
	}
}

func TestStreamFaults(t *testing.T) {
	sim := startSim(t, llmsim.Config{Anthropic: llmsim.ProviderConfig{OutputTokens: 40}})
	simtest.StreamFaults(t, "anthropic: ", func(t *testing.T, fault llmsim.Fault, firstToken, stall time.Duration) batchllm.Strategy[batchllm.Prompt, string] {
		return streamed(t, sim, fault, firstToken, stall, nil)
	}, func() llmsim.ProviderStats { return sim.Stats().Anthropic })
}

func TestStreamOverloadedBeforeStreaming(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := streamed(t, sim, "529", time.Minute, time.Minute, nil)
	_, err := s.Call(t.Context(), req(batchllm.Text("hi")))
	if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassOverloaded {
		t.Errorf("class %v, want overloaded (err %v)", c.Class, err)
	}
}

// TestStreamErrorEventClass sends, through the SDK, a stream that breaks
// off with an error event, as Anthropic does "during periods of high usage"
// (https://docs.anthropic.com/en/api/messages-streaming#error-events).
func TestStreamErrorEventClass(t *testing.T) {
	for typ, want := range map[string]batchllm.ErrorClass{
		"overloaded_error": batchllm.ClassOverloaded, "api_error": batchllm.ClassTransient,
		"rate_limit_error": batchllm.ClassRateLimited, "invalid_request_error": batchllm.ClassFatalItem, "new_error": batchllm.ClassTransient,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"m\",\"stop_reason\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n")
			fmt.Fprintf(w, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":%q,\"message\":\"Overloaded\"}}\n\n", typ)
		}))
		s, err := New(Config{Model: "m", APIKey: "k", BaseURL: srv.URL, Stream: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Call(t.Context(), req(batchllm.Text("hi")))
		srv.Close()
		if c := batchllm.DefaultClassifier.Classify(err); c.Class != want || !strings.Contains(fmt.Sprint(err), typ) {
			t.Errorf("%s: class %v, want %v (err %v)", typ, c.Class, want, err)
		}
	}
}

func TestNewRejectsNegativeStreamLimits(t *testing.T) {
	if _, err := New(Config{Model: "m", StallTimeout: -time.Second}); err == nil || !strings.Contains(err.Error(), "must be >= 0") {
		t.Errorf("err %v", err)
	}
}

// TestStreamFailureReportsUsageSoFar: a stream that fails after
// message_start (cut, stalled, or ended by an overloaded_error event)
// reports the input usage message_start announced, which is billed, not
// zero; a stream that never started reports none.
func TestStreamFailureReportsUsageSoFar(t *testing.T) {
	sim := startSim(t, llmsim.Config{Anthropic: llmsim.ProviderConfig{OutputTokens: 40}})
	p := batchllm.Text("tell me a long story")
	whole, err := streamed(t, sim, "", time.Minute, time.Minute, nil).Call(t.Context(), req(p))
	if err != nil || whole.Usage.InputTokens == 0 {
		t.Fatalf("%+v %v", whole, err)
	}
	for fault, class := range map[llmsim.Fault]batchllm.ErrorClass{
		llmsim.FaultTruncate: batchllm.ClassTransient, llmsim.FaultStreamError: batchllm.ClassOverloaded, llmsim.FaultStall: batchllm.ClassTransient,
	} {
		resp, err := streamed(t, sim, fault, time.Minute, 100*time.Millisecond, nil).Call(t.Context(), req(p))
		if c := batchllm.DefaultClassifier.Classify(err).Class; c != class {
			t.Errorf("%s: class %v, want %v (err %v)", fault, c, class, err)
		}
		if resp.Usage.InputTokens != whole.Usage.InputTokens || resp.Usage.OutputTokens >= whole.Usage.OutputTokens {
			t.Errorf("%s: usage %+v, want the input %d and less output than %d", fault, resp.Usage, whole.Usage.InputTokens, whole.Usage.OutputTokens)
		}
	}
	resp, err := streamed(t, sim, "503", time.Minute, time.Minute, nil).Call(t.Context(), req(p))
	if err == nil || !resp.Usage.IsZero() {
		t.Errorf("refused before streaming: usage %+v, err %v", resp.Usage, err)
	}
}

func TestStreamRateLimitedBeforeStreaming(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	simtest.RateLimitedBeforeStreaming(t, streamed(t, sim, "429", time.Minute, time.Minute, nil))
}
