package batchllm

import "time"

// LimitInfo is what a provider said about its rate limits in the headers of
// one response (x-ratelimit-*, anthropic-ratelimit-*) or in an error body
// (Gemini's RetryInfo). Zero fields are unknown.
type LimitInfo struct {
	Requests     LimitWindow // requests per minute
	Tokens       LimitWindow // tokens per minute, where input and output share one limit
	InputTokens  LimitWindow // input tokens per minute (Anthropic)
	OutputTokens LimitWindow // output tokens per minute (Anthropic)
	// RetryAfter is the wait the server asked for, if any.
	RetryAfter time.Duration
}

// LimitWindow describes one rate limit as the server reported it.
type LimitWindow struct {
	Limit     int64         // the limit per window; 0 if unknown
	Remaining int64         // what is left in the current window; meaningful only if Limit > 0
	Reset     time.Duration // time until the window is full again; 0 if unknown
	// Window is the length of the window the limit counts over, as the
	// reading shows it (limit, remaining and reset together); 0 if it
	// does not. Limits are per minute only when nothing says otherwise.
	Window time.Duration
}

// Known reports whether the server reported this limit.
func (w LimitWindow) Known() bool { return w.Limit > 0 }
