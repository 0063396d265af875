package ratelimit

import (
	"testing"

	"github.com/batchllm/batchllm"
)

// BenchmarkAdmitRelease measures one uncontended admission and release in a
// scope with all four limits set high enough never to wait.
func BenchmarkAdmitRelease(b *testing.B) {
	l, err := New(Config{Default: Limits{Requests: 1 << 40, Tokens: 1 << 50, InputTokens: 1 << 50, OutputTokens: 1 << 50}})
	if err != nil {
		b.Fatal(err)
	}
	e := batchllm.Estimate{Scope: "openai/gpt-4o-mini", InputTokens: 500, MaxOutputTokens: 200}
	o := batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 480, OutputTokens: 150}}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		p, err := l.Admit(ctx, e)
		if err != nil {
			b.Fatal(err)
		}
		p.Release(o)
	}
}

// BenchmarkAdmitReleaseParallel measures admissions from many goroutines
// at once in one scope (contended).
func BenchmarkAdmitReleaseParallel(b *testing.B) {
	l, err := New(Config{Default: Limits{Requests: 1 << 40, Tokens: 1 << 50}})
	if err != nil {
		b.Fatal(err)
	}
	e := batchllm.Estimate{Scope: "s", InputTokens: 500, MaxOutputTokens: 200}
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, err := l.Admit(ctx, e)
			if err != nil {
				b.Error(err)
				return
			}
			p.Release(batchllm.Outcome{})
		}
	})
}
