package llmsim

import (
	"slices"

	"github.com/batchllm/batchllm/internal/modelname"
)

// modelSpec is what the simulator knows of one model, as its provider
// documents it. The simulator keeps its own table, apart from batchllm's
// model catalogue (cost/prices.json), so that it models the providers and
// not batchllm's reading of them; model_table_test.go checks that the two
// agree, so that a figure corrected in one is looked at in the other.
type modelSpec struct {
	provider      string // "openai", "anthropic" or "gemini"
	contextWindow int    // input and output tokens together (OpenAI), input tokens (Anthropic, Gemini)
	maxOutput     int
	// cacheMin is the shortest prompt prefix the provider caches.
	cacheMin int
	// fixedTemperature: OpenAI reasoning models accept only the default
	// temperature, 1 (https://platform.openai.com/docs/guides/reasoning;
	// github.com/leafo/lua-openai/issues/12 quotes the 400).
	fixedTemperature bool
	// responsesOnly: the model is served by POST /v1/responses only, and
	// chat completions answer it with a 404 (see responsesOnlyError).
	responsesOnly bool
	// source is where the row's figures come from.
	source string
}

// Cache minimums: OpenAI caches prompts of 1,024 tokens or more
// (https://platform.openai.com/docs/guides/prompt-caching). Anthropic: 4,096
// for Claude Opus 4.5 and later Opus, and Haiku 4.5; 2,048 for Sonnet 4.6
// and Haiku 3.5; 1,024 for the other Claude 4 models
// (https://docs.claude.com/en/docs/build-with-claude/prompt-caching#cache-limitations;
// anthropic-sdk-python issue #1194 quotes the table). Gemini explicit
// caches: 1,024 tokens for 2.5 Flash, 2,048 for 2.5 Pro
// (https://ai.google.dev/gemini-api/docs/caching), 4,096 for Gemini 3
// (the same page's table of minimum token counts, "Gemini 3 Pro Preview
// 4096").
var modelTable = map[string]modelSpec{
	"gpt-5":        {"openai", 400_000, 128_000, 1024, true, false, "https://platform.openai.com/docs/models/gpt-5"},
	"gpt-5-mini":   {"openai", 400_000, 128_000, 1024, true, false, "https://platform.openai.com/docs/models/gpt-5-mini"},
	"gpt-5-nano":   {"openai", 400_000, 128_000, 1024, true, false, "https://platform.openai.com/docs/models/gpt-5-nano"},
	"gpt-5.1":      {"openai", 400_000, 128_000, 1024, true, false, "https://platform.openai.com/docs/models/gpt-5.1"},
	"gpt-5.2":      {"openai", 400_000, 128_000, 1024, true, false, "https://platform.openai.com/docs/models/gpt-5.2"},
	"gpt-5.4":      {"openai", 1_050_000, 128_000, 1024, true, false, "https://vercel.com/ai-gateway/models/gpt-5.4.md"},
	"gpt-5.4-mini": {"openai", 400_000, 128_000, 1024, true, false, "https://platform.openai.com/docs/models/gpt-5.4-mini"},
	"gpt-5.4-nano": {"openai", 400_000, 128_000, 1024, true, false, "https://platform.openai.com/docs/models/gpt-5.4-nano"},
	"gpt-5.5":      {"openai", 1_050_000, 128_000, 1024, true, false, "https://docs.venice.ai/models/gpt-5-4"},
	"gpt-5-pro":    {"openai", 400_000, 272_000, 1024, true, true, "https://platform.openai.com/docs/models/gpt-5-pro (\"available in the Responses API only\")"},
	"o3-pro":       {"openai", 200_000, 100_000, 1024, true, true, "https://platform.openai.com/docs/models/o3-pro (\"available in the Responses API only\")"},
	"gpt-4.1":      {"openai", 1_047_576, 32_768, 1024, false, false, "https://platform.openai.com/docs/models/gpt-4.1"},
	"gpt-4.1-mini": {"openai", 1_047_576, 32_768, 1024, false, false, "https://platform.openai.com/docs/models/gpt-4.1-mini"},
	"gpt-4.1-nano": {"openai", 1_047_576, 32_768, 1024, false, false, "https://platform.openai.com/docs/models/gpt-4.1-nano"},
	"gpt-4o":       {"openai", 128_000, 16_384, 1024, false, false, "https://platform.openai.com/docs/models/gpt-4o"},
	"gpt-4o-mini":  {"openai", 128_000, 16_384, 1024, false, false, "https://platform.openai.com/docs/models/gpt-4o-mini"},
	"o1":           {"openai", 200_000, 100_000, 1024, true, false, "https://platform.openai.com/docs/models/o1"},
	"o3":           {"openai", 200_000, 100_000, 1024, true, false, "https://platform.openai.com/docs/models/o3"},
	"o3-mini":      {"openai", 200_000, 100_000, 1024, true, false, "https://platform.openai.com/docs/models/o3-mini"},
	"o4-mini":      {"openai", 200_000, 100_000, 1024, true, false, "https://platform.openai.com/docs/models/o4-mini"},

	"claude-opus-4-8":   {"anthropic", 1_000_000, 128_000, 4096, false, false, "https://docs.claude.com/en/docs/about-claude/models/overview (limits as Opus 4.6)"},
	"claude-opus-4-7":   {"anthropic", 1_000_000, 128_000, 4096, false, false, "https://docs.claude.com/en/docs/about-claude/models/overview (limits as Opus 4.6)"},
	"claude-opus-4-6":   {"anthropic", 1_000_000, 128_000, 4096, false, false, "https://platform.claude.com/docs/en/models/opus-4-6/overview"},
	"claude-opus-4-5":   {"anthropic", 200_000, 64_000, 4096, false, false, "https://docs.claude.com/en/docs/about-claude/models/overview"},
	"claude-opus-4-1":   {"anthropic", 200_000, 32_000, 1024, false, false, "https://docs.claude.com/en/docs/about-claude/models/overview"},
	"claude-opus-4":     {"anthropic", 200_000, 32_000, 1024, false, false, "https://docs.claude.com/en/docs/about-claude/models/overview"},
	"claude-opus-4-0":   {"anthropic", 200_000, 32_000, 1024, false, false, "https://docs.claude.com/en/docs/about-claude/models/overview"},
	"claude-sonnet-4-6": {"anthropic", 1_000_000, 128_000, 2048, false, false, "https://platform.claude.com/docs/en/models/sonnet-4-6/overview"},
	"claude-sonnet-4-5": {"anthropic", 1_000_000, 64_000, 1024, false, false, "https://docs.claude.com/en/docs/about-claude/models/overview (1M with the context-1m beta)"},
	"claude-sonnet-4":   {"anthropic", 1_000_000, 64_000, 1024, false, false, "https://docs.claude.com/en/docs/about-claude/models/overview (1M with the context-1m beta)"},
	"claude-sonnet-4-0": {"anthropic", 1_000_000, 64_000, 1024, false, false, "https://docs.claude.com/en/docs/about-claude/models/overview (1M with the context-1m beta)"},
	"claude-haiku-4-5":  {"anthropic", 200_000, 64_000, 4096, false, false, "https://docs.claude.com/en/docs/about-claude/models/overview"},
	"claude-3-5-haiku":  {"anthropic", 200_000, 8192, 2048, false, false, "https://docs.claude.com/en/docs/about-claude/models/overview"},

	"gemini-2.5-pro":        {"gemini", 1_048_576, 65_536, 2048, false, false, "https://ai.google.dev/gemini-api/docs/models#gemini-2.5-pro"},
	"gemini-2.5-flash":      {"gemini", 1_048_576, 65_536, 1024, false, false, "https://ai.google.dev/gemini-api/docs/models#gemini-2.5-flash"},
	"gemini-2.5-flash-lite": {"gemini", 1_048_576, 65_536, 1024, false, false, "https://ai.google.dev/gemini-api/docs/models#gemini-2.5-flash-lite"},
	"gemini-3-pro":          {"gemini", 1_048_576, 65_536, 4096, false, false, "https://ai.google.dev/gemini-api/docs/models#gemini-3-pro (served as gemini-3-pro-preview)"},
	"gemini-3.1-pro":        {"gemini", 1_048_576, 65_536, 4096, false, false, "https://ai.google.dev/gemini-api/docs/models (served as gemini-3.1-pro-preview)"},
	"gemini-3-flash":        {"gemini", 1_048_576, 65_536, 4096, false, false, "https://ai.google.dev/gemini-api/docs/models#gemini-3-flash (served as gemini-3-flash-preview)"},
}

// lookupModel finds a model in the table by its name, as the APIs accept
// it: any case, with a "models/" (Gemini) or other path prefix, or as a
// dated snapshot or preview of a known model ("gpt-4o-2024-08-06",
// "claude-haiku-4-5-20251001", "gemini-3-pro-preview"), which the APIs
// serve under the same limits.
func lookupModel(name string) (modelSpec, bool) {
	k, ok := modelname.Lookup(modelTable, name)
	return modelTable[k], ok
}

// tableModels returns the table's models of provider, sorted.
func tableModels(provider string) []string {
	var out []string
	for name, m := range modelTable {
		if m.provider == provider {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
