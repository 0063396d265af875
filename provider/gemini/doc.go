// Package gemini is a batchllm strategy for Google's Gemini Developer API
// on the official SDK (google.golang.org/genai), which does not retry unless
// asked: batchllm's processor owns retries, backoff and cooldowns.
//
//	s, err := gemini.New(gemini.Config{Model: "gemini-2.5-flash", MaxTokens: 300})
//
// The key comes from Config.APIKey, $GEMINI_API_KEY or $GOOGLE_API_KEY; the
// base URL from Config.BaseURL or $GOOGLE_GEMINI_BASE_URL. A Prompt's Stop
// (or Config.Stop) is sent as generationConfig.stopSequences, up to 5: more
// fail the item before it is sent. A Prompt's Schema
// asks for JSON (responseMimeType application/json with responseJsonSchema,
// plain JSON Schema) and the answer is the JSON text.
//
// # Context caching for RAG batches
//
// [CachedStrategy] puts the shared part of every prompt (system instruction
// and documents) in one explicit context cache and sends each item's own
// messages with a reference to it; cached tokens cost about a tenth of
// normal input. One strategy instance owns one cache:
//
//   - Prepare (called once by the processor) reuses a live cache with the
//     same identity or creates one;
//   - a call renews the cache by updating its TTL when less than
//     RenewBefore is left, exactly once however many workers notice;
//   - when the server says the cache is gone (403 or 404: expired or
//     deleted), one call re-creates it and the item is retried at once;
//   - Cleanup deletes the cache, or keeps it with OnCleanup: KeepCache.
//
// The API keeps no labels on a cache, so the identity — model, a digest of
// the system instruction and documents, and a digest of the Tags — is the
// cache's display name (see [DisplayName]), and two strategies share a cache
// only if all three match.
//
// # Streaming
//
// With Config.Stream the answer comes as a stream
// (Models.GenerateContentStream, streamGenerateContent?alt=sse), merged
// chunk by chunk into the same response, so the Response, its usage and
// its finish reason (and a CONTINUATION) are handled as without streaming;
// this works with a [CachedStrategy] too. Streaming lets the strategy
// notice a stalled answer: Config.FirstTokenTimeout bounds the wait for the
// first token and Config.StallTimeout the silence between chunks; a stream
// that breaks either is cancelled and the attempt fails as transient, as
// does a stream cut before its finish reason. Such a failed attempt
// reports no usage: the strategy does not keep the usage metadata of the
// chunks before the failure, so tokens the API may bill for it are not
// counted.
//
// # Usage, limits and errors
//
// Gemini counts cached tokens inside promptTokenCount, batchllm's
// convention: Usage.InputTokens = promptTokenCount (+ toolUsePromptTokenCount),
// CachedInputTokens = cachedContentTokenCount, OutputTokens =
// candidatesTokenCount + thoughtsTokenCount. Gemini sends no rate-limit
// headers; a 429 carries its delay in the body's RetryInfo, which becomes
// both the error's retry delay and Limits.RetryAfter, and names the quota
// and its value in a QuotaFailure, which becomes the limit of the requests
// or input-token window (see [ErrorLimits]). [Classify] gives the
// classes: 429 rate limited (a per-day quota stops the batch), 503
// overloaded, other 5xx and network errors transient, an invalid API key (a
// 400 with reason API_KEY_INVALID), FAILED_PRECONDITION, 401 and 403 stop the
// batch, other 4xx fail the item. [IsCacheNotFound] tells a missing cache
// apart from a real permission error.
//
// # Details
//
// [Strategy.Detailed] and [CachedStrategy.Detailed] return strategies whose
// output is a [Response]: the text with the finish reason, the safety
// ratings, the prompt's block reason and the raw SDK response.
package gemini
