package gemini

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/internal/testing/simtest"
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
	return simtest.Build(t, cfg, nil, New)
}

func TestSimText(t *testing.T) {
	sim := startSim(t, llmsim.Config{})
	cfg := simConfig(sim, "")
	cfg.System = "be brief"
	cfg.MaxTokens = 50
	s := newStrategy(t, cfg)
	resp := simtest.Text(t, s, "model")
	p := batchllm.Prompt{Messages: []batchllm.Message{{Role: batchllm.RoleUser, Content: "first"}, {Role: batchllm.RoleAssistant, Content: "ok"}, {Role: batchllm.RoleUser, Content: "what is 2+2?"}}}

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
	simtest.StructuredOutput(t, s, `{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`)
}

func TestSimErrorClasses(t *testing.T) {
	sim := startSim(t, llmsim.Config{FaultRetryAfter: 3 * time.Second})
	simtest.ErrorClasses(t, simtest.CommonFaults(
		simtest.FaultCase{Fault: "429", Class: batchllm.ClassRateLimited, Wait: 3 * time.Second},
		simtest.FaultCase{Fault: "503", Class: batchllm.ClassOverloaded},
		simtest.FaultCase{Fault: "504", Class: batchllm.ClassTransient},
	), "AIza", func(t *testing.T, fault string) batchllm.Strategy[batchllm.Prompt, string] {
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
	simtest.RunWithFaults(t, s, nil, func() llmsim.ProviderStats { return sim.Stats().Gemini })
}
