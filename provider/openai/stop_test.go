package openai

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"github.com/openai/openai-go/v3/option"
)

// TestPromptStop: a Prompt's Stop replaces Config.Stop in chat
// completions' "stop"; more than 4 fail the item, class fatal_item,
// before anything is sent to OpenAI's own API (a compatible server judges
// for itself), as does any Stop on an item that goes to the Responses API;
// a raw body takes neither, and says its own.
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

	// A compatible server (a BaseURL) judges the number itself.
	p.Stop = []string{"a", "b", "c", "d", "e"}
	if err := call(p); err != nil || fmt.Sprint(rec.Body()["stop"]) != "[a b c d e]" {
		t.Errorf("5 stop sequences to a compatible server: %v, stop %v; want all sent", err, rec.Body()["stop"])
	}
	// OpenAI's own API takes 4: the fifth fails the item before anything
	// is sent. The client's transport refuses every request, so that a
	// regression fails here rather than reach the internet.
	own, err := New(Config{Model: "gpt-x", APIKey: "k", RequestOptions: []option.RequestOption{option.WithHTTPClient(&http.Client{Transport: refuseAll{}})}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = own.Call(t.Context(), batchllm.Request[batchllm.Prompt]{ItemID: "i1", Input: p, State: &batchllm.RetryState{}})
	if batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassFatalItem || !strings.Contains(fmt.Sprint(err), "5 stop sequences; chat completions take up to 4") {
		t.Errorf("5 stop sequences to OpenAI: %v; want fatal_item before sending", err)
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

// refuseAll is a transport that sends nothing.
type refuseAll struct{}

func (refuseAll) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("test transport: %s not sent", r.URL.Path)
}
