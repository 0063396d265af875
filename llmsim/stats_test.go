package llmsim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/option"
)

func TestStatsEndpoint(t *testing.T) {
	s := start(t, Config{})
	oc := openAIClient(s)
	ctx := context.Background()
	for _, q := range []string{"a", "a", "b", "a"} {
		if _, err := oc.Chat.Completions.New(ctx, chatParams(q)); err != nil {
			t.Fatal(err)
		}
	}
	// A forced 429 of a new request still counts the request as received.
	_, _ = oc.Chat.Completions.New(ctx, chatParams("c"), option.WithHeader(FaultHeader, "429"))

	resp, err := http.Get(s.OpenAIBaseURL()[:len(s.OpenAIBaseURL())-len("/v1/")] + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
	// The documented JSON shape, read without the Go types.
	var generic map[string]map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"openai", "anthropic", "gemini"} {
		if _, ok := generic[k]["requests"].(float64); !ok {
			t.Errorf("%s.requests missing in %s", k, raw)
		}
		if _, ok := generic[k]["responses"].(map[string]any); !ok {
			t.Errorf("%s.responses missing in %s", k, raw)
		}
	}
	if r := generic["openai"]["responses"].(map[string]any); r["200"] != 4.0 || r["429"] != 1.0 {
		t.Errorf("responses = %v", r)
	}
	if _, ok := generic["openai"]["request_counts"]; ok {
		t.Error("request_counts sent without ?counts=1")
	}

	st := getStats(t, s.AnthropicBaseURL(), true)
	o := st.OpenAI
	if o.Requests != 5 || o.DistinctRequests != 3 || o.DuplicateRequests != 2 || len(o.RequestCounts) != 3 || o.PeakConcurrent != 1 {
		t.Errorf("openai stats = %+v", o)
	}
	var three int
	for _, n := range o.RequestCounts {
		if n == 3 {
			three++
		}
	}
	if three != 1 {
		t.Errorf("counts = %v, want one request received 3 times", o.RequestCounts)
	}
	if o.InputTokens == 0 || o.OutputTokens == 0 {
		t.Errorf("tokens = %d/%d", o.InputTokens, o.OutputTokens)
	}
	if got := s.Stats(); got.OpenAI.Requests != o.Requests || len(got.OpenAI.RequestCounts) != 3 {
		t.Errorf("Stats() = %+v", got.OpenAI)
	}
	if got := s.Totals(); got.OpenAI.DistinctRequests != 3 || got.OpenAI.RequestCounts != nil {
		t.Errorf("Totals() = %+v, want 3 distinct requests and no RequestCounts", got.OpenAI)
	}

	resp, err = http.Post(s.GeminiBaseURL()+"/_sim/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("reset: %d", resp.StatusCode)
	}
	st = getStats(t, s.GeminiBaseURL(), true)
	if st.OpenAI.Requests != 0 || len(st.OpenAI.Responses) != 0 || st.OpenAI.DistinctRequests != 0 || len(st.OpenAI.RequestCounts) != 0 {
		t.Errorf("after reset: %+v", st.OpenAI)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{Window: -1},
		{OpenAI: ProviderConfig{RPM: -1}},
		{Gemini: ProviderConfig{Faults: map[Fault]float64{"500": 0.8, "503": 0.4}}},
		{Anthropic: ProviderConfig{Faults: map[Fault]float64{"boom": 0.1}}},
		{OpenAI: ProviderConfig{Latency: Latency{Min: 2, Max: 1}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestUnknownPath(t *testing.T) {
	s := start(t, Config{})
	for url, want := range map[string]string{
		s.OpenAIBaseURL() + "nope":                      `"code":"unknown_url"`,
		s.AnthropicBaseURL() + "/v1/messages/nope":      `"not_found_error"`,
		s.GeminiBaseURL() + "/v1beta/models/g:teleport": `"NOT_FOUND"`,
	} {
		code, _, body := post(t, context.Background(), http.DefaultClient, url, `{}`, nil)
		if code != 404 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s", url, code, body)
		}
	}
}
