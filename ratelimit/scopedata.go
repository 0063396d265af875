package ratelimit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// ScopeData is the shared state of one scope as a plain value, with the
// operations of [ScopeStore] on it and a binary encoding: a store that keeps
// the state outside the process (in Redis, say) loads it, applies one
// operation, and saves it back atomically (a compare-and-set), and so has
// the exact arithmetic of [NewMemoryStore], which keeps one per scope. The
// zero value is a scope with no limits and no cooldown.
type ScopeData struct {
	b  [NumDims]bucket
	cd Cooldown
}

// Reserve is [ScopeStore.Reserve] on s.
func (s *ScopeData) Reserve(now time.Time, cost Amounts) Reservation {
	r := Reservation{Cooldown: s.cd}
	if now.Before(s.cd.Until) {
		r.Wait = s.cd.Until.Sub(now)
		return r
	}
	for d := range s.b {
		b := &s.b[d]
		if !b.active() {
			continue
		}
		b.advance(now)
		// A cost larger than the burst borrows against later refill once
		// the bucket is full: it must not wait for a level it never holds.
		r.Wait = max(r.Wait, b.fillTime(min(cost[d], b.capacity)))
	}
	if r.Wait > 0 {
		return r
	}
	for d := range s.b {
		s.b[d].take(cost[d])
	}
	return r
}

// Refund is [ScopeStore.Refund] on s.
func (s *ScopeData) Refund(now time.Time, n Amounts) {
	for d := range s.b {
		s.b[d].advance(now)
		s.b[d].give(n[d])
	}
}

// SetRate is [ScopeStore.SetRate] on s. It reports whether s changed.
func (s *ScopeData) SetRate(now time.Time, d Dim, r Rate) bool {
	b := &s.b[d]
	if r.Limit > 0 {
		r = r.withDefaults()
	}
	if b.limit == r.Limit && (r.Limit == 0 || b.window == r.Window && b.burst == r.Burst) {
		return false
	}
	b.setLimit(now, r)
	return true
}

// SetLevel is [ScopeStore.SetLevel] on s.
func (s *ScopeData) SetLevel(now time.Time, d Dim, n int64, raise bool) {
	b := &s.b[d]
	b.advance(now)
	b.clamp(n)
	if raise {
		b.raise(n)
	}
}

// Cooldown returns the scope's cooldown state.
func (s *ScopeData) Cooldown() Cooldown { return s.cd }

// SetCooldown replaces the scope's cooldown state.
func (s *ScopeData) SetCooldown(c Cooldown) { s.cd = c }

// Snapshot is [ScopeStore.Snapshot] on s.
func (s *ScopeData) Snapshot(now time.Time) ScopeState {
	st := ScopeState{Cooldown: s.cd}
	for d := range s.b {
		b := &s.b[d]
		if !b.active() {
			continue
		}
		b.advance(now)
		st.Buckets[d] = BucketState{Rate: Rate{Limit: b.limit, Window: b.window, Burst: b.burst}, Available: b.level, Capacity: b.capacity}
	}
	return st
}

// scopeDataVersion is the first byte of the binary encoding.
const scopeDataVersion = 1

// scopeDataSize is the length of the binary encoding: the version, seven
// words per bucket and three for the cooldown.
const scopeDataSize = 1 + 8*(7*int(NumDims)+3)

// MarshalBinary implements encoding.BinaryMarshaler. Times are kept to the
// nanosecond, without their monotonic reading.
func (s *ScopeData) MarshalBinary() ([]byte, error) {
	out := make([]byte, 1, scopeDataSize)
	out[0] = scopeDataVersion
	for d := range s.b {
		b := &s.b[d]
		for _, v := range [...]int64{b.limit, int64(b.window), int64(b.burst), b.capacity, b.level, b.frac, unixNano(b.last)} {
			out = binary.BigEndian.AppendUint64(out, uint64(v))
		}
	}
	for _, v := range [...]int64{unixNano(s.cd.Until), int64(s.cd.Generation), int64(s.cd.Consecutive)} {
		out = binary.BigEndian.AppendUint64(out, uint64(v))
	}
	return out, nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (s *ScopeData) UnmarshalBinary(data []byte) error {
	if len(data) != scopeDataSize || data[0] != scopeDataVersion {
		return fmt.Errorf("ratelimit: scope data: %d bytes of version %d; want %d bytes of version %d", len(data), firstByte(data), scopeDataSize, scopeDataVersion)
	}
	p := data[1:]
	next := func() int64 {
		v := int64(binary.BigEndian.Uint64(p))
		p = p[8:]
		return v
	}
	var d ScopeData
	for i := range d.b {
		b := &d.b[i]
		b.limit, b.window, b.burst = next(), time.Duration(next()), time.Duration(next())
		b.capacity, b.level, b.frac, b.last = next(), next(), next(), fromUnixNano(next())
		if b.limit < 0 || (b.limit > 0 && (b.window <= 0 || b.frac < 0 || b.frac >= int64(b.window))) {
			return errors.New("ratelimit: scope data: a bucket is inconsistent")
		}
	}
	d.cd.Until, d.cd.Generation, d.cd.Consecutive = fromUnixNano(next()), uint64(next()), int(next())
	*s = d
	return nil
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

// noTime encodes the zero time.Time, which UnixNano cannot.
const noTime = math.MinInt64

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return noTime
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == noTime {
		return time.Time{}
	}
	return time.Unix(0, n)
}
