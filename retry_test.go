package batchllm

import (
	"testing"
	"time"
)

func TestDecideRetry(t *testing.T) {
	policy := RetryPolicy{MaxAttempts: 3, InitialWait: time.Second, MaxWait: 30 * time.Second, Multiplier: 2, MaxRateLimitRetries: 2}
	calm := policy
	calm.NoJitter = true
	lowest := func(time.Duration) time.Duration { return 0 }
	highest := func(n time.Duration) time.Duration { return n - 1 }
	class := func(c ErrorClass) Classification { return Classification{Class: c} }
	s := time.Second
	for _, tc := range []struct {
		name        string
		c           Classification
		attempt     int
		rateLimited int
		policy      RetryPolicy
		jitter      func(time.Duration) time.Duration
		want        retryDecision
	}{
		{"transient, first attempt: backoff", class(ClassTransient), 1, 0, calm, lowest, retryDecision{retryAfterWait, s}},
		{"transient, second attempt: doubled", class(ClassTransient), 2, 0, calm, lowest, retryDecision{retryAfterWait, 2 * s}},
		{"overloaded retries like transient", class(ClassOverloaded), 2, 0, calm, lowest, retryDecision{retryAfterWait, 2 * s}},
		{"transient, last attempt: give up", class(ClassTransient), 3, 0, calm, lowest, retryDecision{verdict: giveUp}},
		{"jitter: lowest is half", class(ClassTransient), 2, 0, policy, lowest, retryDecision{retryAfterWait, s}},
		{"jitter: highest is the full wait", class(ClassTransient), 2, 0, policy, highest, retryDecision{retryAfterWait, 2 * s}},
		{"Retry-After longer than the backoff wins", Classification{Class: ClassTransient, RetryAfter: 7 * s}, 1, 0, calm, lowest, retryDecision{retryAfterWait, 7 * s}},
		{"Retry-After is capped at MaxWait", Classification{Class: ClassOverloaded, RetryAfter: time.Hour}, 1, 0, calm, lowest, retryDecision{retryAfterWait, 30 * s}},
		{"invalid output: again at once", class(ClassInvalidOutput), 1, 0, policy, lowest, retryDecision{verdict: retryNow}},
		{"invalid output, last attempt: give up", class(ClassInvalidOutput), 3, 0, policy, lowest, retryDecision{verdict: giveUp}},
		{"fatal item: give up at once", class(ClassFatalItem), 1, 0, policy, lowest, retryDecision{verdict: giveUp}},
		{"fatal batch: abort", class(ClassFatalBatch), 1, 0, policy, lowest, retryDecision{verdict: abortBatch}},
		{"bare 429: waits alone for Retry-After", Classification{Class: ClassRateLimited, RetryAfter: 5 * s}, 1, 1, calm, lowest, retryDecision{waitAlone, 5 * s}},
		{"bare 429 without Retry-After: backoff of the refusals", class(ClassRateLimited), 1, 2, calm, lowest, retryDecision{waitAlone, 2 * s}},
		{"bare 429: spread over a quarter more", Classification{Class: ClassRateLimited, RetryAfter: 4 * s}, 1, 1, policy, highest, retryDecision{waitAlone, 5*s - 1}},
		{"quota 429: the gate holds the same attempt", Classification{Class: ClassRateLimited, Evidence: EvidenceQuota}, 3, 1, policy, lowest, retryDecision{verdict: retryThroughGate}},
		{"429 does not count against MaxAttempts", class(ClassRateLimited), 9, 1, calm, lowest, retryDecision{waitAlone, s}},
		{"too many 429s: exhausted", class(ClassRateLimited), 1, 3, policy, lowest, retryDecision{verdict: rateLimitsExhausted}},
		{"negative MaxRateLimitRetries: the first 429 fails", class(ClassRateLimited), 1, 1, RetryPolicy{MaxRateLimitRetries: -1}, lowest, retryDecision{verdict: rateLimitsExhausted}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := decideRetry(tc.c, tc.attempt, tc.rateLimited, tc.policy, tc.jitter); got != tc.want {
				t.Errorf("decideRetry = %+v, want %+v", got, tc.want)
			}
		})
	}
}
