package anthropic

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/llmsim"
)

// startSim and req are the shared helpers of internal/testing/simtest.
var (
	startSim = simtest.Start
	req      = simtest.Request
)

func simStrategy(t *testing.T, sim *llmsim.Server, fault string, mod func(*Config)) *Strategy {
	t.Helper()
	cfg := Config{Model: "claude-haiku-4-5", APIKey: "sk-ant-test-key-0123456789", BaseURL: sim.AnthropicBaseURL()}
	if fault != "" {
		cfg.RequestOptions = []option.RequestOption{option.WithHeader(llmsim.FaultHeader, fault)}
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSimText(t *testing.T) {
	sim := startSim(t, llmsim.Config{Anthropic: llmsim.ProviderConfig{RPM: 500, InputTPM: 100_000, OutputTPM: 20_000}})
	s := simStrategy(t, sim, "", func(c *Config) { c.System = "be brief"; c.MaxTokens = 50 })
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
	transcript := "system: be brief\nuser: first\nassistant: ok\nuser: what is 2+2?\n"
	if want := int64((len(transcript) + 3) / 4); resp.Usage.InputTokens != want {
		t.Errorf("input tokens %d, want %d", resp.Usage.InputTokens, want)
	}
	if resp.Model != "claude-haiku-4-5" {
		t.Errorf("model %q", resp.Model)
	}
	l := resp.Limits
	if l == nil || l.Requests.Limit != 500 || l.Requests.Remaining != 499 || l.InputTokens.Limit != 100_000 || l.OutputTokens.Limit != 20_000 {
		t.Errorf("limits %+v", l)
	}
}

// TestSimLargeMaxTokens: the SDK refuses non-streaming requests with a
// large max_tokens unless a request timeout is set; the strategy sets one.
func TestSimLargeMaxTokens(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 64000 })
	if _, err := s.Call(t.Context(), req(batchllm.Text("hi"))); err != nil {
		t.Fatal(err)
	}
	if n := sim.Stats().Anthropic.Requests; n != 1 {
		t.Fatalf("%d requests reached the simulator, want 1", n)
	}
}

func TestSimPromptCaching(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := simStrategy(t, sim, "", func(c *Config) {
		c.Model = "claude-sonnet-4-5" // caches from 1,024 tokens; Haiku 4.5 needs 4,096
		c.System = "answer from the context"
		c.Context = strings.Repeat("a long shared document ", 300)
		c.CacheTTL = 5 * time.Minute
	})
	first, err := s.Call(t.Context(), req(batchllm.Text("question one")))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Call(t.Context(), req(batchllm.Text("question two")))
	if err != nil {
		t.Fatal(err)
	}
	if u := first.Usage; u.CacheWriteTokens < 1024 || u.CachedInputTokens != 0 || u.InputTokens <= u.CacheWriteTokens {
		t.Errorf("first usage %+v: want the context written to the cache", u)
	}
	u := second.Usage
	if u.CachedInputTokens != first.Usage.CacheWriteTokens || u.CacheWriteTokens != 0 || u.InputTokens != first.Usage.InputTokens {
		t.Errorf("second usage %+v: want the context read from the cache (first %+v)", u, first.Usage)
	}
	st := sim.Stats().Anthropic
	total := first.Usage.Add(second.Usage)
	if st.InputTokens != total.InputTokens || st.CachedTokens != total.CachedInputTokens || st.CacheWriteTokens != total.CacheWriteTokens {
		t.Errorf("simulator counted %+v, strategy %+v", st, total)
	}
}

func TestSimStructuredOutput(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := simStrategy(t, sim, "", nil)
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
	p.Schema = &batchllm.Schema{Name: "bad", JSON: json.RawMessage(`[1,2`)}
	if _, err := s.Call(t.Context(), req(p)); batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassFatalItem {
		t.Fatalf("invalid schema: %v, want a fatal item error", err)
	}
}

func TestSimErrorClasses(t *testing.T) {
	sim := startSim(t, llmsim.Config{FaultRetryAfter: 2 * time.Second})
	simtest.ErrorClasses(t, []simtest.FaultCase{
		{Fault: "429", Class: batchllm.ClassRateLimited, Wait: 2 * time.Second},
		{Fault: "quota", Class: batchllm.ClassFatalBatch},
		{Fault: "529", Class: batchllm.ClassOverloaded},
		{Fault: "503", Class: batchllm.ClassOverloaded},
		{Fault: "500", Class: batchllm.ClassTransient},
		{Fault: "400", Class: batchllm.ClassFatalItem},
		{Fault: "401", Class: batchllm.ClassFatalBatch},
		{Fault: "403", Class: batchllm.ClassFatalBatch},
		{Fault: "reset", Class: batchllm.ClassTransient},
		{Fault: "truncate", Class: batchllm.ClassTransient},
		{Fault: "badjson", Class: batchllm.ClassTransient},
	}, "sk-ant", func(t *testing.T, fault string) batchllm.Strategy[batchllm.Prompt, string] {
		return simStrategy(t, sim, fault, nil)
	}, nil)
}

func TestSimRun(t *testing.T) {
	sim := startSim(t, llmsim.Config{FaultRetryAfter: 10 * time.Millisecond, Seed: 3, Anthropic: llmsim.ProviderConfig{
		Faults: map[llmsim.Fault]float64{"429": 0.1, "529": 0.1, "500": 0.05, llmsim.FaultReset: 0.05},
	}})
	s := simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 40 })
	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, struct{}]{
		Strategy: s, Workers: 8, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Retry: batchllm.RetryPolicy{MaxAttempts: 10, InitialWait: time.Millisecond, MaxWait: 10 * time.Millisecond},
		Gate:  &batchllm.CooldownGate{Floor: 5 * time.Millisecond, Max: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for i := range 20 {
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
	for id, r := range sum.ByID() {
		if r.Err != nil || !strings.Contains(r.Output, "re: question "+id) {
			t.Errorf("%s: %q %v", id, r.Output, r.Err)
		}
	}
	st := sim.Stats().Anthropic
	if sum.Stats.Usage.InputTokens != st.InputTokens || sum.Stats.Usage.OutputTokens != st.OutputTokens {
		t.Errorf("processor usage %+v, simulator in %d out %d", sum.Stats.Usage, st.InputTokens, st.OutputTokens)
	}
	if st.Requests != sum.Stats.Attempts || st.FaultsInjected == 0 {
		t.Errorf("simulator saw %d requests (%d faults), processor made %d attempts", st.Requests, st.FaultsInjected, sum.Stats.Attempts)
	}
}
