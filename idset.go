package batchllm

import "slices"

// idSet is a set of 64-bit hashes of item IDs, for finding duplicate IDs.
//
// A map[uint64]struct{} takes 14 to 30 bytes per entry and, while it grows,
// holds old and new tables at once; for a million items that was most of a
// streaming run's memory. idSet keeps the hashes in sorted buckets indexed
// by their top bits, 8 bytes per entry plus slack, and when the buckets grow
// long it splits each one in two in place: the entries whose next bit is 0
// come first in a sorted bucket, so a split copies nothing.
type idSet struct {
	shift   uint       // 64 − log2(len(buckets))
	buckets [][]uint64 // bucket i holds the hashes whose top bits are i, sorted
	n       int
}

const (
	idSetMinBits   = 8   // 256 buckets to start with
	idSetMaxBucket = 128 // average entries per bucket before they split
)

// add inserts h and reports whether it was new.
func (s *idSet) add(h uint64) bool {
	if s.buckets == nil {
		s.buckets = make([][]uint64, 1<<idSetMinBits)
		s.shift = 64 - idSetMinBits
	}
	b := &s.buckets[h>>s.shift]
	i, found := slices.BinarySearch(*b, h)
	if found {
		return false
	}
	*b = slices.Insert(*b, i, h)
	s.n++
	if s.n > len(s.buckets)*idSetMaxBucket && s.shift > 0 {
		s.split()
	}
	return true
}

// remove deletes h, if present.
func (s *idSet) remove(h uint64) {
	if s.buckets == nil {
		return
	}
	b := &s.buckets[h>>s.shift]
	if i, found := slices.BinarySearch(*b, h); found {
		*b = slices.Delete(*b, i, i+1)
		s.n--
	}
}

// split doubles the number of buckets, cutting each bucket at its first
// entry whose next bit is 1. The halves share the old backing array; the
// first is capped so that growing it cannot overwrite the second.
func (s *idSet) split() {
	next := make([][]uint64, 2*len(s.buckets))
	bit := uint64(1) << (s.shift - 1)
	for i, b := range s.buckets {
		m, _ := slices.BinarySearchFunc(b, true, func(h uint64, _ bool) int {
			if h&bit == 0 {
				return -1
			}
			return 1
		})
		next[2*i], next[2*i+1] = b[:m:m], b[m:]
	}
	s.buckets = next
	s.shift--
}
