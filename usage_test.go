package batchllm_test

import (
	"testing"

	"github.com/batchllm/batchllm"
)

func TestUsageArithmetic(t *testing.T) {
	u := batchllm.Usage{InputTokens: 1000, OutputTokens: 50, CachedInputTokens: 800, CacheWriteTokens: 100}
	v := u.Add(batchllm.Usage{InputTokens: 1000, OutputTokens: 50})
	if v != (batchllm.Usage{InputTokens: 2000, OutputTokens: 100, CachedInputTokens: 800, CacheWriteTokens: 100}) {
		t.Fatalf("Add = %+v", v)
	}
	if v.TotalTokens() != 2100 || v.CacheHitRate() != 0.4 {
		t.Fatalf("total %d, hit rate %v", v.TotalTokens(), v.CacheHitRate())
	}
	if (batchllm.Usage{}).CacheHitRate() != 0 || !(batchllm.Usage{}).IsZero() || u.IsZero() {
		t.Fatal("zero usage")
	}
}

func TestErrorClassNamesRoundTrip(t *testing.T) {
	for c := batchllm.ClassNone; c <= batchllm.ClassFatalBatch; c++ {
		var back batchllm.ErrorClass
		text, _ := c.MarshalText()
		if err := back.UnmarshalText(text); err != nil || back != c {
			t.Fatalf("%v → %s → %v, %v", c, text, back, err)
		}
	}
	if _, err := batchllm.ParseErrorClass("nope"); err == nil {
		t.Fatal("unknown class parsed")
	}
}
