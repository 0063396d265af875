// Package llmsim simulates the OpenAI, Anthropic and Gemini HTTP APIs on
// loopback, faithfully enough that the official Go SDKs (openai-go/v3,
// anthropic-sdk-go v1 and v2, google.golang.org/genai) talk to it
// unchanged. It is batchllm's test peer: tests, benchmarks and the demo
// run against it instead of the real providers.
//
// # Serving
//
// [Start] listens on a fresh 127.0.0.1 port and serves all three providers
// there; give each SDK its base URL:
//
//	sim, _ := llmsim.Start(llmsim.Config{})
//	defer sim.Close()
//	openai.NewClient(option.WithBaseURL(sim.OpenAIBaseURL()), option.WithMaxRetries(0))   // ".../v1/"
//	anthropic.NewClient(option.WithBaseURL(sim.AnthropicBaseURL()), option.WithMaxRetries(0)) // the root
//	genai.NewClient(ctx, &genai.ClientConfig{Backend: genai.BackendGeminiAPI,
//		HTTPOptions: genai.HTTPOptions{BaseURL: sim.GeminiBaseURL()}})                    // the root
//
// A [Server] is also an [net/http.Handler]. Inside a testing/synctest
// bubble, create it with [New] and give the SDKs
// [Server.InProcessClient], which serves requests without a network, so
// that windows, latencies, cache expiry and batch jobs run on the
// bubble's fake clock:
//
//	synctest.Test(t, func(t *testing.T) {
//		sim, _ := llmsim.New(llmsim.Config{OpenAI: llmsim.ProviderConfig{RPM: 2}})
//		defer sim.Close()
//		oc := openai.NewClient(option.WithHTTPClient(sim.InProcessClient()),
//			option.WithBaseURL("http://sim/v1/"), option.WithMaxRetries(0))
//		...
//	})
//
// Endpoints: OpenAI POST /v1/chat/completions and POST /v1/responses (the
// Responses API: input as a string or message items, instructions,
// max_output_tokens of at least 16, text.format json_schema; status
// "incomplete" with incomplete_details for a cut-off answer; models that
// only the Responses API serves, such as o3-pro, get chat completions'
// 404); Anthropic POST /v1/messages
// (anthropic-version 2023-06-01 and 2026-10-21, x-api-key or Bearer);
// Gemini models/{m}:generateContent, models/{m}:countTokens and
// cachedContents (create, get, list, patch, delete) under /v1beta/ and
// /v1/. OpenAI and Gemini share paths under /v1/; a request carrying
// x-goog-api-key or ?key= goes to Gemini. Batch APIs: OpenAI Files
// (/v1/files: upload, list, get, content, delete, expires_after) and
// Batches (/v1/batches: create, get, list, cancel); Anthropic Message
// Batches (/v1/messages/batches: create, get, list, cancel, delete,
// results, with results_url pointing back at the simulator); Gemini batch
// mode (models/{m}:batchGenerateContent with inline requests, batches/{id}
// get, :cancel, delete, list). GET /_sim/stats returns [Stats]
// as JSON (add ?counts=1 for the per-request counts) and POST /_sim/reset
// zeroes them.
//
// # Streaming
//
// Generation requests stream their answer as server-sent events when asked
// the way each API is asked: OpenAI "stream": true (chat.completion.chunk
// events, the usage chunk with stream_options.include_usage, then
// "data: [DONE]"); Anthropic "stream": true (message_start,
// content_block_start, ping, content_block_delta, content_block_stop,
// message_delta with the stop reason and output usage, message_stop);
// Gemini models/{m}:streamGenerateContent?alt=sse (GenerateContentResponse
// chunks, the finish reason and whole usage in the last); the Responses API
// "stream": true (named events response.created, response.in_progress,
// response.output_item.added, response.content_part.added,
// response.output_text.delta, ..., then response.completed or
// response.incomplete with the whole response and its usage). The answer and usage are those of the same request
// unstreamed, sent in pieces of about four words, paced by
// Latency.PerOutputToken after the rest of the sampled latency. Faults
// strike mid-stream, after half of the pieces: FaultTruncate cuts the
// connection, [FaultStall] stops sending and holds it open, FaultBadJSON
// sends one event that is not JSON, [FaultStreamError] sends the
// provider's in-stream error event (OpenAI's {"error": …} data line, the
// Responses API's "error" event, Anthropic's overloaded_error event,
// Gemini's google.rpc.Status data line, 500 INTERNAL);
// FaultHang still sends nothing at all. Usage: OpenAI sends it only at the
// end of a stream (its usage chunk, response.completed), so a client of a
// cut stream has none; Anthropic sends the input usage first, in
// message_start.
//
// # Models
//
// The simulator knows the models of its own table (model_table.go), each
// row with its provider's context window, output limit and cache minimum
// and the URL they come from, and any dated snapshot of them
// ("gpt-4o-2024-08-06"). Prompts beyond the window, output caps beyond
// the limit and (for OpenAI reasoning models) a temperature other than 1
// get each provider's own 400. OpenAI reasoning models think
// ProviderConfig.ReasoningTokens before answering: billed as output, they
// count against the cap, and a cap they use up leaves an empty answer cut
// off by the limit. [FaultContentFilter] makes OpenAI withhold half an
// answer with finish_reason content_filter (Responses: incomplete,
// content_filter).
//
// # Deterministic answers and token counts
//
// Every prompt is turned into a transcript: one line "role: text\n" per
// text part, in order (Anthropic: system blocks, then messages; Gemini:
// the cachedContent's transcript, then systemInstruction, then contents;
// system text has role "system"). Images, tools and schemas add nothing.
// Then:
//
//   - tokens(s) = ceil(len(s)/4), len in bytes; prompt tokens are
//     tokens(transcript);
//   - the digest is the first 16 hex digits of SHA-256(transcript);
//   - a text answer is "llmsim <digest> re: <last user text, at most 64
//     bytes>", padded with " pad" up to ProviderConfig.OutputTokens
//     tokens, then cut to 4*max_tokens bytes if longer than max_tokens
//     (finish reason length / max_tokens / MAX_TOKENS); output tokens are
//     tokens(answer);
//   - a structured answer (OpenAI response_format json_schema, Anthropic
//     output_config.format, Gemini responseJsonSchema or responseSchema)
//     is a deterministic JSON value that validates against the schema,
//     its strings carrying the digest; json_object mode gives
//     {"answer": <text answer>}.
//
// So the same request always gets the same answer, and a test can prove
// each answer belongs to its own prompt.
//
// # Caches
//
// OpenAI caches prompt prefixes automatically: a prompt of at least 1024
// tokens caches its prefixes of 1024, 1152, 1280, ... tokens (per model
// and prompt_cache_key) for Config.PrefixCacheTTL after their last use, and
// prompt_tokens_details.cached_tokens reports the longest cached one.
// Anthropic caches the prefix ending at each cache_control block (or at
// the end for a top-level cache_control) if it has at least 1024 tokens,
// for 5 minutes or 1 hour (ttl), refreshed on each hit:
// cache_read_input_tokens is the longest cached prefix,
// cache_creation_input_tokens the rest up to the last breakpoint, and
// input_tokens what follows. Gemini's explicit caches (at least 1024
// tokens, TTL 1 hour by default) expire on the server's clock; a request
// using one must name the same model and set no systemInstruction, tools
// or toolConfig, and its cachedContentTokenCount is included in
// promptTokenCount.
//
// # Limits
//
// Each provider enforces its limits as the real one does, per
// Config.Window (one minute by default):
//
//   - OpenAI: token buckets for RPM and TPM, refilled continuously and
//     starting full; TPM is charged prompt + max_completion_tokens (times
//     n) up front. A refusal is a 429 of type "requests" or "tokens" with
//     retry-after (whole seconds) and retry-after-ms; x-ratelimit-* headers
//     (reset as a Go duration until the bucket is full) come with every
//     answer.
//   - Anthropic: token buckets for RPM, input TPM (uncached input and cache
//     writes; cache reads are free), output TPM (max_tokens up front) and
//     an optional combined TPM; 429 rate_limit_error with retry-after, and
//     anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-*
//     headers whose reset is an RFC 3339 time.
//   - Gemini: fixed-window quotas for RPM and input TPM; 429
//     RESOURCE_EXHAUSTED with QuotaFailure naming the quota and
//     RetryInfo.retryDelay until the window ends, and no headers.
//
// MaxConcurrent bounds the requests served at once; the excess gets the
// provider's overloaded answer (OpenAI 503, Anthropic 529, Gemini 503).
//
// # Batches
//
// Batch jobs run in the background at the pace of Config.Batch: a step
// delay (OpenAI validating and finalizing, Gemini pending), a time per
// request, and a completion window (24 hours by default) after which the
// unprocessed requests expire. They follow each provider's lifecycle
// (OpenAI validating, in_progress, finalizing, completed, failed,
// cancelling, cancelled, expired; Anthropic in_progress, canceling, ended;
// Gemini BATCH_STATE_PENDING, RUNNING, SUCCEEDED, CANCELLED, EXPIRED).
// Each request is answered exactly as online, without limits, latency or
// faults; an invalid request becomes an error line or result. Close stops
// every job.
//
// # Latency and faults
//
// [Latency] is fixed, uniform or log-normal (p50/p99), plus a time per
// output token. Faults ([Fault]) are drawn per request with the
// configured probabilities from a random source seeded by Config.Seed:
// error statuses (429 with retry delays, 500, 502, 503, 529, ...), the
// non-retryable quota error, a connection reset, a truncated body, invalid
// JSON, a hang until the client gives up, a slow answer (ten times the
// sampled latency), and schema-invalid structured output. The X-Sim-Fault request header forces one fault on one request.
//
// # Sources
//
// Every provider behaviour above is written where it is implemented with
// the source it follows: an API reference or guide URL, a file of the SDK
// version the module pins (openai-go v3.98.0, anthropic-sdk-go v2.15.0,
// genai v1.77.0), or a public issue that quotes the provider's answer.
// Where llmsim invents (token counts, answer texts, latency shapes,
// transport faults, most 4xx message texts), the comment says it is ours.
package llmsim
