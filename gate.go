package batchllm

import (
	"context"
	"fmt"
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
	// Evidence says, for a rate limit, whether the shared quota or the
	// server's capacity refused the attempt.
	Evidence RateLimitEvidence
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

// RateLimitEvidence is what a rate-limit refusal (HTTP 429) showed about
// its cause, which decides who waits. When the shared quota is exhausted
// every attempt of its scope would be refused, so the gate pauses them all
// (a cooldown). When the server is short of capacity (Gemini's shared pool,
// an overloaded OpenAI-compatible server, a proxy), refusals fall on a
// share of requests whatever the rate: only the refused item waits, parked
// off its worker, and the learned limits stay as they are.
type RateLimitEvidence int

const (
	// EvidenceNone: a bare 429 that says nothing about its cause. The item
	// waits on its own; gates count such refusals and treat them as the
	// quota's once they are too frequent to be random (see
	// package ratelimit).
	EvidenceNone RateLimitEvidence = iota
	// EvidenceQuota: the answer shows the shared quota exhausted: rate-limit
	// headers with nothing remaining, or a body that names the quota
	// (OpenAI's "Limit 60, Used 60", Gemini's QuotaFailure, Anthropic's
	// rate_limit_error with its rate-limit headers).
	EvidenceQuota
	// EvidenceCapacity: the answer shows a refusal for want of capacity
	// with no quota named (Gemini's RESOURCE_EXHAUSTED without QuotaFailure).
	EvidenceCapacity
)

var evidenceNames = [...]string{"none", "quota", "capacity"}

func (e RateLimitEvidence) String() string {
	if e < 0 || int(e) >= len(evidenceNames) {
		return fmt.Sprintf("RateLimitEvidence(%d)", int(e))
	}
	return evidenceNames[e]
}
