package llmsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzEndpoints sends arbitrary bodies to every endpoint: the server must
// answer each with a status and, for errors, a JSON body, and never panic.
func FuzzEndpoints(f *testing.F) {
	for _, seed := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"$ref":"#"}}}}}}`,
		`{"model":"m","max_tokens":5,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"x"}]}`,
		`{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"responseMimeType":"application/json","responseSchema":{"type":"ARRAY","items":{"type":"STRING"}}}}`,
		`{"model":"models/g","ttl":"1s","contents":[{"parts":[{"text":"x"}]}]}`,
		`{"contents":[], "cachedContent":"cachedContents/x"}`,
		`{"requests":[{"custom_id":"a","params":{"model":"m","max_tokens":3,"messages":[{"role":"user","content":"x"}]}}]}`,
		`{"batch":{"inputConfig":{"requests":{"requests":[{"request":{"contents":[{"parts":[{"text":"x"}]}]},"metadata":{"key":"k"}}]}}}}`,
		`[1,2`, ``, `null`, `{"messages":null}`,
	} {
		f.Add(seed)
	}
	s, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	targets := []struct{ method, path, hdr, val string }{
		{"POST", "/v1/chat/completions", "Authorization", "Bearer k"},
		{"POST", "/v1/messages", "X-Api-Key", "k"},
		{"POST", "/v1beta/models/g:generateContent", "x-goog-api-key", "k"},
		{"POST", "/v1beta/models/g:countTokens", "x-goog-api-key", "k"},
		{"POST", "/v1beta/cachedContents", "x-goog-api-key", "k"},
		{"PATCH", "/v1beta/cachedContents/x", "x-goog-api-key", "k"},
		{"POST", "/v1/messages/batches", "X-Api-Key", "k"},
		{"POST", "/v1beta/models/g:batchGenerateContent", "x-goog-api-key", "k"},
		{"POST", "/v1/batches", "Authorization", "Bearer k"},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, tg := range targets {
			r := httptest.NewRequest(tg.method, tg.path, strings.NewReader(body))
			r.Header.Set(tg.hdr, tg.val)
			r.Header.Set("anthropic-version", "2023-06-01")
			if strings.HasPrefix(tg.path, "/v1beta") {
				r.Header.Del("anthropic-version")
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code < 200 || w.Code > 599 || (w.Code != http.StatusOK && !json.Valid(w.Body.Bytes())) {
				t.Fatalf("%s %s: %d %q", tg.method, tg.path, w.Code, w.Body.String())
			}
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{"50ms", "1ms..2ms", "p50=1s,p99=2s", "429=0.1,reset=0.2", "=", ",,", "p50=-1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if l, err := ParseLatency(s); err == nil {
			if err := l.validate(); err != nil {
				t.Fatalf("ParseLatency(%q) returned invalid %+v", s, l)
			}
		}
		if m, err := ParseFaults(s); err == nil {
			sum := 0.0
			for _, r := range m {
				sum += r
			}
			if sum > 1+1e-9 {
				t.Fatalf("ParseFaults(%q) sums to %v", s, sum)
			}
		}
	})
}
