package llmsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// postTo sends body to path on s with the headers of provider kind and
// returns the status and the body.
func postTo(t *testing.T, s *Server, path, body string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var (
	openAIHdr    = map[string]string{"Authorization": "Bearer k", "Content-Type": "application/json"}
	anthropicHdr = map[string]string{"X-Api-Key": "k", "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
	geminiHdr    = map[string]string{"x-goog-api-key": "k", "Content-Type": "application/json"}
)

// TestUnknownModels: with RejectUnknownModels each provider answers a model
// it does not serve with its own 404 body; without it any name is served.
func TestUnknownModels(t *testing.T) {
	for _, reject := range []bool{true, false} {
		s, err := Start(Config{RejectUnknownModels: reject, ExtraModels: []string{"my-model"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			path, body string
			hdr        map[string]string
			want       string
		}{
			{"/v1/chat/completions", `{"model":"gpt-4o-mni","messages":[{"role":"user","content":"q"}]}`, openAIHdr, `"code":"model_not_found"`},
			{"/v1/messages", `{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":"q"}]}`, anthropicHdr, `"type":"not_found_error","message":"model: claude-x"`},
			{"/v1beta/models/gemini-x:generateContent", `{"contents":[{"role":"user","parts":[{"text":"q"}]}]}`, geminiHdr, `"status":"NOT_FOUND"`},
		} {
			code, body := postTo(t, s, c.path, c.body, c.hdr)
			if reject && (code != 404 || !strings.Contains(body, c.want)) {
				t.Errorf("%s: %d %s", c.path, code, body)
			}
			if !reject && code != 200 {
				t.Errorf("%s without RejectUnknownModels: %d %s", c.path, code, body)
			}
		}
		// Known: the catalogue's models (snapshots included) and ExtraModels.
		for _, m := range []string{"gpt-4o-mini-2024-07-18", "my-model"} {
			if code, body := postTo(t, s, "/v1/chat/completions", `{"model":"`+m+`","messages":[{"role":"user","content":"q"}]}`, openAIHdr); code != 200 {
				t.Errorf("%s: %d %s", m, code, body)
			}
		}
		s.Close()
	}
}

// TestGeminiValidation: empty parts and unknown roles are refused with the
// API's 400s.
func TestGeminiValidation(t *testing.T) {
	s, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for body, want := range map[string]string{
		`{"contents":[{"role":"user","parts":[]}]}`:                  "contents.parts must not be empty",
		`{"contents":[{"role":"assistant","parts":[{"text":"q"}]}]}`: "Please use a valid role: user, model.",
	} {
		code, got := postTo(t, s, "/v1beta/models/gemini-2.5-flash:generateContent", body, geminiHdr)
		if code != 400 || !strings.Contains(got, want) || !strings.Contains(got, `"status":"INVALID_ARGUMENT"`) {
			t.Errorf("%s: %d %s", body, code, got)
		}
	}
}

// TestGeminiCacheMinimum: 2.5 Pro caches 2,048 tokens or more, Flash 1,024.
func TestGeminiCacheMinimum(t *testing.T) {
	s, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc := strings.Repeat("abcd", 1500) // 1,500 tokens
	body := func(model string) string {
		b, _ := json.Marshal(map[string]any{"model": "models/" + model, "contents": []any{map[string]any{"role": "user", "parts": []any{map[string]any{"text": doc}}}}})
		return string(b)
	}
	if code, got := postTo(t, s, "/v1beta/cachedContents", body("gemini-2.5-pro"), geminiHdr); code != 400 || !strings.Contains(got, "min_total_token_count=2048") {
		t.Errorf("pro: %d %s", code, got)
	}
	if code, got := postTo(t, s, "/v1beta/cachedContents", body("gemini-2.5-flash"), geminiHdr); code != 200 {
		t.Errorf("flash: %d %s", code, got)
	}
}

// TestOpenAITemperature: reasoning models accept only temperature 1.
func TestOpenAITemperature(t *testing.T) {
	s, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for model, want := range map[string]int{"gpt-5-mini": 400, "o3": 400, "gpt-4o-mini": 200} {
		code, body := postTo(t, s, "/v1/chat/completions", `{"model":"`+model+`","temperature":0.2,"messages":[{"role":"user","content":"q"}]}`, openAIHdr)
		if code != want || (want == 400 && !strings.Contains(body, `"code":"unsupported_value"`)) {
			t.Errorf("%s: %d %s", model, code, body)
		}
	}
	if code, _ := postTo(t, s, "/v1/chat/completions", `{"model":"gpt-5-mini","temperature":1,"messages":[{"role":"user","content":"q"}]}`, openAIHdr); code != 200 {
		t.Errorf("temperature 1: %d", code)
	}
}
