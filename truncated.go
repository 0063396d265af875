package batchllm

import (
	"fmt"
	"strings"
)

// OnTruncated says what a provider strategy does with an answer that did not
// end completely (see [FinishReason.Complete]): one cut off by the output
// limit or the context window, withheld by a content filter, refused, or
// empty because reasoning used the whole output budget.
type OnTruncated int

const (
	// TruncatedFail fails the attempt with a [*TruncatedError] of class
	// [ClassTruncated]; the item fails and its usage is still counted. The
	// default: a partial answer is never reported as a complete one.
	TruncatedFail OnTruncated = iota
	// TruncatedAccept returns the partial answer as a success;
	// [Result.FinishReason] says how it ended.
	TruncatedAccept
	// TruncatedRetryLarger retries an answer cut off by the output limit at
	// once, with twice the limit, up to the model's maximum output as the
	// model catalogue (package cost) gives it. The retry is an attempt of
	// class [ClassInvalidOutput], so [RetryPolicy.MaxAttempts] bounds it.
	// When the limit cannot grow (it is already the model's maximum, or no
	// limit was set), or the answer ended for another reason, the attempt
	// fails as with TruncatedFail.
	TruncatedRetryLarger
)

var onTruncatedNames = [...]string{"fail", "accept", "retry-larger"}

// String returns "fail", "accept" or "retry-larger".
func (o OnTruncated) String() string {
	if o < 0 || int(o) >= len(onTruncatedNames) {
		return fmt.Sprintf("OnTruncated(%d)", int(o))
	}
	return onTruncatedNames[o]
}

// ParseOnTruncated is the inverse of [OnTruncated.String].
func ParseOnTruncated(s string) (OnTruncated, error) {
	for i, n := range onTruncatedNames {
		if n == s {
			return OnTruncated(i), nil
		}
	}
	return 0, fmt.Errorf("batchllm: unknown truncation policy %q (want %s)", s, strings.Join(onTruncatedNames[:], ", "))
}

// TruncatedError is the error of an attempt whose answer arrived incomplete.
// Provider strategies return it wrapped with class [ClassTruncated] (or
// [ClassInvalidOutput] when [TruncatedRetryLarger] asks for another try).
type TruncatedError struct {
	// Provider names the provider: "openai", "anthropic", "gemini".
	Provider string
	// Reason is the normalised finish reason; Raw the provider's own word.
	Reason FinishReason
	Raw    string
	// MaxTokens is the output limit the request had; 0 if none was sent.
	MaxTokens int
	// OutputTokens is the number of output tokens billed, reasoning included.
	OutputTokens int64
	// Empty is true when no answer text arrived at all (for example when a
	// reasoning model spent the whole budget on reasoning).
	Empty bool
	// Detail is what else the provider said (a refusal's text).
	Detail string
}

func (e *TruncatedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: incomplete answer (finish reason %s", e.Provider, e.Reason)
	if e.Raw != "" && e.Raw != string(e.Reason) {
		fmt.Fprintf(&b, ", %s", e.Raw)
	}
	b.WriteString(")")
	if e.Empty {
		b.WriteString(": the answer is empty")
		if e.Reason == FinishLength && e.OutputTokens > 0 {
			fmt.Fprintf(&b, " although %d output tokens were billed (reasoning used the budget)", e.OutputTokens)
		}
	}
	if e.Reason == FinishLength && e.MaxTokens > 0 {
		fmt.Fprintf(&b, "; the output limit was %d tokens", e.MaxTokens)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}
