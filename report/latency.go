package report

import (
	"math"
	"math/bits"
)

// latencyHist counts durations in milliseconds in log-linear buckets, as
// HdrHistogram does: every value below 1024 ms has its own bucket, and above
// that each power of two is split into 512 buckets, so a percentile is exact
// below a second and within 0.2% above, in a few thousand counters however
// many values are added.
type latencyHist struct {
	counts []int64
	n      int64
	sum    float64
	max    int64
}

const linearBelow = 1024

func bucketOf(ms int64) int {
	if ms < linearBelow {
		return int(max(ms, 0))
	}
	shift := bits.Len64(uint64(ms)) - 10 // ms>>shift is in [512, 1024)
	return linearBelow + (shift-1)*512 + int(ms>>shift) - 512
}

// bucketLow is the smallest value of bucket i.
func bucketLow(i int) int64 {
	if i < linearBelow {
		return int64(i)
	}
	shift := (i-linearBelow)/512 + 1
	return int64((i-linearBelow)%512+512) << shift
}

func (h *latencyHist) add(ms int64) {
	i := bucketOf(ms)
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]int64, i+1-len(h.counts))...)
	}
	h.counts[i]++
	h.n++
	h.sum += float64(max(ms, 0))
	h.max = max(h.max, ms)
}

// remove undoes add(ms), for a result superseded by a later one.
func (h *latencyHist) remove(ms int64) {
	i := bucketOf(ms)
	if i < len(h.counts) && h.counts[i] > 0 {
		h.counts[i]--
		h.n--
		h.sum -= float64(max(ms, 0))
	}
}

// quantile returns the nearest-rank q-quantile (0 < q ≤ 1): the smallest
// value v such that at least ⌈q·n⌉ values are ≤ v (the low end of v's
// bucket above a second).
func (h *latencyHist) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(q*float64(h.n))), 1)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return bucketLow(i)
		}
	}
	return h.max
}

// Latency summarises durations.
type Latency struct {
	Count                   int64   `json:"count"`
	MeanMS                  float64 `json:"mean_ms"`
	P50, P90, P95, P99, Max int64   `json:"-"`
	// Percentiles holds P50…Max by name for the page: "p50", "p90", "p95",
	// "p99", "max", in milliseconds.
	Percentiles map[string]int64 `json:"percentiles"`
	// Histogram counts the durations in bins with 1-2-5 bounds (1 ms, 2 ms,
	// 5 ms, 10 ms, …): Bins[i].Count values are ≥ Bins[i].FromMS and
	// < Bins[i].ToMS.
	Histogram []Bin `json:"histogram"`
}

// Bin is one bar of a histogram.
type Bin struct {
	FromMS int64 `json:"from_ms"`
	ToMS   int64 `json:"to_ms"`
	Count  int64 `json:"count"`
}

func (h *latencyHist) summary() Latency {
	l := Latency{Count: h.n, P50: h.quantile(.5), P90: h.quantile(.9), P95: h.quantile(.95), P99: h.quantile(.99), Max: h.max}
	if h.n > 0 {
		l.MeanMS = h.sum / float64(h.n)
	}
	l.Percentiles = map[string]int64{"p50": l.P50, "p90": l.P90, "p95": l.P95, "p99": l.P99, "max": l.Max}
	if h.n == 0 {
		return l
	}
	// 1-2-5 bins from 0 up to past the largest value.
	edges := []int64{0, 1}
	for m := int64(1); edges[len(edges)-1] <= h.max; m *= 10 {
		edges = append(edges, 2*m, 5*m, 10*m)
	}
	bins := make([]Bin, len(edges)-1)
	for i := range bins {
		bins[i] = Bin{FromMS: edges[i], ToMS: edges[i+1]}
	}
	j := 0
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		v := bucketLow(i)
		for j < len(bins)-1 && v >= bins[j].ToMS {
			j++
		}
		bins[j].Count += c
	}
	// Drop empty bins at the start, keep the rest (gaps show as gaps).
	first := 0
	for first < len(bins)-1 && bins[first].Count == 0 {
		first++
	}
	l.Histogram = bins[first:]
	return l
}
