package batchllm

import (
	"context"
	"time"
)

// Estimate is what one attempt may draw from its provider's quota. A
// [Strategy] that implements [Estimator] provides it; the [Gate] reserves it
// before the attempt and reconciles it with the real usage afterwards.
type Estimate struct {
	// Scope names the quota the attempt draws on, such as "openai/gpt-4o-mini".
	// Attempts with the same scope share limits.
	Scope string
	// Model is the model the attempt will call, for price tables.
	Model string
	// InputTokens is the estimated number of prompt tokens.
	InputTokens int64
	// MaxOutputTokens is the most output tokens the call may produce.
	MaxOutputTokens int64
}

// A Gate admits attempts: every attempt asks it for a [Permit] before it
// starts and hands the permit back, with what happened, when it ends. A gate
// is where cooldowns after rate limits, proactive rate limits and budgets
// live. It is an interface so that an implementation shared by several
// processes can replace the in-process ones.
//
// The processor's default gate is a [CooldownGate]; package ratelimit has a
// gate with proactive multi-dimension limits that adapts to what the
// provider reports.
type Gate interface {
	// Admit blocks until the attempt may start, or ctx is done. It returns an
	// error without blocking when the attempt can never be admitted (for
	// example when it is larger than a limit); that error should wrap a
	// *ClassifiedError of class ClassFatalItem or ClassFatalBatch.
	Admit(ctx context.Context, e Estimate) (Permit, error)
}

// A Permit is one admitted attempt. Release must be called exactly once.
type Permit interface {
	Release(o Outcome)
}

// Outcome is what happened to an admitted attempt.
type Outcome struct {
	// Class is ClassNone for a success, else the class of the attempt's error.
	Class ErrorClass
	// RetryAfter is the wait the server asked for, if any.
	RetryAfter time.Duration
	// Usage is what the attempt really used (zero if unknown).
	Usage Usage
	// Limits is what the provider reported about its limits, if anything.
	Limits *LimitInfo
}

// EventReporter is implemented by gates that emit events of their own
// (cooldowns). The processor subscribes for the length of each run; the
// returned function unsubscribes. A gate shared by several processors
// reports to all of them.
type EventReporter interface {
	ReportEvents(emit func(Event)) (unsubscribe func())
}
