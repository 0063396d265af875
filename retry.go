package batchllm

import "time"

// retryVerdict says what becomes of an item after a failed attempt.
type retryVerdict int

const (
	// giveUp: the item fails with the attempt's class.
	giveUp retryVerdict = iota
	// abortBatch: the item fails and the whole batch stops (ClassFatalBatch).
	abortBatch
	// rateLimitsExhausted: the item fails with ErrRateLimitRetriesExhausted.
	rateLimitsExhausted
	// retryAfterWait: the next attempt comes after the wait, which the item
	// spends parked off its worker.
	retryAfterWait
	// retryNow: the next attempt comes at once, without a wait: a new
	// answer, not a recovered server, is needed.
	retryNow
	// waitAlone: a rate limit not shown to be the shared quota; the item
	// waits alone, parked, and the wait is not an attempt.
	waitAlone
	// retryThroughGate: a rate limit shown to be the shared quota; the same
	// attempt goes back to the gate, which holds it until the cooldown ends.
	retryThroughGate
)

// retryDecision is a [retryVerdict] and, for the verdicts that park the
// item, how long it waits.
type retryDecision struct {
	verdict retryVerdict
	wait    time.Duration
}

// decideRetry is the retry policy as a pure function: given the
// classification of failed attempt number attempt, the number of times the
// item has been refused by a rate limit, this one included, the policy (its
// defaults applied) and a jitter source (jitter(n) is uniform in [0, n)),
// it says whether and when the item is tried again. It does no bookkeeping;
// itemRun.advance does that.
func decideRetry(c Classification, attempt, rateLimited int, p RetryPolicy, jitter func(time.Duration) time.Duration) retryDecision {
	switch c.Class {
	case ClassRateLimited:
		if rateLimited > max(p.MaxRateLimitRetries, 0) {
			return retryDecision{verdict: rateLimitsExhausted}
		}
		if c.Evidence != EvidenceQuota {
			return retryDecision{verdict: waitAlone, wait: p.rateLimitWait(rateLimited, c.RetryAfter, jitter)}
		}
		return retryDecision{verdict: retryThroughGate}
	case ClassInvalidOutput:
		if attempt >= p.MaxAttempts {
			return retryDecision{verdict: giveUp}
		}
		return retryDecision{verdict: retryNow}
	case ClassTransient, ClassOverloaded:
		if attempt >= p.MaxAttempts {
			return retryDecision{verdict: giveUp}
		}
		return retryDecision{verdict: retryAfterWait, wait: p.backoffWait(attempt, c.RetryAfter, jitter)}
	case ClassFatalBatch:
		return retryDecision{verdict: abortBatch}
	}
	return retryDecision{verdict: giveUp}
}

// backoffWait is the wait after failed attempt number attempt: the
// exponential backoff, jittered into [w/2, w] unless NoJitter, or the
// server's requested wait if that is longer, capped at MaxWait.
func (p RetryPolicy) backoffWait(attempt int, retryAfter time.Duration, jitter func(time.Duration) time.Duration) time.Duration {
	w := p.Backoff(attempt)
	if !p.NoJitter && w > 1 {
		w = w/2 + jitter(w/2+1)
	}
	return min(max(w, retryAfter), p.MaxWait)
}

// rateLimitWait is the wait of an item refused n times by a rate limit that
// is not shown to be the shared quota: the server's requested wait, or the
// backoff if it named none, spread over up to a quarter more unless
// NoJitter, so that items refused together do not return together; capped
// at MaxWait.
func (p RetryPolicy) rateLimitWait(n int, retryAfter time.Duration, jitter func(time.Duration) time.Duration) time.Duration {
	w := retryAfter
	if w <= 0 {
		w = p.Backoff(n)
	}
	if !p.NoJitter && w > 4 {
		w += jitter(w / 4)
	}
	return min(w, p.MaxWait)
}
