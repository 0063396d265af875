package ratehdr

import (
	"testing"
	"time"
)

func BenchmarkOpenAI(b *testing.B) {
	h := hdr("x-ratelimit-limit-requests", "60", "x-ratelimit-remaining-requests", "59", "x-ratelimit-reset-requests", "1s",
		"x-ratelimit-limit-tokens", "150000", "x-ratelimit-remaining-tokens", "149984", "x-ratelimit-reset-tokens", "6m0s")
	for b.Loop() {
		OpenAI(h, now)
	}
}

func BenchmarkAnthropic(b *testing.B) {
	reset := now.Add(30 * time.Second).Format(time.RFC3339)
	h := hdr("anthropic-ratelimit-requests-limit", "50", "anthropic-ratelimit-requests-remaining", "49",
		"anthropic-ratelimit-requests-reset", reset, "anthropic-ratelimit-tokens-limit", "90000",
		"anthropic-ratelimit-tokens-remaining", "80000", "anthropic-ratelimit-tokens-reset", reset)
	for b.Loop() {
		Anthropic(h, now)
	}
}
