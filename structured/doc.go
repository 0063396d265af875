// Package structured turns LLM answers into typed, validated Go values, and
// makes the retries of invalid answers cheap and likely to succeed: each
// re-ask tells the model exactly which fields to fix.
//
// # The strategy
//
// [New] wraps a strategy that answers a [batchllm.Prompt] with text (a
// provider strategy such as openai.New, or any Strategy[Prompt, string]) and
// returns a [Strategy] that answers with a T:
//
//	type Contact struct {
//		Name  string `json:"name" jsonschema:"full name, as written"`
//		Age   int    `json:"age"`
//		Email string `json:"email"`
//		City  string `json:"city,omitempty"` // optional: may be null
//	}
//
//	s, err := structured.New[Contact](openaiStrategy, structured.PartialRecovery())
//	p, err := batchllm.New(batchllm.Config[batchllm.Prompt, Contact, struct{}]{Strategy: s})
//
// Each attempt derives the prompt from the item's input: it sets
// [batchllm.Prompt.Schema] to the JSON schema of T, so that the provider
// uses its native structured-output mode (OpenAI response_format
// json_schema, Gemini responseSchema, Anthropic structured output), or,
// with [SchemaInPrompt], puts the schema in the system prompt for providers
// without one. It then parses the answer (bare JSON, a Markdown fence, or
// JSON within prose) and validates it.
//
// # Schema and validation
//
// The schema is derived from T's fields and json tags. Since OpenAI's strict
// mode demands it, every object forbids undeclared properties and lists
// every property as required; a field tagged omitempty or omitzero may be
// null instead. [AdjustSchema] adds what Go types cannot say (bounds,
// patterns, enumerations), both for the model to read and for validation.
//
// An answer is valid when each top-level field validates against its part
// of the schema, and the decoded T passes its Validate method if it has one
// (see [Validator]). Each field is checked on its own, so that every
// failure is reported, not just the first. A Validate method says which
// fields are wrong by returning [FieldError] or [FieldErrors]; any other
// error is about the whole answer.
//
// # Failures and retries
//
// An invalid answer fails the attempt with a [*ValidationError]: which
// fields passed, which failed (path, message, value), the raw answer and
// the attempt's tokens. It is wrapped as [batchllm.ClassInvalidOutput], so
// the processor retries at once, without backoff, up to
// [batchllm.RetryPolicy.MaxAttempts]; the attempt's usage is returned with
// it, so the tokens of every re-ask count in the item's and the batch's
// totals. An item that never validates ends with an [batchllm.ItemError]
// that wraps the last ValidationError.
//
// The Strategy keeps what the attempts of an item pass to each other in the
// item's [batchllm.RetryState], under the key "structured", and nowhere
// else, so one Strategy serves any number of items at once. After a
// validation failure, the next attempt's prompt is the item's prompt plus
// the previous answer (as the assistant's turn) and a feedback message from
// [DefaultFeedback] or [Feedback] that lists the failed fields with their
// values and names those that passed. Only the latest failure is fed back,
// which keeps re-asks short. Errors of the inner strategy (network,
// timeouts, rate limits, refusals it reports as errors) pass through
// untouched and leave that state alone: their retry repeats the same
// prompt.
//
// [PartialRecovery] keeps the top-level fields that passed and asks only
// for the rest, with a schema of those fields alone, then merges the answer
// into the kept fields and validates the whole again.
//
// # Escalation
//
// To move to a stronger model or a higher temperature after an invalid
// answer, put a wrapper of package escalate under the Strategy: it sees
// each validation failure through the error hook (as
// [batchllm.ClassInvalidOutput]) and nothing else, so a network error or a
// rate limit never escalates, and every step gets the schema and the
// feedback:
//
//	s, err := structured.New[Contact](escalate.Models(nano, escalate.Temperatures(full, 0, 0.3)))
//
// [Strategy.Parse] checks an answer that arrived another way, such as a
// line of a provider's batch-job results, exactly as Call checks one.
//
// # Other processor hooks
//
// A [Strategy] is a [batchllm.DryRunner]: in a dry run it returns the zero
// T without calling the inner strategy. It is a [batchllm.Estimator] that
// asks the inner strategy about the prompt an attempt will really send (its
// schema and feedback), so admission and budgets see the real
// call; and it forwards [batchllm.Preparer], [batchllm.Cleaner] and
// [batchllm.ErrorHook] to the inner strategy.
//
// # Why github.com/google/jsonschema-go
//
// It both infers schemas from Go types and validates against them (draft
// 2020-12), with no dependencies of its own, and it is the schema library
// of the official MCP Go SDK, so it is well kept. Its inference already
// closes structs (additionalProperties false) and follows json tags; the
// strict rewrite above is a few lines. The alternative pair,
// invopop/jsonschema to infer and santhosh-tekuri/jsonschema to validate,
// reads constraints from struct tags but needs two libraries whose schema
// models must be kept in step. Constraints here live in Go instead: in
// Validate, which is typed and testable, and in [AdjustSchema] when the
// model should see them. Tag-based validators such as
// go-playground/validator fit inside Validate; the package does not depend
// on one.
package structured
