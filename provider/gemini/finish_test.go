package gemini

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
)

func TestFinishReasonMapping(t *testing.T) {
	for raw, want := range map[genai.FinishReason]batchllm.FinishReason{
		"STOP": batchllm.FinishStop, "MAX_TOKENS": batchllm.FinishLength, "CONTINUATION": batchllm.FinishLength,
		"SAFETY": batchllm.FinishContentFilter, "RECITATION": batchllm.FinishContentFilter, "PROHIBITED_CONTENT": batchllm.FinishContentFilter,
		"BLOCKLIST": batchllm.FinishContentFilter, "SPII": batchllm.FinishContentFilter,
		"LANGUAGE": batchllm.FinishOther, "MALFORMED_FUNCTION_CALL": batchllm.FinishOther, "OTHER": batchllm.FinishOther,
		"": batchllm.FinishUnknown, "FINISH_REASON_UNSPECIFIED": batchllm.FinishUnknown,
	} {
		if got := FinishReason(raw); got != want {
			t.Errorf("FinishReason(%q) = %q, want %q", raw, got, want)
		}
	}
}

// candidate is a one-candidate generateContent answer.
func candidate(text, finish, token string, prompt, out, thoughts int) string {
	c := map[string]any{"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}}, "finishReason": finish, "index": 0}
	if token != "" {
		c["continuationToken"] = token // bytes: base64 in JSON
	}
	b, _ := json.Marshal(map[string]any{"candidates": []any{c}, "modelVersion": "gemini-2.5-flash",
		"usageMetadata": map[string]any{"promptTokenCount": prompt, "candidatesTokenCount": out, "thoughtsTokenCount": thoughts}})
	return string(b)
}

// TestMaxTokensEmpty: thinking used the whole budget; the empty answer is
// not a success (the review's repro 3).
func TestMaxTokensEmpty(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"candidates":[{"content":{"role":"model","parts":[]},"finishReason":"MAX_TOKENS","index":0}],"usageMetadata":{"promptTokenCount":12,"thoughtsTokenCount":64},"modelVersion":"gemini-2.5-flash"}`)
	}))
	defer srv.Close()
	s, err := New(Config{Model: "gemini-2.5-flash", APIKey: testKey, BaseURL: srv.URL, MaxTokens: 64})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Call(t.Context(), req(batchllm.Text("q")))
	te, ok := errors.AsType[*batchllm.TruncatedError](err)
	if !ok || !te.Empty || te.Reason != batchllm.FinishLength || batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassTruncated {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(err.Error(), "reasoning used the budget") || resp.Usage.OutputTokens != 64 || resp.RawFinishReason != "MAX_TOKENS" {
		t.Errorf("err %v, response %+v", err, resp)
	}
}

// TestContinuation: an answer the API splits with CONTINUATION is
// continued with its token, its parts joined and the usage of every
// request summed (the review's repro 2 returned only the first part).
func TestContinuation(t *testing.T) {
	var n atomic.Int32
	var tokens []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ContinuationToken []byte `json:"continuationToken"`
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &body)
		tokens = append(tokens, string(body.ContinuationToken))
		w.Header().Set("Content-Type", "application/json")
		switch n.Add(1) {
		case 1:
			io.WriteString(w, candidate("The first half of a long ans", "CONTINUATION", "dG9rMQ==", 10, 7, 0))
		case 2:
			io.WriteString(w, candidate("wer, and its end.", "STOP", "", 10, 5, 2))
		}
	}))
	defer srv.Close()
	s, err := New(Config{Model: "gemini-2.5-flash", APIKey: testKey, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Call(t.Context(), req(batchllm.Text("q")))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Output != "The first half of a long answer, and its end." || resp.FinishReason != batchllm.FinishStop {
		t.Errorf("response %+v", resp)
	}
	if resp.Usage.InputTokens != 20 || resp.Usage.OutputTokens != 14 {
		t.Errorf("usage %+v, want both requests counted", resp.Usage)
	}
	if len(tokens) != 2 || tokens[0] != "" || tokens[1] != "tok1" {
		t.Errorf("continuation tokens sent %q", tokens)
	}
}

// TestContinuationCapped: an answer still unfinished after MaxContinuations
// requests is reported cut off, never as whole.
func TestContinuationCapped(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, candidate("more ", "CONTINUATION", "dG9r", 1, 1, 0))
	}))
	defer srv.Close()
	s, _ := New(Config{Model: "gemini-2.5-flash", APIKey: testKey, BaseURL: srv.URL})
	resp, err := s.Call(t.Context(), req(batchllm.Text("q")))
	if batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassTruncated || resp.RawFinishReason != "CONTINUATION" {
		t.Fatalf("err %v resp %+v", err, resp)
	}
	if n.Load() != MaxContinuations || resp.Usage.OutputTokens != MaxContinuations {
		t.Errorf("%d requests, usage %+v", n.Load(), resp.Usage)
	}
}

// TestSimMaxTokens: the simulator's MAX_TOKENS, through the SDK.
func TestSimMaxTokens(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	cfg := simConfig(sim, "")
	cfg.MaxTokens = 3
	s := newStrategy(t, cfg)
	resp, err := s.Call(t.Context(), req(batchllm.Text("tell me a long story")))
	if te, ok := errors.AsType[*batchllm.TruncatedError](err); !ok || te.Raw != "MAX_TOKENS" {
		t.Fatalf("err %v", err)
	}
	if resp.FinishReason != batchllm.FinishLength || resp.Usage.OutputTokens != 3 {
		t.Errorf("response %+v", resp)
	}
	cfg.OnTruncated = batchllm.TruncatedAccept
	s = newStrategy(t, cfg)
	if resp, err = s.Call(t.Context(), req(batchllm.Text("tell me a long story"))); err != nil || resp.Output == "" || resp.FinishReason != batchllm.FinishLength {
		t.Errorf("accepted: %+v %v", resp, err)
	}
}
