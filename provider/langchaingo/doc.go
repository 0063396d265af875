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
// Errors are classified by LangChainGo's standard [llms.Error] codes (see
// [Classify]). LangChainGo's own clients may retry by themselves; turn that
// off in the client where it can be, since batchllm owns retries.
package langchaingo
