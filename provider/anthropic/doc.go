// Package anthropic is a batchllm strategy for Anthropic's Messages API on
// the official SDK, with the SDK's own retries turned off: batchllm's
// processor owns retries, backoff and cooldowns.
//
//	s, err := anthropic.New(anthropic.Config{Model: "claude-haiku-4-5", MaxTokens: 500})
//
// The key comes from Config.APIKey or $ANTHROPIC_API_KEY, the base URL from
// Config.BaseURL or $ANTHROPIC_BASE_URL.
//
// # Why SDK v2
//
// This package imports github.com/anthropics/anthropic-sdk-go/v2, not v1.
// v1 ended with v1.84.0; v2 is the maintained line and speaks API version
// 2026-10-21, which gets new models and fields first. The price is that API
// version 2026-10-21 rejects temperature, top_p and top_k with a 400, and
// the v2 SDK has no fields for them. So a Prompt's Temperature is not sent
// (progressive temperature has no effect on this provider); Extra can still
// set other fields. A Prompt's Stop (or Config.Stop) is sent as
// stop_sequences.
//
// # Prompt caching
//
// Config.Context holds context shared by every item (documents, a long
// instruction). It is sent as a second system block after the system
// prompt, and with Config.CacheTTL set, the last system block carries
// cache_control {"type":"ephemeral","ttl":"5m"|"1h"}: the first item writes
// the prefix to the cache and later items read it at a tenth of the price.
//
// # Usage and limits
//
// Anthropic reports cache reads and writes beside input_tokens, not inside
// it. The strategy normalises to batchllm's convention: Usage.InputTokens =
// input_tokens + cache_creation_input_tokens + cache_read_input_tokens,
// CachedInputTokens = cache_read_input_tokens, CacheWriteTokens =
// cache_creation_input_tokens. Every response passes its
// anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
// {limit,remaining,reset} headers (resets are RFC 3339 times) and
// Retry-After to the admission gate.
//
// # Structured output
//
// A Prompt's Schema is sent as output_config.format {"type":"json_schema"},
// the Messages API's native structured output, and the answer's text is the
// JSON. For models without it, Config.SchemaMode = [SchemaTool] defines one
// tool whose input_schema is the schema and forces the model to call it
// (tool_choice {"type":"tool"}); the output is then the JSON input of that
// call, and an answer that does not call the tool is invalid output.
//
// # Streaming
//
// With Config.Stream the answer comes as a stream of events
// (Messages.NewStreaming), assembled by the SDK's Message.Accumulate into
// the same message, so the Response, its usage (input from message_start,
// output from message_delta) and its stop reason are the same as without
// streaming. Streaming lets the strategy notice a stalled answer:
// Config.FirstTokenTimeout bounds the wait for the first token and
// Config.StallTimeout the silence between tokens (pings do not count); a
// stream that breaks either is cancelled and the attempt fails as
// transient, as does a stream cut before message_stop. An error event in
// the stream has the class its error type has as an HTTP status
// (overloaded_error is overloaded, like a 529). A stream that fails after
// message_start still reports the usage message_start announced (the
// input and cache tokens, which are billed) with its error, so that the
// batch's token counts and budget see them.
//
// # Errors
//
// Errors come back wrapped by [batchllm.Classified] with the class chosen by
// [Classify]: 429 rate_limit_error is rate limited with Retry-After, but a
// spend limit (error_code enforced_spend_limit_reached), billing_error or a
// "credit balance is too low" 400 stops the batch; 529 overloaded_error and
// 503 are overloaded; other 5xx and network errors are transient; 401 and
// 403 stop the batch; other 4xx fail only the item.
package anthropic
