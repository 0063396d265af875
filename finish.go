package batchllm

// FinishReason says why the model stopped writing its answer, normalised
// across providers. The provider's own word is kept beside it in
// [Response.RawFinishReason] and [Result.RawFinishReason].
//
// Only [FinishStop] and [FinishToolUse] mean the answer is complete. An
// answer that ended for any other reason was cut off or withheld, and a
// provider strategy reports it as an error of class [ClassTruncated] unless
// it was told to accept it.
type FinishReason string

const (
	// FinishUnknown: the provider said nothing, or the strategy does not
	// report finish reasons (a custom strategy, a dry run).
	FinishUnknown FinishReason = ""
	// FinishStop: the model ended its answer, or hit a stop sequence
	// (OpenAI "stop", Anthropic "end_turn"/"stop_sequence", Gemini "STOP").
	FinishStop FinishReason = "stop"
	// FinishLength: the answer reached the output token limit or the
	// context window and was cut off (OpenAI "length", Anthropic
	// "max_tokens"/"model_context_window_exceeded", Gemini "MAX_TOKENS").
	FinishLength FinishReason = "length"
	// FinishContentFilter: the provider's safety system withheld all or part
	// of the answer (OpenAI "content_filter", Gemini "SAFETY" and kin).
	FinishContentFilter FinishReason = "content_filter"
	// FinishRefusal: the model declined to answer (Anthropic "refusal",
	// an OpenAI refusal message).
	FinishRefusal FinishReason = "refusal"
	// FinishToolUse: the model stopped to call a tool (OpenAI
	// "tool_calls"/"function_call", Anthropic "tool_use").
	FinishToolUse FinishReason = "tool_use"
	// FinishOther: any other reason the provider gave.
	FinishOther FinishReason = "other"
)

// Complete reports whether an answer that ended for reason r is whole:
// true for [FinishStop], [FinishToolUse] and [FinishUnknown] (nothing says
// otherwise), false for the rest.
func (r FinishReason) Complete() bool {
	return r == FinishStop || r == FinishToolUse || r == FinishUnknown
}
