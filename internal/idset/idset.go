// Package idset holds a compact set of 64-bit hashes, with which the
// processor finds duplicate item IDs.
package idset

import "slices"

// Set is a set of 64-bit hashes of item IDs, for finding duplicate IDs.
//
// A map[uint64]struct{} takes 14 to 30 bytes per entry and, while it grows,
// holds old and new tables at once; for a million items that was most of a
// streaming run's memory. Set keeps the hashes in sorted buckets indexed
// by their top bits, 8 bytes per entry plus slack, and when the buckets grow
// long it splits each one in two in place: the entries whose next bit is 0
// come first in a sorted bucket, so a split copies nothing.
type Set struct {
	shift   uint       // 64 − log2(len(buckets))
	buckets [][]uint64 // bucket i holds the hashes whose top bits are i, sorted
	n       int
}

const (
	minBits   = 8   // 256 buckets to start with
	maxBucket = 128 // average entries per bucket before they split
)

// Add inserts h and reports whether it was new.
func (s *Set) Add(h uint64) bool {
	if s.buckets == nil {
		s.buckets = make([][]uint64, 1<<minBits)
		s.shift = 64 - minBits
	}
	b := &s.buckets[h>>s.shift]
	i, found := slices.BinarySearch(*b, h)
	if found {
		return false
	}
	*b = slices.Insert(*b, i, h)
	s.n++
	if s.n > len(s.buckets)*maxBucket && s.shift > 0 {
		s.split()
	}
	return true
}

// Remove deletes h, if present.
func (s *Set) Remove(h uint64) {
	if s.buckets == nil {
		return
	}
	b := &s.buckets[h>>s.shift]
	if i, found := slices.BinarySearch(*b, h); found {
		*b = slices.Delete(*b, i, i+1)
		s.n--
	}
}

// split doubles the number of buckets on the hashes' next bit.
func (s *Set) split() {
	s.buckets = SplitBuckets(s.buckets, uint64(1)<<(s.shift-1))
	s.shift--
}

// SplitBuckets returns twice as many buckets, cutting each sorted bucket
// at its first entry that has bit set: bucket i becomes 2i and 2i+1. Every
// entry of a bucket must agree on the bits above bit, so that those with
// bit 0 sort first. The halves share the old backing array; the first is
// capped so that growing it cannot overwrite the second. The journal's
// index splits its buckets the same way.
func SplitBuckets(buckets [][]uint64, bit uint64) [][]uint64 {
	next := make([][]uint64, 2*len(buckets))
	for i, b := range buckets {
		m, _ := slices.BinarySearchFunc(b, true, func(e uint64, _ bool) int {
			if e&bit == 0 {
				return -1
			}
			return 1
		})
		next[2*i], next[2*i+1] = b[:m:m], b[m:]
	}
	return next
}
