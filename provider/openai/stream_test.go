package openai

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
	"github.com/batchllm/batchllm/provider/internal/streamwatch"
)

// streamed returns a streaming strategy on sim with the given limits.
func streamed(t *testing.T, sim *llmsim.Server, fault string, firstToken, stall time.Duration, mod func(*Config)) *Strategy {
	return simStrategy(t, sim, fault, func(c *Config) {
		c.Stream, c.FirstTokenTimeout, c.StallTimeout = true, firstToken, stall
		if mod != nil {
			mod(c)
		}
	})
}

func TestStreamAssemblesLikeNonStreamed(t *testing.T) {
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{RPM: 6000, TPM: 1_000_000, OutputTokens: 60}})
	for _, maxTokens := range []int{0, 10} { // whole, then cut by the output limit
		plain := simStrategy(t, sim, "", func(c *Config) { c.System = "be brief"; c.MaxTokens = maxTokens })
		stream := streamed(t, sim, "", time.Minute, time.Minute, func(c *Config) { c.System = "be brief"; c.MaxTokens = maxTokens })
		p := batchllm.Text("tell me a long story")
		want, werr := plain.Call(t.Context(), req(p))
		got, gerr := stream.Call(t.Context(), req(p))
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("max %d: streamed err %v, plain err %v", maxTokens, gerr, werr)
		}
		if got.Output != want.Output || got.Usage != want.Usage || got.Model != want.Model ||
			got.FinishReason != want.FinishReason || got.RawFinishReason != want.RawFinishReason {
			t.Errorf("max %d: streamed %+v\nplain %+v", maxTokens, got, want)
		}
		wantFinish := map[int]batchllm.FinishReason{0: batchllm.FinishStop, 10: batchllm.FinishLength}[maxTokens]
		if got.FinishReason != wantFinish || (maxTokens == 10) != (batchllm.DefaultClassifier.Classify(gerr).Class == batchllm.ClassTruncated) {
			t.Errorf("max %d: finish %q err %v, want %q (truncated when cut)", maxTokens, got.FinishReason, gerr, wantFinish)
		}
		if got.Limits == nil || got.Limits.Requests.Limit != 6000 {
			t.Errorf("max %d: limits %+v, want the x-ratelimit headers of the stream's response", maxTokens, got.Limits)
		}
	}
}

func TestStreamUsageAndFinishFromStream(t *testing.T) {
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{OutputTokens: 40}})
	s := streamed(t, sim, "", 0, 0, func(c *Config) { c.MaxTokens = 12 })
	cc, err := s.completeStream(t.Context(), s.Params(batchllm.Text("go on")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if fr := cc.Choices[0].FinishReason; fr != "length" {
		t.Errorf("finish_reason %q, want length", fr)
	}
	if len(cc.Choices[0].Message.Content) != 4*12 {
		t.Errorf("content %q has %d bytes, want the 48 of 12 tokens", cc.Choices[0].Message.Content, len(cc.Choices[0].Message.Content))
	}
	st := sim.Stats().OpenAI
	if cc.Usage.PromptTokens != st.InputTokens || cc.Usage.CompletionTokens != 12 || st.OutputTokens != 12 {
		t.Errorf("usage %+v, sim counted in %d out %d", cc.Usage, st.InputTokens, st.OutputTokens)
	}
}

// The stall and first-token tests run over real loopback HTTP, which a
// testing/synctest bubble cannot hold, so their limits are short real
// durations (the watch's exact timing is tested with synctest in
// provider/internal/streamwatch). Nothing sleeps: the simulator holds the
// stream open until the client gives up, and the test waits for Call to
// return; the outer deadline only catches a watch that never fires.

func TestStreamStall(t *testing.T) {
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{OutputTokens: 40}})
	s := streamed(t, sim, string(llmsim.FaultStall), time.Minute, 100*time.Millisecond, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.Call(ctx, req(batchllm.Text("hi")))
	wantStreamTimeout(t, err, false)
	if ctx.Err() != nil {
		t.Fatalf("the attempt's deadline ended the call after %v, not the stall limit", time.Since(start))
	}
	if st := sim.Stats().OpenAI; st.Faults[string(llmsim.FaultStall)] != 1 {
		t.Errorf("faults %v, want one stall", st.Faults)
	}
}

func TestStreamFirstTokenTimeout(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := streamed(t, sim, string(llmsim.FaultHang), 100*time.Millisecond, time.Minute, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := s.Call(ctx, req(batchllm.Text("hi")))
	wantStreamTimeout(t, err, true)
	if ctx.Err() != nil {
		t.Fatal("the attempt's deadline ended the call, not the first-token limit")
	}
}

// wantStreamTimeout checks that err is a transient stream timeout of the
// given kind, named in the message.
func wantStreamTimeout(t *testing.T, err error, firstToken bool) {
	t.Helper()
	te, ok := errors.AsType[*streamwatch.TimeoutError](err)
	if !ok || te.FirstToken != firstToken {
		t.Fatalf("err %v, want a stream timeout (first token %v)", err, firstToken)
	}
	if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassTransient {
		t.Errorf("class %v, want transient", c.Class)
	}
	want := "stream stalled"
	if firstToken {
		want = "no first token"
	}
	if !strings.HasPrefix(err.Error(), "openai: "+want) {
		t.Errorf("message %q, want it to start with %q", err, "openai: "+want)
	}
}

func TestStreamCutAndBadEvents(t *testing.T) {
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{OutputTokens: 40}})
	for _, fault := range []llmsim.Fault{llmsim.FaultTruncate, llmsim.FaultBadJSON, llmsim.FaultReset, "500"} {
		s := streamed(t, sim, string(fault), time.Minute, time.Minute, nil)
		resp, err := s.Call(t.Context(), req(batchllm.Text("hi")))
		if err == nil {
			t.Fatalf("%s: no error, output %q", fault, resp.Output)
		}
		if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassTransient {
			t.Errorf("%s: class %v, want transient (err %v)", fault, c.Class, err)
		}
	}
	if st := sim.Stats().OpenAI; st.Faults[string(llmsim.FaultTruncate)] != 1 || st.Faults[string(llmsim.FaultBadJSON)] != 1 {
		t.Errorf("faults %v", st.Faults)
	}
}

func TestStreamRateLimitedBeforeStreaming(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := streamed(t, sim, "429", time.Minute, time.Minute, nil)
	resp, err := s.Call(t.Context(), req(batchllm.Text("hi")))
	if c := batchllm.DefaultClassifier.Classify(err); c.Class != batchllm.ClassRateLimited || c.RetryAfter != time.Second {
		t.Errorf("class %v wait %v, want rate_limited 1s (err %v)", c.Class, c.RetryAfter, err)
	}
	if resp.Limits == nil || resp.Limits.RetryAfter != time.Second {
		t.Errorf("limits %+v", resp.Limits)
	}
}

func TestNewRejectsNegativeStreamLimits(t *testing.T) {
	for _, cfg := range []Config{{Model: "m", StallTimeout: -time.Second}, {Model: "m", FirstTokenTimeout: -1}} {
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "must be >= 0") {
			t.Errorf("%+v: err %v", cfg, err)
		}
	}
}
