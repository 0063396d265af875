package llmsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
)

func responsesParams(model, user string) responses.ResponseNewParams {
	return responses.ResponseNewParams{
		Model:        model,
		Instructions: openai.String("be brief"),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage(user, responses.EasyInputMessageRoleUser),
		}},
	}
}

// TestResponsesText: the Responses API answers a prompt with the text,
// usage and cache of the same prompt sent to chat completions, in its own
// shape, read by the official SDK.
func TestResponsesText(t *testing.T) {
	s := start(t, Config{})
	oc := openAIClient(s)
	resp, err := oc.Responses.New(t.Context(), responsesParams("gpt-4o-mini", "item 17"))
	if err != nil {
		t.Fatal(err)
	}
	prompt := "system: be brief\nuser: item 17\n"
	want, _ := answerText(digest(prompt), "item 17", 0, 0)
	if resp.OutputText() != want || resp.Status != "completed" || resp.Object != "response" || !strings.HasPrefix(resp.ID, "resp_") {
		t.Fatalf("response %q %s %s %s, want %q completed", resp.OutputText(), resp.Status, resp.Object, resp.ID, want)
	}
	u := resp.Usage
	if u.InputTokens != int64(tokens(prompt)) || u.OutputTokens != int64(tokens(want)) || u.TotalTokens != u.InputTokens+u.OutputTokens || u.OutputTokensDetails.ReasoningTokens != 0 {
		t.Errorf("usage %+v", u)
	}
	chat, err := oc.Chat.Completions.New(t.Context(), chatParams("item 17"))
	if err != nil || chat.Choices[0].Message.Content != want {
		t.Errorf("chat completions answer the same prompt differently: %v %+v", err, chat)
	}
}

// TestResponsesCutOff: an answer cut by max_output_tokens is incomplete;
// a reasoning model whose thinking uses the whole cap returns no message
// at all; the content filter leaves an incomplete answer.
func TestResponsesCutOff(t *testing.T) {
	s := start(t, Config{OpenAI: ProviderConfig{OutputTokens: 100, ReasoningTokens: 40}})
	oc := openAIClient(s)
	p := responsesParams("gpt-4o-mini", "x")
	p.MaxOutputTokens = openai.Int(20)
	resp, err := oc.Responses.New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "incomplete" || resp.IncompleteDetails.Reason != "max_output_tokens" || resp.Usage.OutputTokens != 20 || len(resp.OutputText()) != 80 {
		t.Errorf("cut off: %s %+v usage %+v text %d bytes", resp.Status, resp.IncompleteDetails, resp.Usage, len(resp.OutputText()))
	}

	// gpt-5-mini thinks 40 tokens: a cap of 30 leaves nothing to say.
	p.Model = "gpt-5-mini"
	p.MaxOutputTokens = openai.Int(30)
	resp, err = oc.Responses.New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "incomplete" || resp.IncompleteDetails.Reason != "max_output_tokens" || resp.OutputText() != "" ||
		resp.Usage.OutputTokens != 30 || resp.Usage.OutputTokensDetails.ReasoningTokens != 30 || len(resp.Output) != 1 || resp.Output[0].Type != "reasoning" {
		t.Errorf("reasoning used the cap: %s %+v usage %+v output %+v", resp.Status, resp.IncompleteDetails, resp.Usage, resp.Output)
	}
	// With room, the answer follows the reasoning, which is billed.
	p.MaxOutputTokens = openai.Int(1000)
	resp, err = oc.Responses.New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "completed" || resp.Usage.OutputTokensDetails.ReasoningTokens != 40 || resp.Usage.OutputTokens != 140 || len(resp.Output) != 2 {
		t.Errorf("reasoning then answer: %s usage %+v output %d items", resp.Status, resp.Usage, len(resp.Output))
	}
	// Chat completions: the same empty answer, finish_reason length.
	cp := chatParams("x")
	cp.Model, cp.MaxCompletionTokens = "gpt-5-mini", openai.Int(30)
	chat, err := oc.Chat.Completions.New(t.Context(), cp)
	if err != nil {
		t.Fatal(err)
	}
	if c := chat.Choices[0]; c.FinishReason != "length" || c.Message.Content != "" || chat.Usage.CompletionTokensDetails.ReasoningTokens != 30 {
		t.Errorf("chat: %+v usage %+v", c, chat.Usage)
	}

	p.Model = "gpt-4o-mini"
	resp, err = oc.Responses.New(t.Context(), p, option.WithHeader(FaultHeader, "content_filter"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "incomplete" || resp.IncompleteDetails.Reason != "content_filter" {
		t.Errorf("content filter: %s %+v", resp.Status, resp.IncompleteDetails)
	}
	chat, err = oc.Chat.Completions.New(t.Context(), chatParams("x"), option.WithHeader(FaultHeader, "content_filter"))
	if err != nil || chat.Choices[0].FinishReason != "content_filter" {
		t.Errorf("chat content filter: %v %+v", err, chat)
	}
}

// TestResponsesRefusals: the Responses API's own 400s, and a
// Responses-only model on chat completions.
func TestResponsesRefusals(t *testing.T) {
	s := start(t, Config{})
	oc := openAIClient(s)
	p := responsesParams("gpt-4o-mini", "x")
	p.MaxOutputTokens = openai.Int(3)
	_, err := oc.Responses.New(t.Context(), p)
	if oe, ok := errors.AsType[*openai.Error](err); !ok || oe.StatusCode != 400 || oe.Code != "integer_below_min_value" || oe.Param != "max_output_tokens" {
		t.Errorf("max_output_tokens 3: %v", err)
	}
	code, body := postTo(t, s, "/v1/responses", `{"model":"gpt-4o-mini","input":"x","messages":[]}`, openAIHdr)
	if code != 400 || !strings.Contains(body, `"code":"unknown_parameter"`) || !strings.Contains(body, "Unknown parameter: 'messages'.") {
		t.Errorf("a chat field: %d %s", code, body)
	}
	cp := chatParams("x")
	cp.Model = "o3-pro"
	_, err = oc.Chat.Completions.New(t.Context(), cp)
	if oe, ok := errors.AsType[*openai.Error](err); !ok || oe.StatusCode != 404 || !strings.Contains(oe.Message, "only supported in v1/responses") {
		t.Errorf("o3-pro on chat completions: %v", err)
	}
	if _, err := oc.Responses.New(t.Context(), responsesParams("o3-pro", "x")); err != nil {
		t.Errorf("o3-pro on responses: %v", err)
	}
}

// TestResponsesStream: the event sequence of a streamed response, read by
// the SDK, ends with the whole response; a mid-stream error event and a
// cut stream end it early.
func TestResponsesStream(t *testing.T) {
	s := start(t, Config{OpenAI: ProviderConfig{OutputTokens: 40}})
	oc := openAIClient(s)
	p := responsesParams("gpt-4o-mini", "x")
	stream := oc.Responses.NewStreaming(t.Context(), p)
	var types []string
	var text strings.Builder
	var final responses.Response
	for stream.Next() {
		e := stream.Current()
		if len(types) == 0 || types[len(types)-1] != e.Type {
			types = append(types, e.Type)
		}
		switch e.Type {
		case "response.output_text.delta":
			text.WriteString(e.Delta)
		case "response.completed":
			final = e.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	stream.Close()
	want := "response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta " +
		"response.output_text.done response.content_part.done response.output_item.done response.completed"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("events\n%s\nwant\n%s", got, want)
	}
	full, err := oc.Responses.New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if text.String() != full.OutputText() || final.OutputText() != full.OutputText() || final.Usage.OutputTokens != full.Usage.OutputTokens || final.Status != "completed" {
		t.Errorf("streamed %q (final %q, usage %+v), unstreamed %q", text.String(), final.OutputText(), final.Usage, full.OutputText())
	}

	h := http.Header{"Authorization": {"Bearer sk-test"}, FaultHeader: {"stream_error"}}
	_, events, err := postSSE(t, s, "/v1/responses", h, `{"model":"gpt-4o-mini","stream":true,"input":"x"}`)
	if err != nil || len(events) == 0 {
		t.Fatalf("%v, %d events", err, len(events))
	}
	last := events[len(events)-1]
	var e struct {
		Type, Code, Message string
	}
	if last.name != "error" || json.Unmarshal([]byte(last.data), &e) != nil || e.Type != "error" || e.Code != "server_error" {
		t.Errorf("last event %+v", last)
	}
	for _, ev := range events {
		if strings.HasPrefix(ev.name, "response.completed") {
			t.Errorf("a failed stream completed: %+v", ev)
		}
	}
}
