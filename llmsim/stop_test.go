package llmsim

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestStopSequences: each API ends the answer before the first stop
// sequence in it, says so its own way (OpenAI finish_reason stop,
// Anthropic stop_reason stop_sequence with the sequence, Gemini
// finishReason STOP), counts only the text kept, and refuses more
// sequences than it takes (OpenAI 4, Gemini 5).
func TestStopSequences(t *testing.T) {
	s := start(t, Config{})
	const user = "tell me about stops"
	type answer struct{ text, finish, seq string }
	read := func(path, body string, hdr map[string]string) answer {
		t.Helper()
		code, resp := postTo(t, s, path, body, hdr)
		if code != 200 {
			t.Fatalf("%s %s: %d %s", path, body, code, resp)
		}
		var v struct {
			Choices []struct {
				Message      struct{ Content string } `json:"message"`
				FinishReason string                   `json:"finish_reason"`
			} `json:"choices"`
			Content      []struct{ Text string } `json:"content"`
			StopReason   string                  `json:"stop_reason"`
			StopSequence *string                 `json:"stop_sequence"`
			Candidates   []struct {
				Content struct {
					Parts []struct{ Text string } `json:"parts"`
				} `json:"content"`
				FinishReason string `json:"finishReason"`
			} `json:"candidates"`
		}
		if err := json.Unmarshal([]byte(resp), &v); err != nil {
			t.Fatal(err)
		}
		switch {
		case len(v.Choices) > 0:
			return answer{v.Choices[0].Message.Content, v.Choices[0].FinishReason, ""}
		case len(v.Content) > 0:
			a := answer{v.Content[0].Text, v.StopReason, ""}
			if v.StopSequence != nil {
				a.seq = *v.StopSequence
			}
			return a
		case len(v.Candidates) > 0:
			return answer{v.Candidates[0].Content.Parts[0].Text, v.Candidates[0].FinishReason, ""}
		}
		t.Fatalf("no answer in %s", resp)
		return answer{}
	}
	chat := func(stop string) string {
		return `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + user + `"}]` + stop + `}`
	}
	messages := func(stop string) string {
		return `{"model":"claude-haiku-4-5","max_tokens":200,"messages":[{"role":"user","content":"` + user + `"}]` + stop + `}`
	}
	generate := func(stop string) string {
		return `{"contents":[{"role":"user","parts":[{"text":"` + user + `"}]}],"generationConfig":{"maxOutputTokens":200` + stop + `}}`
	}
	const gemini = "/v1beta/models/gemini-2.5-flash:generateContent"

	full := read("/v1/chat/completions", chat(""), openAIHdr)
	at := strings.Index(full.text, " re: ")
	if at <= 0 || full.finish != "stop" {
		t.Fatalf("the answer %+v has no \" re: \" to stop at", full)
	}
	want := full.text[:at]
	for _, c := range []struct {
		name, path, body string
		hdr              map[string]string
		want             answer
	}{
		{"openai string", "/v1/chat/completions", chat(`,"stop":" re: "`), openAIHdr, answer{want, "stop", ""}},
		{"openai array", "/v1/chat/completions", chat(`,"stop":["zzz"," re: ","llmsim zzz"]`), openAIHdr, answer{want, "stop", ""}},
		{"openai none found", "/v1/chat/completions", chat(`,"stop":["zzz"]`), openAIHdr, answer{full.text, "stop", ""}},
		{"anthropic", "/v1/messages", messages(`,"stop_sequences":["zzz"," re: "]`), anthropicHdr, answer{want, "stop_sequence", " re: "}},
		{"anthropic none found", "/v1/messages", messages(`,"stop_sequences":["zzz"]`), anthropicHdr, answer{full.text, "end_turn", ""}},
		{"gemini", gemini, generate(`,"stopSequences":[" re: "]`), geminiHdr, answer{want, "STOP", ""}},
	} {
		if got := read(c.path, c.body, c.hdr); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}

	// Usage counts the text kept.
	_, resp := postTo(t, s, "/v1/chat/completions", chat(`,"stop":" re: "`), openAIHdr)
	var u struct {
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(resp), &u); err != nil || u.Usage.CompletionTokens != tokens(want) {
		t.Errorf("completion_tokens %d, want %d for %q (%v)", u.Usage.CompletionTokens, tokens(want), want, err)
	}

	for _, c := range []struct{ path, body, want string }{
		{"/v1/chat/completions", chat(`,"stop":["a","b","c","d","e"]`), `maximum length 4, but got an array with length 5`},
		{"/v1/chat/completions", chat(`,"stop":7`), `Invalid type for 'stop'`},
		{gemini, generate(`,"stopSequences":["a","b","c","d","e","f"]`), `at most 5`},
	} {
		hdr := openAIHdr
		if c.path == gemini {
			hdr = geminiHdr
		}
		if code, resp := postTo(t, s, c.path, c.body, hdr); code != 400 || !strings.Contains(resp, c.want) {
			t.Errorf("%s: %d %s, want 400 with %q", c.body, code, resp, c.want)
		}
	}
}
