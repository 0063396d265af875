package ratelimit

import (
	"testing"
	"testing/synctest"

	"github.com/batchllm/batchllm"
)

func TestCalibrateTokenEstimates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, Config{Default: Limits{Tokens: 600_000}}) // holds 50,000
		e := batchllm.Estimate{Scope: "s", Model: "m", InputTokens: 1000}
		avail := func() int64 { st, _ := l.Stats().Scope("s"); return st.Tokens.Available }
		// The provider counts 25% more than the local estimate.
		admit(t, l, e).Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 1250}})
		before := avail()
		p := admit(t, l, e)
		if got := before - avail(); got != 1250 {
			t.Fatalf("reserved %d for an estimate of 1000, want 1250 after one answer counting 25%% more", got)
		}
		p.Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 1250}})
		// A running mean: ten answers at 0.75 move it most of the way.
		for range 10 {
			admit(t, l, e).Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 750}})
		}
		r := l.TokenRatios()["m"]
		if want := (2*1.25 + 10*0.75) / 12; r < want-1e-9 || r > want+1e-9 {
			t.Fatalf("ratio %v, want the mean %v", r, want)
		}
		// Other models, short prompts, failures and NoAdapt are left alone.
		before = avail()
		p = admit(t, l, batchllm.Estimate{Scope: "s", Model: "other", InputTokens: 1000})
		if got := before - avail(); got != 1000 {
			t.Fatalf("another model reserved %d, want its estimate 1000", got)
		}
		p.Release(batchllm.Outcome{Class: batchllm.ClassTransient, Usage: batchllm.Usage{InputTokens: 3000}})
		if _, ok := l.TokenRatios()["other"]; ok {
			t.Fatal("a failed attempt calibrated its model")
		}
		n := newLimiter(t, Config{NoAdapt: true, Default: Limits{Tokens: 600_000}})
		admit(t, n, e).Release(batchllm.Outcome{Usage: batchllm.Usage{InputTokens: 1250}})
		if len(n.TokenRatios()) != 0 {
			t.Fatal("NoAdapt calibrated")
		}
	})
}
