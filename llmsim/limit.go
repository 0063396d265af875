package llmsim

import (
	"math"
	"time"
)

// bucket is a continuously refilled token bucket, the algorithm OpenAI and
// Anthropic describe: capacity tokens per window, refilled at
// capacity/window, starting full. A zero capacity means unlimited.
type bucket struct {
	capacity float64
	window   time.Duration
	level    float64
	last     time.Time
}

func newBucket(capacity int64, window time.Duration, now time.Time) *bucket {
	if capacity <= 0 {
		return nil
	}
	return &bucket{capacity: float64(capacity), window: window, level: float64(capacity), last: now}
}

func (b *bucket) refill(now time.Time) {
	if dt := now.Sub(b.last); dt > 0 {
		b.level = min(b.capacity, b.level+b.capacity*float64(dt)/float64(b.window))
		b.last = now
	}
}

// wait reports how long until n tokens are available; 0 if they are now.
// A request larger than the capacity can never pass; wait then reports a
// whole window, and tooLarge is true.
func (b *bucket) wait(now time.Time, n float64) (d time.Duration, tooLarge bool) {
	if b == nil {
		return 0, false
	}
	b.refill(now)
	if n > b.capacity {
		return b.window, true
	}
	if b.level >= n {
		return 0, false
	}
	return time.Duration(math.Ceil((n - b.level) * float64(b.window) / b.capacity)), false
}

func (b *bucket) take(n float64) {
	if b != nil {
		b.level -= n
	}
}

// fullIn is the time until the bucket is full again, the meaning of the
// OpenAI x-ratelimit-reset-* and Anthropic *-reset headers.
func (b *bucket) fullIn() time.Duration {
	return time.Duration(math.Ceil((b.capacity - b.level) * float64(b.window) / b.capacity))
}

func (b *bucket) remaining() int64 { return int64(math.Max(0, math.Floor(b.level))) }

// fixedWindow is a quota counter that resets at window boundaries, as
// Gemini's per-minute quotas do. A zero limit means unlimited.
type fixedWindow struct {
	limit  int64
	length time.Duration
	start  time.Time
	used   int64
}

func newFixedWindow(limit int64, length time.Duration, now time.Time) *fixedWindow {
	if limit <= 0 {
		return nil
	}
	return &fixedWindow{limit: limit, length: length, start: now}
}

func (w *fixedWindow) roll(now time.Time) {
	if elapsed := now.Sub(w.start); elapsed >= w.length {
		w.start = w.start.Add(elapsed / w.length * w.length)
		w.used = 0
	}
}

// wait reports 0 if n more units fit in the current window, and otherwise
// the time until the window resets.
func (w *fixedWindow) wait(now time.Time, n int64) time.Duration {
	if w == nil {
		return 0
	}
	w.roll(now)
	if w.used+n <= w.limit {
		return 0
	}
	return w.start.Add(w.length).Sub(now)
}

func (w *fixedWindow) take(n int64) {
	if w != nil {
		w.used += n
	}
}

// countTokens is the provider's own count of a prompt the simulator's
// tokenizer counts as n (see ProviderConfig.TokenFactor).
func (p *provider) countTokens(n int) int {
	if f := p.cfg.TokenFactor; f > 0 && f != 1 {
		return int(math.Round(float64(n) * f))
	}
	return n
}
