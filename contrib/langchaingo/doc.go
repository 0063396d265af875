// Package langchaingo turns any [llms.Model] of LangChainGo
// (github.com/tmc/langchaingo) into a batchllm strategy, so that a model
// LangChainGo supports and batchllm has no provider package for (Bedrock,
// Mistral, Cohere, Hugging Face, a local model, a fake in tests) can run
// in a batch with batchllm's rate limiting, retries and accounting.
//
//	llm, _ := ollama.New(ollama.WithModel("llama3"))
//	s, _ := langchaingo.New(langchaingo.Config{LLM: llm, Model: "llama3"})
//	p, _ := batchllm.New(batchllm.Config[batchllm.Prompt, string, any]{Strategy: s})
//
// Usage is read from the first choice's GenerationInfo, whose keys differ
// by LangChainGo provider: PromptTokens, CompletionTokens and
// PromptCachedTokens or CachedTokens (OpenAI, Google AI, Ollama; cached
// tokens are part of the prompt tokens) or InputTokens, OutputTokens,
// CacheReadInputTokens and CacheCreationInputTokens (Anthropic; cache reads
// and writes are added to the input, batchllm's convention). A model that
// reports none yields zero usage.
//
// Errors are classified from what LangChainGo's errors expose (see
// [Classify]): its clients return plain errors that quote the HTTP status,
// not [llms.Error], so the status decides, as for batchllm's own
// providers. LangChainGo's own clients may retry by themselves; turn that
// off in the client where it can be, since batchllm owns retries.
//
// The adapter is its own Go module (github.com/batchllm/batchllm/contrib/langchaingo),
// as River keeps its integrations: LangChainGo is the heaviest dependency
// behind the smallest adapter, and users of the main module do not inherit
// it.
package langchaingo
