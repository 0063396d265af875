// Package simenv lets the examples run without an API key: against the
// real provider when its key is set, against a running `batchllm sim` when
// BATCHLLM_SIM_URL names it, and otherwise (or when BATCHLLM_SIM=1) against
// an llmsim simulator started in process.
package simenv

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/batchllm/batchllm/llmsim"
)

// Provider names, for Endpoint.
const (
	OpenAI    = "openai"
	Anthropic = "anthropic"
	Gemini    = "gemini"
)

// Endpoint is where an example sends its requests.
type Endpoint struct {
	// BaseURL is empty for the real provider (the SDK's default or its
	// environment variable applies).
	BaseURL string
	// APIKey is empty for the real provider (the SDK reads its environment
	// variable).
	APIKey string
	// Simulated reports whether the endpoint is a simulator.
	Simulated bool
	// Close stops an in-process simulator; it is a no-op otherwise.
	Close func()
}

var keyVars = map[string][]string{
	OpenAI:    {"OPENAI_API_KEY"},
	Anthropic: {"ANTHROPIC_API_KEY"},
	Gemini:    {"GEMINI_API_KEY", "GOOGLE_API_KEY"},
}

// Main is an example's main function: it calls run with the endpoint for
// provider (a simulator started in process has the configuration cfg:
// faults, limits, latency), closes the endpoint, and exits with the error
// of run, if any.
func Main(provider string, cfg llmsim.Config, run func(ctx context.Context, ep Endpoint) error) {
	ep, err := endpoint(provider, cfg)
	if err == nil {
		err = run(context.Background(), ep)
		ep.Close()
	}
	if err != nil {
		log.Fatal(err)
	}
}

// endpoint returns the endpoint for provider, starting a simulator with
// the configuration cfg if need be.
func endpoint(provider string, cfg llmsim.Config) (Endpoint, error) {
	if os.Getenv("BATCHLLM_SIM") != "1" {
		if u := os.Getenv("BATCHLLM_SIM_URL"); u != "" {
			return Endpoint{BaseURL: baseURL(provider, strings.TrimSuffix(u, "/")), APIKey: "sim-key", Simulated: true, Close: func() {}}, nil
		}
		for _, v := range keyVars[provider] {
			if os.Getenv(v) != "" {
				return Endpoint{Close: func() {}}, nil
			}
		}
	}
	sim, err := llmsim.Start(cfg)
	if err != nil {
		return Endpoint{}, fmt.Errorf("simenv: start simulator: %w", err)
	}
	var u string
	switch provider {
	case OpenAI:
		u = sim.OpenAIBaseURL()
	case Anthropic:
		u = sim.AnthropicBaseURL()
	default:
		u = sim.GeminiBaseURL()
	}
	return Endpoint{BaseURL: u, APIKey: "sim-key", Simulated: true, Close: func() { sim.Close() }}, nil
}

// baseURL derives a provider's base URL from a simulator's root URL.
func baseURL(provider, root string) string {
	if provider == OpenAI {
		return root + "/v1/"
	}
	return root
}
