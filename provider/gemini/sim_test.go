package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
)

const testKey = "AIzaSyTESTKEY1234567890"

// startSim and req are the shared helpers of internal/testing/simtest.
var (
	startSim = simtest.Start
	req      = simtest.Request
)

func simConfig(sim *llmsim.Server, fault string) Config {
	cfg := Config{Model: "gemini-2.5-flash", APIKey: testKey, BaseURL: sim.GeminiBaseURL()}
	if fault != "" {
		cfg.Headers = http.Header{llmsim.FaultHeader: {fault}}
	}
	return cfg
}

func newStrategy(t *testing.T, cfg Config) *Strategy {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSimText(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	cfg := simConfig(sim, "")
	cfg.System = "be brief"
	cfg.MaxTokens = 50
	s := newStrategy(t, cfg)
	p := batchllm.Prompt{Messages: []batchllm.Message{
		{Role: batchllm.RoleUser, Content: "first"}, {Role: batchllm.RoleAssistant, Content: "ok"}, {Role: batchllm.RoleUser, Content: "what is 2+2?"},
	}}
	resp, err := s.Call(t.Context(), req(p))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Output, "llmsim ") || !strings.Contains(resp.Output, "re: what is 2+2?") {
		t.Errorf("output %q", resp.Output)
	}
	transcript := "system: be brief\nuser: first\nmodel: ok\nuser: what is 2+2?\n"
	if want := int64((len(transcript) + 3) / 4); resp.Usage.InputTokens != want {
		t.Errorf("input tokens %d, want %d (transcript %q)", resp.Usage.InputTokens, want, transcript)
	}
	if resp.Model == "" || resp.Usage.OutputTokens != int64((len(resp.Output)+3)/4) {
		t.Errorf("model %q usage %+v", resp.Model, resp.Usage)
	}

	d, err := s.Detailed().Call(t.Context(), req(p))
	if err != nil {
		t.Fatal(err)
	}
	if d.Output.Text != resp.Output || d.Output.FinishReason != genai.FinishReasonStop || len(d.Output.SafetyRatings) == 0 || d.Output.Raw == nil {
		t.Errorf("detailed %+v", d.Output)
	}
}

func TestSimStructuredOutput(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := newStrategy(t, simConfig(sim, ""))
	p := batchllm.Text("give me a number")
	p.Schema = &batchllm.Schema{Name: "num", JSON: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`)}
	resp, err := s.Call(t.Context(), req(p))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		N *int `json:"n"`
	}
	if err := json.Unmarshal([]byte(resp.Output), &v); err != nil || v.N == nil {
		t.Fatalf("output %q is not the schema's JSON (%v)", resp.Output, err)
	}
}

func TestSimErrorClasses(t *testing.T) {
	sim := startSim(t, llmsim.Config{FaultRetryAfter: 3 * time.Second})
	simtest.ErrorClasses(t, []simtest.FaultCase{
		{Fault: "429", Class: batchllm.ClassRateLimited, Wait: 3 * time.Second},
		{Fault: "quota", Class: batchllm.ClassFatalBatch},
		{Fault: "503", Class: batchllm.ClassOverloaded},
		{Fault: "500", Class: batchllm.ClassTransient},
		{Fault: "504", Class: batchllm.ClassTransient},
		{Fault: "400", Class: batchllm.ClassFatalItem},
		{Fault: "401", Class: batchllm.ClassFatalBatch},
		{Fault: "403", Class: batchllm.ClassFatalBatch},
		{Fault: "reset", Class: batchllm.ClassTransient},
		{Fault: "truncate", Class: batchllm.ClassTransient},
		{Fault: "badjson", Class: batchllm.ClassTransient},
	}, "AIza", func(t *testing.T, fault string) batchllm.Strategy[batchllm.Prompt, string] {
		return newStrategy(t, simConfig(sim, fault))
	}, func(t *testing.T, err error) {
		if IsCacheNotFound(err) {
			t.Errorf("IsCacheNotFound(%v) = true", err)
		}
	})
}

// TestSimLimitsFromQuotaErrors: Gemini sends no rate-limit headers, so the
// limits come from the QuotaFailure of a 429.
func TestSimLimitsFromQuotaErrors(t *testing.T) {
	sim := startSim(t, llmsim.Config{Gemini: llmsim.ProviderConfig{RPM: 2}})
	s := newStrategy(t, simConfig(sim, ""))
	var resp batchllm.Response[string]
	var err error
	for i := range 3 {
		resp, err = s.Call(t.Context(), req(batchllm.Text(fmt.Sprint("q", i))))
	}
	c := batchllm.DefaultClassifier.Classify(err)
	l := resp.Limits
	if c.Class != batchllm.ClassRateLimited || l == nil || l.Requests.Limit != 2 || l.Requests.Remaining != 0 || l.RetryAfter <= 0 || l.Requests.Reset != l.RetryAfter {
		t.Fatalf("third call: class %v, limits %+v (err %v)", c.Class, l, err)
	}
}

func TestSimRun(t *testing.T) {
	sim := startSim(t, llmsim.Config{FaultRetryAfter: 10 * time.Millisecond, Seed: 5, Gemini: llmsim.ProviderConfig{
		Faults: map[llmsim.Fault]float64{"429": 0.1, "503": 0.1, "500": 0.05, llmsim.FaultReset: 0.05},
	}})
	s := newStrategy(t, simConfig(sim, ""))
	sum := run(t, s, 32, 20, batchllm.RetryPolicy{MaxAttempts: 10, InitialWait: time.Millisecond, MaxWait: 10 * time.Millisecond})
	for id, r := range sum.ByID() {
		if r.Err != nil || !strings.Contains(r.Output, "re: question "+id) {
			t.Errorf("%s: %q %v", id, r.Output, r.Err)
		}
	}
	st := sim.Stats().Gemini
	if sum.Stats.Usage.InputTokens != st.InputTokens || sum.Stats.Usage.OutputTokens != st.OutputTokens {
		t.Errorf("processor usage %+v, simulator in %d out %d", sum.Stats.Usage, st.InputTokens, st.OutputTokens)
	}
	if st.Requests != sum.Stats.Attempts || st.FaultsInjected == 0 {
		t.Errorf("simulator saw %d requests (%d faults), processor made %d attempts", st.Requests, st.FaultsInjected, sum.Stats.Attempts)
	}
}

// run processes n items "question iNN" with s on a processor with the given
// workers, and returns the summary after closing the processor.
func run(t *testing.T, s batchllm.Strategy[batchllm.Prompt, string], workers, n int, retry batchllm.RetryPolicy) *batchllm.Summary[string, struct{}] {
	t.Helper()
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
		Strategy: s, Workers: workers, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Retry: retry,
		Gate:  &batchllm.CooldownGate{Floor: 5 * time.Millisecond, Max: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("i%02d", i)
		if err := p.Add(t.Context(), batchllm.Item[batchllm.Prompt, string, struct{}]{ID: id, Input: batchllm.Text("question " + id)}); err != nil {
			t.Fatal(err)
		}
	}
	p.Finish()
	sum, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sum
}
