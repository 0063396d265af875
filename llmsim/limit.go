package llmsim

import (
	"math"
	"time"
)

// bucket is a continuously refilled token bucket, the algorithm OpenAI and
// Anthropic describe: capacity tokens per window, refilled at
// capacity/window, starting full (less ProviderConfig.StartUsed). A zero
// capacity means unlimited. Sources: Anthropic, "we use the token bucket
// algorithm … your capacity is continuously replenished up to your maximum
// limit, rather than being reset at fixed intervals"
// (https://docs.anthropic.com/en/api/rate-limits); OpenAI, whose
// x-ratelimit-reset-* headers give "the time until the rate limit … resets
// to its initial state" and are as short as 12 ms after one request at
// thousands per minute, which only a continuous refill explains
// (https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers;
// https://community.openai.com/t/why-x-ratelimit-reset-requests-time-is-so-small-and-what-is-its-significance/535297).
type bucket struct {
	capacity float64
	window   time.Duration
	level    float64
	last     time.Time
	// rolling, if set, makes the bucket a rolling window instead (see
	// ProviderConfig.RollingWindow): log holds what was taken in the
	// last window, oldest first, and each entry comes back whole a
	// window after it was taken, rather than the level refilling
	// continuously.
	rolling bool
	log     []taken
}

// taken is what a rolling window's bucket gave out at one moment.
type taken struct {
	at time.Time
	n  float64
}

// newBucket returns a bucket of capacity per window, a share used of it
// already spent; a rolling window if rolling.
func newBucket(capacity int64, window time.Duration, used float64, rolling bool, now time.Time) *bucket {
	if capacity <= 0 {
		return nil
	}
	b := &bucket{capacity: float64(capacity), window: window, level: float64(capacity), last: now, rolling: rolling}
	if spent := math.Round(float64(capacity) * used); spent > 0 {
		b.level -= spent
		if rolling {
			b.log = append(b.log, taken{now, spent})
		}
	}
	return b
}

func (b *bucket) refill(now time.Time) {
	if b.rolling {
		// Half-open: what was taken at t counts in (t, t+window].
		i := 0
		for ; i < len(b.log) && !b.log[i].at.Add(b.window).After(now); i++ {
			b.level += b.log[i].n
		}
		b.log = b.log[i:]
		if now.After(b.last) {
			b.last = now
		}
		return
	}
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
	if b.rolling {
		level := b.level
		for _, e := range b.log {
			if level += e.n; level >= n {
				return e.at.Add(b.window).Sub(now), false
			}
		}
	}
	return time.Duration(math.Ceil((n - b.level) * float64(b.window) / b.capacity)), false
}

// take spends n tokens at the time of the last wait.
func (b *bucket) take(n float64) {
	if b == nil {
		return
	}
	b.level -= n
	if b.rolling {
		b.log = append(b.log, taken{b.last, n})
	}
}

// fullIn is the time until the bucket is full again, the meaning of the
// OpenAI x-ratelimit-reset-* and Anthropic *-reset headers: for a rolling
// window, until its newest entry leaves it.
func (b *bucket) fullIn() time.Duration {
	if b.rolling {
		if len(b.log) == 0 {
			return 0
		}
		return max(0, b.log[len(b.log)-1].at.Add(b.window).Sub(b.last))
	}
	return time.Duration(math.Ceil((b.capacity - b.level) * float64(b.window) / b.capacity))
}

func (b *bucket) remaining() int64 { return int64(math.Max(0, math.Floor(b.level))) }

// fixedWindow is a quota counter that resets at window boundaries, as
// Gemini's quotas do: "Requests per day (RPD) quotas reset at midnight
// Pacific time", and per-minute quotas are counted per calendar minute
// (https://ai.google.dev/gemini-api/docs/rate-limits; the 429 names the
// quota with a quotaId such as GenerateRequestsPerMinutePerProjectPerModel
// and gives a RetryInfo retryDelay until the reset,
// https://ai.google.dev/gemini-api/docs/troubleshooting). A zero limit
// means unlimited.
type fixedWindow struct {
	limit  int64
	length time.Duration
	start  time.Time
	used   int64
}

// newFixedWindow returns a window of limit per length, a share used of
// its first window already spent.
func newFixedWindow(limit int64, length time.Duration, used float64, now time.Time) *fixedWindow {
	if limit <= 0 {
		return nil
	}
	return &fixedWindow{limit: limit, length: length, start: now, used: int64(math.Round(float64(limit) * used))}
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
// tokenizer counts as n (see ProviderConfig.TokenFactor), for its usage,
// its limits and its token-counting endpoint.
func (p *provider) countTokens(n int) int {
	if f := p.cfg.TokenFactor; f > 0 && f != 1 {
		return int(math.Round(float64(n) * f))
	}
	return n
}
