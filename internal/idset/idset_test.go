package idset

import (
	"math/rand/v2"
	"testing"
)

func TestIDSetAgreesWithAMapThroughSplits(t *testing.T) {
	var s Set
	m := map[uint64]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	var last uint64
	for i := range 200_000 {
		h := r.Uint64()
		if i%7 == 0 { // a repeat, sometimes of a removed hash
			h = last
		}
		if got, want := s.Add(h), !m[h]; got != want {
			t.Fatalf("add(%x) = %v, want %v", h, got, want)
		}
		m[h] = true
		if i%5 == 0 {
			s.Remove(h)
			delete(m, h)
		}
		last = h
	}
	if s.n != len(m) || len(s.buckets) <= 1<<minBits {
		t.Fatalf("%d entries (map %d) in %d buckets: no split happened", s.n, len(m), len(s.buckets))
	}
	for h := range m {
		if s.Add(h) {
			t.Fatalf("%x lost", h)
		}
	}
	for i, b := range s.buckets {
		for j, h := range b {
			if h>>s.shift != uint64(i) || (j > 0 && b[j-1] >= h) {
				t.Fatalf("bucket %d unsorted or holding %x", i, h)
			}
		}
	}
}
