package llmsim

import (
	"encoding/hex"
	"strconv"
)

// Stats is a snapshot of what the simulator received and answered, one
// entry per provider. GET /_sim/stats serves it as JSON; POST /_sim/reset
// zeroes it.
type Stats struct {
	OpenAI    ProviderStats `json:"openai"`
	Anthropic ProviderStats `json:"anthropic"`
	Gemini    ProviderStats `json:"gemini"`
}

// ProviderStats counts one provider's traffic since start or the last reset.
type ProviderStats struct {
	// Requests is the number of HTTP requests received, whatever became
	// of them.
	Requests int64 `json:"requests"`
	// Responses maps an HTTP status code ("200", "429") to the number of
	// responses sent with it. Resets and hangs send no status and are
	// counted in Faults only.
	Responses map[string]int64 `json:"responses"`
	// Faults maps an injected fault kind to the number of times it was
	// injected; FaultsInjected is their sum.
	Faults         map[string]int64 `json:"faults"`
	FaultsInjected int64            `json:"faults_injected"`
	// RateLimited counts 429s caused by the configured limits (not by
	// injected faults); Overloaded counts requests refused because
	// MaxConcurrent requests were already in flight.
	RateLimited int64 `json:"rate_limited"`
	Overloaded  int64 `json:"overloaded"`
	// InputTokens is the prompt tokens of answered requests, cached ones
	// included; CachedTokens is the part read from a cache;
	// CacheWriteTokens the part written to one (Anthropic); OutputTokens
	// the generated tokens.
	InputTokens      int64 `json:"tokens_in"`
	OutputTokens     int64 `json:"tokens_out"`
	CachedTokens     int64 `json:"tokens_cached"`
	CacheWriteTokens int64 `json:"tokens_cache_write"`
	// InFlight is the number of requests being served now;
	// PeakConcurrent the most served at once.
	InFlight       int64 `json:"in_flight"`
	PeakConcurrent int64 `json:"peak_concurrent"`
	// DistinctRequests is the number of distinct generation requests
	// (by digest of the path and the whitespace-compacted body);
	// DuplicateRequests the number received again after the first time,
	// that is Sum(counts) - DistinctRequests. A retry of the same request
	// is a duplicate, which makes paying twice visible.
	DistinctRequests  int64 `json:"distinct_requests"`
	DuplicateRequests int64 `json:"duplicate_requests"`
	// RequestCounts maps each request digest (16 hex digits) to how many
	// times it was received. The HTTP endpoint includes it only with
	// ?counts=1. The server keeps about 50 bytes per distinct request
	// until the next reset.
	RequestCounts map[string]int64 `json:"request_counts,omitempty"`
}

// counters is the mutable form of ProviderStats, guarded by provider.mu.
type counters struct {
	requests, faultsInjected, rateLimited, overloaded  int64
	in, out, cached, cacheWrite, inflight, peak, dupes int64
	responses                                          map[int]int64
	faults                                             map[Fault]int64
	seen                                               map[[8]byte]int64 // by bodyDigest
}

func newCounters() counters {
	return counters{responses: map[int]int64{}, faults: map[Fault]int64{}, seen: map[[8]byte]int64{}}
}

func (c *counters) snapshot(withCounts bool) ProviderStats {
	s := ProviderStats{
		Requests: c.requests, FaultsInjected: c.faultsInjected,
		RateLimited: c.rateLimited, Overloaded: c.overloaded,
		InputTokens: c.in, OutputTokens: c.out, CachedTokens: c.cached, CacheWriteTokens: c.cacheWrite,
		InFlight: c.inflight, PeakConcurrent: c.peak,
		DistinctRequests: int64(len(c.seen)), DuplicateRequests: c.dupes,
		Responses: make(map[string]int64, len(c.responses)),
		Faults:    make(map[string]int64, len(c.faults)),
	}
	for k, v := range c.responses {
		s.Responses[strconv.Itoa(k)] = v
	}
	for k, v := range c.faults {
		s.Faults[string(k)] = v
	}
	if withCounts {
		s.RequestCounts = make(map[string]int64, len(c.seen))
		for k, v := range c.seen {
			s.RequestCounts[hex.EncodeToString(k[:])] = v
		}
	}
	return s
}

// reset zeroes everything except the requests now in flight.
func (c *counters) reset() {
	inflight := c.inflight
	*c = newCounters()
	c.inflight, c.peak = inflight, inflight
}
