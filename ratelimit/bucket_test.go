package ratelimit

import (
	"math"
	"testing"
	"time"
)

func TestBucketRefillIsExact(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var b bucket
	// 7 tokens per minute: one every 8.571428571… s, which no float or
	// per-token duration represents exactly.
	b.setLimit(t0, Rate{Limit: 7, Burst: time.Minute, Window: time.Minute})
	if b.capacity != 7 || b.level != 7 {
		t.Fatalf("new bucket: capacity %d level %d, want 7 and 7", b.capacity, b.level)
	}
	b.take(7)
	now := t0
	for k := int64(1); k <= 7; k++ {
		now = now.Add(b.fillTime(k))
		// Token k is there at ceil(k × 60 s / 7), measured from t0.
		want := (k*int64(time.Minute) + 6) / 7
		if got := int64(now.Sub(t0)); got != want {
			t.Fatalf("token %d at %v, want %v", k, time.Duration(got), time.Duration(want))
		}
		b.advance(now)
		if b.level != k {
			t.Fatalf("at %v: level %d, want %d", now.Sub(t0), b.level, k)
		}
		b.advance(now.Add(-1)) // time never runs backwards in a bucket
		if b.level != k {
			t.Fatalf("advance to an earlier time changed the level to %d", b.level)
		}
	}
	b.advance(t0.Add(time.Hour))
	if b.level != 7 || b.frac != 0 {
		t.Fatalf("after an hour: level %d frac %d, want full (7, 0)", b.level, b.frac)
	}
}

func TestBucketHugeNumbersSaturate(t *testing.T) {
	t0 := time.Unix(0, 0)
	var b bucket
	b.setLimit(t0, Rate{Limit: math.MaxInt64 / 2, Burst: time.Hour, Window: time.Minute}) // the burst is cut to the window
	if b.capacity != math.MaxInt64/2 {
		t.Fatalf("capacity = %d, want the whole limit", b.capacity)
	}
	if got := mulDiv(math.MaxInt64, 3, 2); got != math.MaxInt64 {
		t.Fatalf("mulDiv overflow = %d, want saturated MaxInt64", got)
	}
	var c bucket
	c.setLimit(t0, Rate{Limit: 1, Burst: time.Second, Window: time.Hour})
	c.take(1 << 40)
	if d := c.fillTime(1); d != math.MaxInt64 {
		t.Fatalf("fillTime of a huge debt = %v, want saturated", d)
	}
}

func TestBucketGiveAndClamp(t *testing.T) {
	t0 := time.Unix(0, 0)
	var b bucket
	b.setLimit(t0, Rate{Limit: 600, Burst: 5 * time.Second, Window: time.Minute}) // capacity 50
	b.take(30)
	b.give(100)
	if b.level != 50 {
		t.Fatalf("refund above capacity: level %d, want 50", b.level)
	}
	b.give(-80)
	if b.level != -30 {
		t.Fatalf("debt: level %d, want -30", b.level)
	}
	b.clamp(10)
	if b.level != -30 {
		t.Fatalf("clamp raised the level to %d", b.level)
	}
	b.give(40)
	b.clamp(-5)
	if b.level != 0 {
		t.Fatalf("clamp to a negative remaining: level %d, want 0", b.level)
	}
}
