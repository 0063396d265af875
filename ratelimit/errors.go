package ratelimit

import (
	"fmt"
	"time"
)

// TooLargeError reports an attempt that costs more than one whole window of
// a limit: the provider could never accept it, so waiting would be forever.
// [Limiter.Admit] returns it wrapped in a [*batchllm.ClassifiedError] of
// class ClassFatalItem, so that the item fails at once and the batch goes on.
type TooLargeError struct {
	Scope     string        // the quota scope
	Dimension string        // "requests", "tokens", "input tokens" or "output tokens"
	Cost      int64         // what the attempt needs
	Limit     int64         // the limit per Window
	Window    time.Duration // the limit's window
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("ratelimit: attempt needs %d %s but scope %q allows %d per %v; it can never be admitted (lower the prompt or max output tokens)",
		e.Cost, e.Dimension, e.Scope, e.Limit, e.Window)
}
