package openai

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"github.com/batchllm/batchllm/llmsim"
)

// chatBody is a chat completions body with fields a Prompt has no room
// for, and a "stream" that the strategy must own.
const chatBody = `{"model":"gpt-4o-mini","messages":[{"role":"developer","content":"be terse"},{"role":"user","content":[{"type":"text","text":"what is 2+2?"}]}],` +
	`"tools":[{"type":"function","function":{"name":"add","parameters":{"type":"object","properties":{"a":{"type":"number"}}}}}],` +
	`"seed":7,"stop":["\n\n"],"logprobs":true,"top_logprobs":2,"max_completion_tokens":64,"temperature":0.2,"stream":true}`

// recStrategy returns a strategy on rec's simulator: simStrategy's, with
// rec's base URL instead of a started simulator's.
func recStrategy(t *testing.T, rec *simtest.RecordingSim, mod func(*Config)) *Strategy {
	return simStrategy(t, &llmsim.Server{}, "", func(c *Config) {
		c.BaseURL = rec.OpenAIBaseURL()
		if mod != nil {
			mod(c)
		}
	})
}

func rawPrompt(endpoint, body string) batchllm.Prompt {
	return batchllm.Prompt{Raw: &batchllm.RawRequest{Endpoint: endpoint, Body: json.RawMessage(body)}}
}

// TestRawBodySentAsWritten: the body reaches the endpoint with every field
// as written but "stream", which the non-streaming strategy owns; the
// response is parsed as for any Prompt, and Raw is the ChatCompletion.
func TestRawBodySentAsWritten(t *testing.T) {
	rec := simtest.StartRecordingSim(t, llmsim.Config{})
	s := recStrategy(t, rec, func(c *Config) { c.MaxTokens = 9; c.Temperature = new(1.0) })
	resp, err := s.Call(t.Context(), req(rawPrompt(batchllm.EndpointChatCompletions, chatBody)))
	if err != nil {
		t.Fatal(err)
	}
	reqs := rec.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/v1/chat/completions" {
		t.Fatalf("requests %+v", reqs)
	}
	want := simtest.Object(t, []byte(chatBody))
	delete(want, "stream")
	if got := simtest.Object(t, reqs[0].Body); !reflect.DeepEqual(got, want) {
		t.Errorf("sent  %s\nwant %v", reqs[0].Body, want)
	}
	if resp.Usage.InputTokens == 0 || resp.Output == "" || resp.FinishReason != batchllm.FinishStop {
		t.Errorf("response %+v", resp)
	}
	if raw := simtest.Object(t, resp.Raw); raw["object"] != "chat.completion" || raw["choices"] == nil {
		t.Errorf("Raw %s", resp.Raw)
	}
}

// TestRawBodyStreamedAndModel: streaming sets "stream" and asks for the
// usage; a body without a model gets the prompt's; the Raw of a streamed
// answer is the assembled ChatCompletion.
func TestRawBodyStreamedAndModel(t *testing.T) {
	rec := simtest.StartRecordingSim(t, llmsim.Config{})
	s := recStrategy(t, rec, func(c *Config) { c.Stream = true })
	p := rawPrompt(batchllm.EndpointChatCompletions, `{"messages":[{"role":"user","content":"hi"}],"n":1}`)
	p.Model = "gpt-4.1-mini"
	resp, err := s.Call(t.Context(), req(p))
	if err != nil {
		t.Fatal(err)
	}
	got := simtest.Object(t, rec.Requests()[0].Body)
	want := map[string]any{"model": "gpt-4.1-mini", "messages": []any{map[string]any{"role": "user", "content": "hi"}}, "n": 1.0,
		"stream": true, "stream_options": map[string]any{"include_usage": true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sent %v\nwant %v", got, want)
	}
	if resp.Usage.OutputTokens == 0 {
		t.Errorf("no usage from the stream: %+v", resp)
	}
	if raw := simtest.Object(t, resp.Raw); raw["choices"] == nil || raw["model"] == nil {
		t.Errorf("Raw %s", resp.Raw)
	}
}

// TestRawBodyResponses: a /v1/responses body goes to the Responses API,
// whatever the model's default endpoint, and its output is read.
func TestRawBodyResponses(t *testing.T) {
	rec := simtest.StartRecordingSim(t, llmsim.Config{})
	s := recStrategy(t, rec, nil)
	body := `{"model":"gpt-4o-mini","input":[{"role":"user","content":[{"type":"input_text","text":"hello"}]}],"instructions":"be kind","max_output_tokens":40,"store":true}`
	resp, err := s.Call(t.Context(), req(rawPrompt(batchllm.EndpointResponses, body)))
	if err != nil {
		t.Fatal(err)
	}
	r := rec.Requests()[0]
	if r.Path != "/v1/responses" || !reflect.DeepEqual(simtest.Object(t, r.Body), simtest.Object(t, []byte(body))) {
		t.Errorf("sent %s %s", r.Path, r.Body)
	}
	if resp.Output == "" || simtest.Object(t, resp.Raw)["object"] != "response" {
		t.Errorf("response %+v", resp)
	}
}

// TestRawBodyEstimate: the admission estimate counts the body's messages
// and its output cap, not the empty Prompt around it.
func TestRawBodyEstimate(t *testing.T) {
	s := recStrategy(t, simtest.StartRecordingSim(t, llmsim.Config{}), nil)
	e := s.Estimate(req(rawPrompt(batchllm.EndpointChatCompletions, chatBody)))
	plain := s.Estimate(req(batchllm.Prompt{System: "be terse", Messages: []batchllm.Message{{Role: batchllm.RoleUser, Content: "what is 2+2?"}}}))
	if e.InputTokens != plain.InputTokens || e.MaxOutputTokens != 64 || e.Model != "gpt-4o-mini" {
		t.Errorf("estimate %+v, want the input of %+v and 64 output tokens", e, plain)
	}
	e = s.Estimate(req(rawPrompt(batchllm.EndpointResponses, `{"model":"gpt-4.1","input":"hello there","max_output_tokens":100}`)))
	if e.InputTokens == 0 || e.MaxOutputTokens != 100 || e.Model != "gpt-4.1" {
		t.Errorf("responses estimate %+v", e)
	}
}

// TestRawBodyRefused: a body that is not a request of its endpoint, or an
// endpoint the strategy does not call, fails the item before anything is
// sent.
func TestRawBodyRefused(t *testing.T) {
	rec := simtest.StartRecordingSim(t, llmsim.Config{})
	s := recStrategy(t, rec, nil)
	for _, p := range []batchllm.Prompt{
		rawPrompt(batchllm.EndpointChatCompletions, `{"messages":"hi"}`),
		rawPrompt(batchllm.EndpointChatCompletions, `{"model":3,"messages":[]}`),
		rawPrompt("/v1/embeddings", `{"input":"hi"}`),
	} {
		_, err := s.Call(t.Context(), req(p))
		if c := batchllm.DefaultClassifier.Classify(err).Class; c != batchllm.ClassFatalItem {
			t.Errorf("%s: class %v (%v)", p.Raw.Body, c, err)
		}
	}
	if n := len(rec.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}
