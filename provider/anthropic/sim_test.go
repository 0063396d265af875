package anthropic

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
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
	return simtest.Build(t, cfg, mod, New)
}

func TestSimText(t *testing.T) {
	sim := startSim(t, llmsim.Config{Anthropic: llmsim.ProviderConfig{RPM: 500, InputTPM: 100_000, OutputTPM: 20_000}})
	s := simStrategy(t, sim, "", func(c *Config) { c.System = "be brief"; c.MaxTokens = 50 })
	resp := simtest.Text(t, s, "assistant")
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
	simtest.StructuredOutput(t, s, `{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`)
	p := batchllm.Text("give me a number")
	p.Schema = &batchllm.Schema{Name: "bad", JSON: json.RawMessage(`[1,2`)}
	if _, err := s.Call(t.Context(), req(p)); batchllm.DefaultClassifier.Classify(err).Class != batchllm.ClassFatalItem {
		t.Fatalf("invalid schema: %v, want a fatal item error", err)
	}
}

func TestSimErrorClasses(t *testing.T) {
	sim := startSim(t, llmsim.Config{FaultRetryAfter: 2 * time.Second})
	simtest.ErrorClasses(t, simtest.CommonFaults(
		simtest.FaultCase{Fault: "429", Class: batchllm.ClassRateLimited, Wait: 2 * time.Second},
		simtest.FaultCase{Fault: "529", Class: batchllm.ClassOverloaded},
		simtest.FaultCase{Fault: "503", Class: batchllm.ClassOverloaded},
	), "sk-ant", func(t *testing.T, fault string) batchllm.Strategy[batchllm.Prompt, string] {
		return simStrategy(t, sim, fault, nil)
	}, nil)
}

func TestSimRun(t *testing.T) {
	sim := startSim(t, llmsim.Config{FaultRetryAfter: 10 * time.Millisecond, Seed: 3, Anthropic: llmsim.ProviderConfig{
		Faults: map[llmsim.Fault]float64{"429": 0.1, "529": 0.1, "500": 0.05, llmsim.FaultReset: 0.05},
	}})
	s := simStrategy(t, sim, "", func(c *Config) { c.MaxTokens = 40 })
	simtest.RunWithFaults(t, s, nil, func() llmsim.ProviderStats { return sim.Stats().Anthropic })
}
