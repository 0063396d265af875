package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/batchllm/batchllm"
	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/provider/anthropic"
	"github.com/batchllm/batchllm/provider/gemini"
	"github.com/batchllm/batchllm/provider/openai"
	"github.com/spf13/pflag"
)

// strategy is what every provider of the CLI builds: a chat strategy from a
// Prompt to the answer's text.
type strategy = batchllm.Strategy[batchllm.Prompt, string]

// providerOptions are the flags a provider is built from.
type providerOptions struct {
	Model       string
	BaseURL     string
	APIKey      string // from the provider's environment variable; never printed
	MaxTokens   int
	Temperature *float64
	Sim         embeddedSim // --provider sim only
	// Stream, FirstTokenTimeout and StallTimeout are --stream and its
	// limits.
	Stream                          bool
	FirstTokenTimeout, StallTimeout time.Duration
	// OpenAIAPI is --openai-api: "auto" (or ""), "chat" or "responses".
	OpenAIAPI string
}

// addOpenAIAPIFlag registers --openai-api, the endpoint of the OpenAI
// strategy (openai.Config.API).
func addOpenAIAPIFlag(fl *pflag.FlagSet, dst *string) {
	fl.StringVar(dst, "openai-api", "auto", "--provider openai or sim: the endpoint, chat (chat completions), responses (the Responses API) or auto (the Responses API for the models only it serves, such as o3-pro; chat completions for the others)")
}

// provider is one entry of the CLI's provider registry.
type provider struct {
	// Name is the --provider value.
	Name string
	// KeyEnv lists the environment variables that may hold the API key, in
	// order of preference; empty if the provider needs none.
	KeyEnv []string
	// KeyOptional says that the key may be missing when --base-url is set
	// (a local OpenAI-compatible server).
	KeyOptional bool
	// Prices names the provider in the price table, whose models are the
	// known models of this provider.
	Prices string
	// DefaultModel is used when --model is not given.
	DefaultModel string
	// RawBodies says that the provider sends the body of an OpenAI
	// batch-format input line as written (batchllm.Prompt.Raw); the others
	// get it mapped to a Prompt (batchformat.go).
	RawBodies bool
	// NoTemperature says that the provider's API takes no temperature (the
	// Anthropic strategy refuses one: see the README's Providers table),
	// so that a batch-format body with one is refused when it is checked.
	NoTemperature bool
	// MaxStop is the most stop sequences an item may give (an input line's
	// "stop", a mapped batch-format body's): OpenAI chat completions 4,
	// Gemini 5 (see batchllm.Prompt.Stop); 0 for no limit (Anthropic).
	// See stopLimit for a server other than the provider's own.
	MaxStop int
	// Build makes the strategy. The returned function releases what it
	// holds (a simulator, say); it is never nil when err is nil.
	Build func(ctx context.Context, o providerOptions) (strategy, func() error, error)
}

// stopLimit is MaxStop for a run against baseURL: an OpenAI-compatible
// server (any --base-url of the openai provider) sets its own bound, and
// some take more than OpenAI's 4, so the line goes and the server judges.
func (p provider) stopLimit(baseURL string) int {
	if p.RawBodies && baseURL != "" {
		return 0
	}
	return p.MaxStop
}

// registry maps --provider values to providers.
type registry map[string]provider

func (r registry) names() []string {
	var n []string
	for k := range r {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

// lookup returns the named provider or an error listing the known ones.
func (r registry) lookup(name string) (provider, error) {
	p, ok := r[name]
	if !ok {
		return p, fmt.Errorf("unknown provider %q (known: %s)", name, strings.Join(r.names(), ", "))
	}
	return p, nil
}

// defaultProviders returns the providers built into the binary.
func defaultProviders() registry {
	r := registry{
		"openai": {
			Name:         "openai",
			KeyEnv:       []string{"OPENAI_API_KEY"},
			KeyOptional:  true,
			Prices:       "openai",
			DefaultModel: "gpt-4o-mini",
			RawBodies:    true,
			MaxStop:      openai.MaxStop,
			Build:        buildOpenAI,
		},
		"anthropic": {
			Name:          "anthropic",
			KeyEnv:        []string{"ANTHROPIC_API_KEY"},
			Prices:        "anthropic",
			DefaultModel:  "claude-haiku-4-5",
			NoTemperature: true,
			Build:         buildAnthropic,
		},
		"gemini": {
			Name:         "gemini",
			KeyEnv:       []string{"GEMINI_API_KEY", "GOOGLE_API_KEY"},
			Prices:       "gemini",
			DefaultModel: "gemini-2.5-flash",
			MaxStop:      gemini.MaxStop,
			Build:        buildGemini,
		},
	}
	addSim(r)
	return r
}

// The temperature needs no strategy setting for Anthropic: every prompt
// carries the effective one (see runner.produce).
func buildAnthropic(_ context.Context, o providerOptions) (strategy, func() error, error) {
	s, err := anthropic.New(anthropic.Config{APIKey: o.APIKey, BaseURL: o.BaseURL, Model: o.Model, MaxTokens: o.MaxTokens,
		Stream: o.Stream, FirstTokenTimeout: o.FirstTokenTimeout, StallTimeout: o.StallTimeout})
	if err != nil {
		return nil, nil, err
	}
	return s, func() error { return nil }, nil
}

func buildGemini(_ context.Context, o providerOptions) (strategy, func() error, error) {
	s, err := gemini.New(gemini.Config{APIKey: o.APIKey, BaseURL: o.BaseURL, Model: o.Model, MaxTokens: o.MaxTokens, Temperature: o.Temperature,
		Stream: o.Stream, FirstTokenTimeout: o.FirstTokenTimeout, StallTimeout: o.StallTimeout})
	if err != nil {
		return nil, nil, err
	}
	return s, func() error { return nil }, nil
}

func buildOpenAI(_ context.Context, o providerOptions) (strategy, func() error, error) {
	api, err := openai.ParseAPI(o.OpenAIAPI)
	if err != nil {
		return nil, nil, fmt.Errorf("--openai-api: %w", err)
	}
	s, err := openai.New(openai.Config{
		API:         api,
		APIKey:      o.APIKey,
		BaseURL:     o.BaseURL,
		Model:       o.Model,
		MaxTokens:   o.MaxTokens,
		Temperature: o.Temperature,

		Stream:            o.Stream,
		FirstTokenTimeout: o.FirstTokenTimeout,
		StallTimeout:      o.StallTimeout,
	})
	if err != nil {
		return nil, nil, err
	}
	return s, func() error { return nil }, nil
}

// apiKey returns the provider's key from the environment, or an error that
// names the variables to set. The key itself is never part of an error.
func (p provider) apiKey(baseURL string) (string, error) {
	for _, e := range p.KeyEnv {
		if v := strings.TrimSpace(os.Getenv(e)); v != "" {
			return v, nil
		}
	}
	if len(p.KeyEnv) == 0 || (p.KeyOptional && baseURL != "") {
		return "", nil
	}
	return "", fmt.Errorf("provider %s needs an API key: set %s", p.Name, strings.Join(p.KeyEnv, " or "))
}

// checkModel returns an error if model is not one of the provider's models
// in the price table. allowUnknown turns the check off, for models newer
// than the table or served by a compatible server.
func (p provider) checkModel(prices *cost.Table, model string, allowUnknown bool) error {
	if allowUnknown {
		return nil
	}
	pr, err := prices.Lookup(model)
	if errors.Is(err, cost.ErrUnknownModel) {
		return fmt.Errorf("unknown model %q for provider %s (known: %s; use --allow-unknown-model for a model the price table does not know)",
			model, p.Name, strings.Join(p.models(prices), ", "))
	}
	if err != nil {
		return fmt.Errorf("model %q: %w", model, err)
	}
	if pr.Provider != p.Prices {
		return fmt.Errorf("model %q is %s model, not %s one", model, article(pr.Provider), article(p.Prices))
	}
	return nil
}

// models lists the provider's models in the price table.
func (p provider) models(prices *cost.Table) []string {
	var ms []string
	for _, m := range prices.Models() {
		if pr, err := prices.Lookup(m); err == nil && pr.Provider == p.Prices {
			ms = append(ms, m)
		}
	}
	return ms
}

// article prefixes a provider's name with "a" or "an".
func article(name string) string {
	if name != "" && strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}
