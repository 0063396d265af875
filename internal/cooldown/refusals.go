package cooldown

import "math/bits"

// Refusals judges 429s that carry no evidence of their own (no rate-limit
// headers, no quota named in the body): are they the shared quota running
// out, or refusals that fall on a share of requests whatever the rate
// (a busy server, a proxy)? A rate limit refuses everything above it, so
// its share of 429s rises with the send rate; random refusals stay at a
// small, steady share. Refusals keeps the last [RefusalWindow] outcomes and
// says "quota" when at least [RefusalQuota] of them were refused: with 5%
// random refusals that happens about once in 100,000 outcomes, and any
// rate limit exceeded by more than about 45% reaches it at once.
//
// The zero value is ready to use. It is not safe for concurrent use.
type Refusals struct {
	last uint32 // bit i: the outcome i places back was a refusal
}

// The decision rule of [Refusals].
const (
	RefusalWindow = 32
	RefusalQuota  = 10
)

// Add records an outcome: refused is true for a 429 without evidence,
// false for a success. It reports whether the 429s now look like a quota.
func (r *Refusals) Add(refused bool) (quota bool) {
	r.last <<= 1
	if refused {
		r.last |= 1
	}
	return bits.OnesCount32(r.last) >= RefusalQuota
}

// Reset forgets the outcomes, as after a cooldown has dealt with them.
func (r *Refusals) Reset() { *r = Refusals{} }
