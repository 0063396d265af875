package calls

import (
	"github.com/batchllm/batchllm"
)

// grownMaxTokens is the RetryState key under which an attempt whose answer
// was cut off by the output limit leaves the larger limit for the next
// attempt of the same item ([batchllm.TruncatedRetryLarger]).
const grownMaxTokens = "batchllm/provider.max_tokens"

// MaxTokensAt returns the output cap of an attempt of p: a limit grown by
// an earlier cut-off attempt of the same item, else p's override or the
// default; 0 if none.
func (d Defaults) MaxTokensAt(p batchllm.Prompt, state *batchllm.RetryState) int {
	if state != nil {
		if n, ok := batchllm.StateValue[int](state, grownMaxTokens); ok && n > 0 {
			return n
		}
	}
	return d.MaxTokensFor(p)
}

// Answer is how an answer ended, as a strategy read it from the provider.
type Answer struct {
	Reason batchllm.FinishReason
	Raw    string
	// Empty is true when the answer has no text (or no tool call).
	Empty bool
	// MaxTokens is the output cap the request had (0 if none);
	// OutputTokens the output billed.
	MaxTokens    int
	OutputTokens int64
	// Detail is what else the provider said, such as a refusal's text.
	Detail string
}

// Finish is what a strategy does with an answer that ended as a says,
// under policy on; modelMax is the model's maximum output from the
// catalogue (0 if unknown). It returns nil if the answer is complete or
// accepted; otherwise a [*batchllm.TruncatedError] of class
// [batchllm.ClassTruncated], or, when the policy is
// [batchllm.TruncatedRetryLarger] and the limit can grow, of class
// [batchllm.ClassInvalidOutput] (retried at once) after leaving the larger
// limit in state for the next attempt.
func (d Defaults) Finish(on batchllm.OnTruncated, state *batchllm.RetryState, a Answer, modelMax int64) error {
	reason := a.Reason
	if reason.Complete() || on == batchllm.TruncatedAccept {
		return nil
	}
	err := &batchllm.TruncatedError{Provider: d.Provider, Reason: reason, Raw: a.Raw, MaxTokens: a.MaxTokens, OutputTokens: a.OutputTokens, Empty: a.Empty, Detail: a.Detail}
	if on == batchllm.TruncatedRetryLarger && reason == batchllm.FinishLength && a.MaxTokens > 0 && int64(a.MaxTokens) < modelMax {
		if state != nil {
			state.Set(grownMaxTokens, int(min(2*int64(a.MaxTokens), modelMax)))
		}
		return batchllm.Classified(err, batchllm.ClassInvalidOutput, 0)
	}
	return batchllm.Classified(err, batchllm.ClassTruncated, 0)
}
