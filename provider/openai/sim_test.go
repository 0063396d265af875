package openai

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3/option"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"github.com/batchllm/batchllm/llmsim"
)

// startSim and req are the shared helpers of internal/testing/simtest.
var (
	startSim = simtest.Start
	req      = simtest.Request
)

// simStrategy returns a strategy on sim; fault, if not empty, is forced on
// every request.
func simStrategy(t *testing.T, sim *llmsim.Server, fault string, mod func(*Config)) *Strategy {
	t.Helper()
	cfg := Config{Model: "gpt-4o-mini", APIKey: "sk-test-key-0123456789", BaseURL: sim.OpenAIBaseURL()}
	if fault != "" {
		cfg.RequestOptions = []option.RequestOption{option.WithHeader(llmsim.FaultHeader, fault)}
	}
	return simtest.Build(t, cfg, mod, New)
}

func TestSimText(t *testing.T) {
	sim := startSim(t, llmsim.Config{OpenAI: llmsim.ProviderConfig{RPM: 6000, TPM: 1_000_000}})
	s := simStrategy(t, sim, "", func(c *Config) { c.System = "be brief"; c.MaxTokens = 50 })
	resp := simtest.Text(t, s, "assistant")
	if l := resp.Limits; l == nil || l.Requests.Limit != 6000 || l.Requests.Remaining != 5999 || l.Tokens.Limit != 1_000_000 || l.Tokens.Reset <= 0 {
		t.Errorf("limits %+v", resp.Limits)
	}
	st := sim.Stats().OpenAI
	if st.InputTokens != resp.Usage.InputTokens || st.OutputTokens != resp.Usage.OutputTokens {
		t.Errorf("sim counted %d in %d out, strategy %+v", st.InputTokens, st.OutputTokens, resp.Usage)
	}
}

func TestSimCachedTokens(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := simStrategy(t, sim, "", func(c *Config) { c.System = strings.Repeat("shared context ", 400) })
	first, err := s.Call(t.Context(), req(batchllm.Text("question one")))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Call(t.Context(), req(batchllm.Text("question two")))
	if err != nil {
		t.Fatal(err)
	}
	if first.Usage.CachedInputTokens != 0 {
		t.Errorf("first call cached %d tokens, want 0", first.Usage.CachedInputTokens)
	}
	u := second.Usage
	if u.CachedInputTokens < 1024 || u.CachedInputTokens > u.InputTokens || u.CacheHitRate() < 0.9 {
		t.Errorf("second usage %+v: want >= 1024 cached tokens inside the input", u)
	}
	if got := sim.Stats().OpenAI.CachedTokens; got != u.CachedInputTokens {
		t.Errorf("sim counted %d cached tokens, strategy %d", got, u.CachedInputTokens)
	}
}

func TestSimStructuredOutput(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := simStrategy(t, sim, "", nil)
	simtest.StructuredOutput(t, s, `{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],"additionalProperties":false}`)
}

func TestSimErrorClasses(t *testing.T) {
	sim := startSim(t, llmsim.Config{FaultRetryAfter: 1500 * time.Millisecond})
	simtest.ErrorClasses(t, simtest.CommonFaults(
		simtest.FaultCase{Fault: "429", Class: batchllm.ClassRateLimited, Wait: 1500 * time.Millisecond},
		simtest.FaultCase{Fault: "404", Class: batchllm.ClassFatalItem},
		simtest.FaultCase{Fault: "502", Class: batchllm.ClassTransient},
		simtest.FaultCase{Fault: "503", Class: batchllm.ClassOverloaded},
		simtest.FaultCase{Fault: "hang", Class: batchllm.ClassTransient},
	), "sk-test", func(t *testing.T, fault string) batchllm.Strategy[batchllm.Prompt, string] {
		return simStrategy(t, sim, fault, nil)
	}, nil)
}

func TestSimDryRunMakesNoRequest(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	s := simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 64 })
	resp, err := s.DryRun(t.Context(), req(batchllm.Text("hello there")))
	if err != nil || resp.Output != "[dry run: openai gpt-4o-mini]" || resp.Usage.InputTokens <= 0 || resp.Usage.OutputTokens != 64 {
		t.Fatalf("dry run %+v, %v", resp, err)
	}
	if n := sim.Stats().OpenAI.Requests; n != 0 {
		t.Fatalf("dry run sent %d requests", n)
	}
	e := s.Estimate(req(batchllm.Prompt{Model: "gpt-4o", MaxTokens: 10, Messages: []batchllm.Message{{Role: "user", Content: "hi"}}}))
	if e.Scope != "openai/gpt-4o" || e.Model != "gpt-4o" || e.MaxOutputTokens != 10 || e.InputTokens <= 0 {
		t.Fatalf("estimate %+v", e)
	}
	s.call.Scope = "shared"
	if e := s.Estimate(req(batchllm.Prompt{Model: "gpt-4o"})); e.Scope != "shared" {
		t.Fatalf("estimate with Config.Scope: %+v", e)
	}
}

// TestSimRun drives the strategy through the processor: faults forced on
// some items are retried or end the item as their class says, and the
// usage the processor totals equals what the simulator counted.
func TestSimRun(t *testing.T) {
	sim := startSim(t, llmsim.Config{FaultRetryAfter: 10 * time.Millisecond, Seed: 7, OpenAI: llmsim.ProviderConfig{
		Faults: map[llmsim.Fault]float64{"429": 0.1, "500": 0.1, "503": 0.05, llmsim.FaultReset: 0.05},
	}})
	plain := simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 40 })
	own := map[string]batchllm.Strategy[batchllm.Prompt, string]{"i03": simStrategy(t, sim, "400", nil)}
	r := simtest.RunWithFaults(t, plain, own, func() llmsim.ProviderStats { return sim.Stats().OpenAI }).ByID()["i03"]
	if r.Class() != batchllm.ClassFatalItem || r.Attempts != 1 {
		t.Errorf("i03: class %v attempts %d, want fatal_item after 1", r.Class(), r.Attempts)
	}
	if _, ok := errors.AsType[*batchllm.ClassifiedError](r.Err); !ok {
		t.Errorf("i03 error %v does not carry its class", r.Err)
	}
}
