package llmsim

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// sseEvent is one server-sent event as it appeared on the wire.
type sseEvent struct {
	name string
	data string
}

// postSSE sends body to path and returns the response and its events; a
// stream cut short ends the list (its read error is returned).
func postSSE(t *testing.T, s *Server, path string, header http.Header, body string) (*http.Response, []sseEvent, error) {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+s.Addr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header = header.Clone()
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		return resp, nil, nil
	}
	var events []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			events = append(events, cur)
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[len("data: "):]
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
	return resp, events, sc.Err()
}

func TestOpenAIStreamWire(t *testing.T) {
	s := start(t, Config{OpenAI: ProviderConfig{OutputTokens: 20}})
	body := `{"model":"gpt-x","stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":50,
		"messages":[{"role":"user","content":"stream please"}]}`
	resp, events, err := postSSE(t, s, "/v1/chat/completions", http.Header{"Authorization": {"Bearer sk-test"}}, body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || resp.StatusCode != 200 {
		t.Fatalf("status %d content type %q", resp.StatusCode, ct)
	}
	if len(events) < 5 || events[len(events)-1].data != "[DONE]" {
		t.Fatalf("%d events, last %+v; want role, content pieces, finish, usage, [DONE]", len(events), events[len(events)-1])
	}
	var text strings.Builder
	var finish string
	var usage map[string]any
	for i, e := range events[:len(events)-1] {
		if e.name != "" {
			t.Errorf("event %d named %q; OpenAI sends bare data lines", i, e.name)
		}
		var c struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta struct {
					Role    string  `json:"role"`
					Content *string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *map[string]any `json:"usage"`
		}
		if err := json.Unmarshal([]byte(e.data), &c); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if c.Object != "chat.completion.chunk" || c.Usage == nil && !strings.Contains(e.data, `"usage":null`) {
			t.Errorf("event %d: object %q, usage key missing in %s", i, c.Object, e.data)
		}
		last := i == len(events)-2
		if last != (len(c.Choices) == 0) {
			t.Errorf("event %d: %d choices; only the final usage chunk has none", i, len(c.Choices))
		}
		if last {
			usage = *c.Usage
			continue
		}
		ch := c.Choices[0]
		if i == 0 && (ch.Delta.Role != "assistant" || ch.Delta.Content == nil || *ch.Delta.Content != "") {
			t.Errorf("first chunk %s, want the assistant role and empty content", e.data)
		}
		if ch.Delta.Content != nil {
			text.WriteString(*ch.Delta.Content)
		}
		if ch.FinishReason != nil {
			finish = *ch.FinishReason
		}
	}
	want, _ := answerText(digest("user: stream please\n"), "stream please", 20, 50)
	if text.String() != want || finish != "stop" {
		t.Errorf("text %q finish %q, want %q stop", text.String(), finish, want)
	}
	if usage["completion_tokens"] != float64(tokens(want)) || usage["prompt_tokens"] != float64(tokens("user: stream please\n")) {
		t.Errorf("usage %v", usage)
	}
}

func TestOpenAIStreamOptionsNeedStream(t *testing.T) {
	s := start(t, Config{})
	resp, _, _ := postSSE(t, s, "/v1/chat/completions", http.Header{"Authorization": {"Bearer sk-test"}},
		`{"model":"gpt-x","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
}

func TestStreamFaultsMidStream(t *testing.T) {
	s := start(t, Config{OpenAI: ProviderConfig{OutputTokens: 40}})
	body := `{"model":"gpt-x","stream":true,"messages":[{"role":"user","content":"x"}]}`
	h := http.Header{"Authorization": {"Bearer sk-test"}}

	h.Set(FaultHeader, "truncate")
	_, events, err := postSSE(t, s, "/v1/chat/completions", h, body)
	if err == nil {
		t.Error("a cut stream read to its end without an error")
	}
	// Role chunk plus half of the content pieces, then nothing.
	pieces := len(streamPieces(mustAnswer(t, "user: x\n", "x", 40)))
	if want := 1 + (pieces+1)/2; len(events) != want {
		t.Errorf("cut after %d events, want %d (role + half of %d pieces)", len(events), want, pieces)
	}

	h.Set(FaultHeader, "badjson")
	_, events, _ = postSSE(t, s, "/v1/chat/completions", h, body)
	bad := 0
	for _, e := range events {
		if !json.Valid([]byte(e.data)) && e.data != "[DONE]" {
			bad++
		}
	}
	if bad != 1 {
		t.Errorf("%d events that are not JSON, want 1", bad)
	}
	if st := s.Stats().OpenAI; st.Faults["truncate"] != 1 || st.Faults["badjson"] != 1 {
		t.Errorf("faults %v", st.Faults)
	}
}

func mustAnswer(t *testing.T, prompt, lastUser string, minOut int) string {
	t.Helper()
	a, _ := answerText(digest(prompt), lastUser, minOut, 0)
	return a
}

func TestAnthropicStreamWire(t *testing.T) {
	s := start(t, Config{Anthropic: ProviderConfig{OutputTokens: 20}})
	body := `{"model":"claude-x","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"stream please"}]}`
	h := http.Header{"X-Api-Key": {"sk-ant-test"}, "Anthropic-Version": {"2023-06-01"}}
	_, events, err := postSSE(t, s, "/v1/messages", h, body)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var text strings.Builder
	for _, e := range events {
		var v struct {
			Type  string `json:"type"`
			Delta struct {
				Text       string `json:"text"`
				StopReason string `json:"stop_reason"`
			} `json:"delta"`
			Usage struct {
				OutputTokens int `json:"output_tokens"`
			} `json:"usage"`
			Message struct {
				StopReason *string `json:"stop_reason"`
				Usage      struct {
					InputTokens int `json:"input_tokens"`
				} `json:"usage"`
			} `json:"message"`
		}
		if err := json.Unmarshal([]byte(e.data), &v); err != nil || v.Type != e.name {
			t.Fatalf("event %q data %s: type %q, err %v", e.name, e.data, v.Type, err)
		}
		if len(names) == 0 || names[len(names)-1] != e.name {
			names = append(names, e.name)
		}
		switch e.name {
		case "message_start":
			if v.Message.StopReason != nil || v.Message.Usage.InputTokens != tokens("user: stream please\n") {
				t.Errorf("message_start %s", e.data)
			}
		case "content_block_delta":
			text.WriteString(v.Delta.Text)
		case "message_delta":
			if v.Delta.StopReason != "max_tokens" || v.Usage.OutputTokens != 10 {
				t.Errorf("message_delta %s, want stop_reason max_tokens and 10 output tokens", e.data)
			}
		}
	}
	want := "message_start content_block_start ping content_block_delta content_block_stop message_delta message_stop"
	if strings.Join(names, " ") != want {
		t.Errorf("events %v, want %s", names, want)
	}
	if text.Len() != 40 {
		t.Errorf("text %q, want the 40 bytes of 10 tokens", text.String())
	}
}
