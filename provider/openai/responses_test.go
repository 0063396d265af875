package openai

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"github.com/batchllm/batchllm/llmsim"
)

func onResponses(c *Config) { c.API = APIResponses }

// TestResponsesLikeChat: through the Responses API a prompt gets the same
// answer and usage as through chat completions, and the rate-limit headers.
func TestResponsesLikeChat(t *testing.T) {
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{RPM: 6000}})
	p := batchllm.Text("item 17")
	chat, err := simStrategy(t, sim, "", func(c *Config) { c.System = "be brief" }).Call(t.Context(), req(p))
	if err != nil {
		t.Fatal(err)
	}
	got, err := simStrategy(t, sim, "", func(c *Config) { c.System = "be brief"; c.API = APIResponses }).Call(t.Context(), req(p))
	if err != nil {
		t.Fatal(err)
	}
	if got.Output != chat.Output || got.Usage != chat.Usage || got.FinishReason != batchllm.FinishStop || got.RawFinishReason != "completed" || got.Model != "gpt-4o-mini" {
		t.Errorf("responses %+v\nchat %+v", got, chat)
	}
	if got.Limits == nil || got.Limits.Requests.Limit != 6000 {
		t.Errorf("limits %+v", got.Limits)
	}
}

// TestResponsesAuto: with the default API a model the catalogue marks
// Responses-only goes to the Responses API; forced onto chat completions
// it gets the real 404, marked model-wide with the cause.
func TestResponsesAuto(t *testing.T) {
	sim := startSim(t, llmsim.Config{RejectUnknownModels: true})
	s := simStrategy(t, sim, "", func(c *Config) { c.Model = "o3-pro" })
	resp, err := s.Call(t.Context(), req(batchllm.Text("q")))
	if err != nil || resp.RawFinishReason != "completed" {
		t.Fatalf("auto: %+v %v", resp, err)
	}
	s = simStrategy(t, sim, "", func(c *Config) { c.Model = "o3-pro"; c.API = APIChat })
	_, err = s.Call(t.Context(), req(batchllm.Text("q")))
	mw, ok := errors.AsType[*batchllm.ModelWideError](err)
	if !ok || !strings.Contains(mw.Cause, "Responses API") || !strings.Contains(err.Error(), "only supported in v1/responses") {
		t.Errorf("chat: %v", err)
	}
}

// TestResponsesFinish: a cut-off answer (status incomplete,
// max_output_tokens), a reasoning model whose thinking used the whole cap
// (no text at all) and a filtered answer each fail as truncated with
// their reasons; a structured answer is the schema's JSON.
func TestResponsesFinish(t *testing.T) {
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{OutputTokens: 100, ReasoningTokens: 40}})
	for _, c := range []struct {
		name, model, fault string
		max                int
		reason             batchllm.FinishReason
		raw                string
		empty              bool
		detail             string
	}{
		{"cut", "gpt-4o-mini", "", 20, batchllm.FinishLength, "max_output_tokens", false, ""},
		{"reasoning", "gpt-5-mini", "", 30, batchllm.FinishLength, "max_output_tokens", true, "reasoning used 30 of the 30 output tokens and left no answer"},
		{"filtered", "gpt-4o-mini", "content_filter", 0, batchllm.FinishContentFilter, "content_filter", false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := simStrategy(t, sim, c.fault, func(cfg *Config) { cfg.API = APIResponses; cfg.Model = c.model; cfg.MaxTokens = c.max })
			resp, err := s.Call(t.Context(), req(batchllm.Text("tell me")))
			if cl := batchllm.DefaultClassifier.Classify(err).Class; cl != batchllm.ClassTruncated {
				t.Fatalf("class %v (err %v)", cl, err)
			}
			te, ok := errors.AsType[*batchllm.TruncatedError](err)
			if !ok || te.Empty != c.empty || !strings.Contains(err.Error(), c.detail) {
				t.Errorf("error %v", err)
			}
			if resp.FinishReason != c.reason || resp.RawFinishReason != c.raw || resp.Usage.OutputTokens == 0 || (resp.Output == "") != c.empty {
				t.Errorf("response %+v", resp)
			}
		})
	}
	// The same reasoning model through chat completions: the same empty,
	// cut-off answer, and the error says where the budget went.
	s := simStrategy(t, sim, "", func(cfg *Config) { cfg.Model = "gpt-5-mini"; cfg.MaxTokens = 30 })
	_, err := s.Call(t.Context(), req(batchllm.Text("tell me")))
	if te, ok := errors.AsType[*batchllm.TruncatedError](err); !ok || !te.Empty || !strings.Contains(err.Error(), "reasoning used 30 of the 30") {
		t.Errorf("chat: %v", err)
	}

	s = simStrategy(t, sim, "", onResponses)
	p := batchllm.Text("give me a number")
	p.Schema = &batchllm.Schema{Name: "num", JSON: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],"additionalProperties":false}`)}
	resp, err := s.Call(t.Context(), req(p))
	var v struct {
		N *int `json:"n"`
	}
	if err != nil || json.Unmarshal([]byte(resp.Output), &v) != nil || v.N == nil {
		t.Errorf("structured: %q %v", resp.Output, err)
	}
}

// TestResponsesConfig: settings the Responses API has no use for fail at
// construction, and an item's cap below its minimum fails before sending.
func TestResponsesConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Model: "m", API: "completions"}, "want auto, chat or responses"},
		{Config{Model: "m", API: APIResponses, Stop: []string{"\n"}}, "no stop sequences"},
		{Config{Model: "o3-pro", Stop: []string{"\n"}}, "no stop sequences"},
		{Config{Model: "m", API: APIResponses, LegacyMaxTokens: true}, "LegacyMaxTokens"},
		{Config{Model: "m", API: APIResponses, MaxTokens: 8}, "below the Responses API's minimum of 16"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.cfg, err, c.want)
		}
	}
	if _, err := New(Config{Model: "m", Stop: []string{"\n"}}); err != nil {
		t.Errorf("chat with stop: %v", err)
	}
	sim := startSim(t, llmsim.Config{})
	s := simStrategy(t, sim, "", onResponses)
	p := batchllm.Text("q")
	p.MaxTokens = 5
	_, err := s.Call(t.Context(), req(p))
	if c := batchllm.DefaultClassifier.Classify(err).Class; c != batchllm.ClassFatalItem || sim.Stats().OpenAI.Requests != 0 {
		t.Errorf("class %v, %d requests (err %v)", c, sim.Stats().OpenAI.Requests, err)
	}
	// An item whose own model needs the Responses API cannot drop the
	// Config's stop sequences in silence.
	s = simStrategy(t, sim, "", func(c *Config) { c.Stop = []string{"\n"} })
	p = batchllm.Text("q")
	p.Model = "o3-pro"
	_, err = s.Call(t.Context(), req(p))
	if c := batchllm.DefaultClassifier.Classify(err).Class; c != batchllm.ClassFatalItem || !strings.Contains(err.Error(), "no stop sequences") || sim.Stats().OpenAI.Requests != 0 {
		t.Errorf("per-item Responses model with Stop: class %v, %d requests (err %v)", c, sim.Stats().OpenAI.Requests, err)
	}
}

// TestResponsesStream: a streamed response assembles like the unstreamed
// one; the stream limits, cuts and the in-stream error event fail as
// transient.
func TestResponsesStream(t *testing.T) {
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{OutputTokens: 60}})
	for _, maxTokens := range []int{0, 20} {
		plain := simStrategy(t, sim, "", func(c *Config) { c.API = APIResponses; c.MaxTokens = maxTokens })
		stream := streamed(t, sim, "", time.Minute, time.Minute, func(c *Config) { c.API = APIResponses; c.MaxTokens = maxTokens })
		p := batchllm.Text("tell me a long story")
		want, werr := plain.Call(t.Context(), req(p))
		got, gerr := stream.Call(t.Context(), req(p))
		if (werr == nil) != (gerr == nil) || got.Output != want.Output || got.Usage != want.Usage || got.RawFinishReason != want.RawFinishReason || got.Output == "" {
			t.Errorf("max %d: streamed %+v (%v)\nplain %+v (%v)", maxTokens, got, gerr, want, werr)
		}
	}
	simtest.StreamFaults(t, "openai: ", func(t *testing.T, fault llmsim.Fault, firstToken, stall time.Duration) batchllm.Strategy[batchllm.Prompt, string] {
		return streamed(t, sim, string(fault), firstToken, stall, onResponses)
	}, nil)
	_, err := streamed(t, sim, string(llmsim.FaultStreamError), time.Minute, time.Minute, onResponses).Call(t.Context(), req(batchllm.Text("hi")))
	if c := batchllm.DefaultClassifier.Classify(err).Class; c != batchllm.ClassTransient || !strings.Contains(err.Error(), "response failed: server_error") {
		t.Errorf("error event: %v %v", c, err)
	}
}
