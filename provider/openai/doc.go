// Package openai is a batchllm strategy for OpenAI's chat completions API
// and the many servers that speak it, and for OpenAI's Responses API, on the official SDK
// (github.com/openai/openai-go/v3) with the SDK's own retries turned off:
// batchllm's processor owns retries, backoff and cooldowns.
//
//	s, err := openai.New(openai.Config{Model: "gpt-4o-mini", MaxTokens: 200})
//	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, string, any]{Strategy: s})
//
// The key comes from Config.APIKey or $OPENAI_API_KEY, the base URL from
// Config.BaseURL or $OPENAI_BASE_URL. A Prompt's System, Messages (user and
// assistant turns), Model, MaxTokens, Temperature and Stop (up to 4, as
// "stop"; more fail the item before it is sent) map to the request; a
// Prompt's Schema asks for strict structured output (response_format
// json_schema, strict: true) and the answer is the JSON text. Config.Extra
// sets any other request field ("seed", "reasoning_effort",
// "prompt_cache_key", "service_tier").
//
// # Responses API
//
// Config.API chooses the endpoint. The default, [APIAuto], calls the
// Responses API (POST /responses, the SDK's responses package) for the
// models the model catalogue marks as served only by it (o3-pro,
// gpt-5-pro: cost.Limits.API) and chat completions for every other model;
// [APIChat] and [APIResponses] choose one for every model. Through the
// Responses API the system prompt is sent as instructions, the turns as
// input messages, the cap as max_output_tokens (at least 16), a Schema as
// text.format json_schema (strict), and store is false. The answer is the
// text of the output messages; the finish reason comes from status and
// incomplete_details.reason ("max_output_tokens" → length,
// "content_filter" → content_filter), the usage from input_tokens (cached
// tokens included, as in chat completions) and output_tokens (reasoning
// included). A failed response, or an "error" event in a stream, is
// classified by its code (rate_limit_exceeded, server_error, or the
// item's own). The Responses API has no stop sequences: Config.Stop with
// it fails at New, and an item with Stop that goes there fails, class
// fatal_item, before it is sent. On both APIs an error for a cut-off answer says how
// many output tokens reasoning used.
//
// # Request bodies as written
//
// A Prompt whose Raw is set (batchllm.RawRequest: an endpoint,
// "/v1/chat/completions" or "/v1/responses", and a JSON body, as on a line
// of an OpenAI Batch API input file) is sent to that endpoint with its
// body as written: tools, response_format, n, seed, stop, logprobs and any
// other field go through. The strategy owns only "stream" (set with
// Config.Stream, with stream_options.include_usage for chat completions;
// removed, with stream_options, without it) and "model", which it sets to
// the Prompt's Model or Config.Model when the body has none. Config.Extra
// still applies on top of the body; Config.System, MaxTokens, Temperature,
// Stop and the Prompt's other fields do not. The response is read as for
// any Prompt (usage, finish reason, rate-limit headers, error classes); the
// admission estimate counts the body's message text and its output cap
// ([View] shows the Prompt it counts). A body that is not a request of its
// endpoint fails the item, class fatal_item, before anything is sent.
// Every Response's Raw holds the ChatCompletion or Response object as
// received (assembled from the chunks when streamed).
//
// # Streaming
//
// With Config.Stream the answer comes as a stream of chunks
// (Chat.Completions.NewStreaming, stream_options.include_usage), assembled
// by the SDK's ChatCompletionAccumulator into the same completion, so the
// Response, its usage and its finish reason are the same as without
// streaming. Streaming lets the strategy notice a stalled answer:
// Config.FirstTokenTimeout bounds the wait for the first token and
// Config.StallTimeout the silence between tokens; a stream that breaks
// either is cancelled and the attempt fails as transient, as does a stream
// cut before its finish reason. Servers that do not know stream_options
// may reject it; leave Stream off for them.
//
// # Usage and limits
//
// OpenAI counts cached prompt tokens inside prompt_tokens, which is
// batchllm's convention already: Usage.InputTokens = prompt_tokens,
// CachedInputTokens = prompt_tokens_details.cached_tokens, CacheWriteTokens
// = prompt_tokens_details.cache_write_tokens (newer models), OutputTokens =
// completion_tokens (reasoning tokens included). Every response, successful
// or not, passes its x-ratelimit-{limit,remaining,reset}-{requests,tokens}
// headers to the admission gate as [batchllm.LimitInfo]; reset values are
// OpenAI's Go-style durations ("1s", "6m0s", "17.28s").
//
// # Errors
//
// Errors come back wrapped by [batchllm.Classified] with the class chosen by
// [Classify]: a 429 is rate limited with the delay of retry-after-ms or
// Retry-After, but a 429 insufficient_quota stops the batch; 503 is
// overloaded; other 5xx, connection errors, timeouts and a truncated body
// are transient; 401 and 403 stop the batch; other 4xx (a context that is
// too long, say) fail only the item. Error texts name the status, type,
// code and message; API keys are removed from them.
//
// # OpenAI-compatible servers
//
// Set BaseURL to the server's API root, the URL that "chat/completions" is
// appended to:
//
//   - Ollama: "http://localhost:11434/v1/" (any APIKey, such as "ollama");
//     Model is the Ollama model name, "llama3.2".
//   - vLLM: "http://localhost:8000/v1/" (APIKey as set with --api-key, or
//     any); Model is the served model, "meta-llama/Llama-3.1-8B-Instruct".
//   - llama.cpp server: "http://localhost:8080/v1/"; set LegacyMaxTokens if
//     your build ignores max_completion_tokens.
//   - OpenRouter: "https://openrouter.ai/api/v1/" with an OpenRouter key;
//     Model is "vendor/model", such as "anthropic/claude-3.5-haiku".
//   - Azure OpenAI, v1 API: "https://RESOURCE.openai.azure.com/openai/v1/";
//     Model is your deployment name. Azure reads the key from an api-key
//     header: set RequestOptions to
//     []option.RequestOption{option.WithHeader("api-key", key)}. For the
//     older deployment URLs with an api-version, pass a Client built with
//     the SDK's azure package: openai.NewClient(azure.WithEndpoint(endpoint,
//     "2024-10-21"), azure.WithAPIKey(key)).
//
// Each such server has its own limits: set Config.Scope (say
// "ollama/llama3.2") so that the admission gate keeps them apart from
// OpenAI's.
package openai
