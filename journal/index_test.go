package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestIndexMemoryPerItem checks what the in-memory index costs an item:
// with ID strings and entry structs it was about 200 bytes (the CLI's 450
// bytes per item with --journal, with the collector's headroom); packed it
// with a map from a hash to the offset, 26; in sorted buckets it must stay
// under 12, slack included, besides the fixed 384 KiB of bucket headers.
func TestIndexMemoryPerItem(t *testing.T) {
	const n = 50_000
	path := filepath.Join(t.TempDir(), "j.jsonl")
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, `{"kind":"result","id":"item-%07d","digest":"%064x","time":"2026-12-01T00:00:00Z","value":{"ok":true}}`+"\n", i, i)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	buf = bytes.Buffer{}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	j, err := Open[Outcome[string, struct{}]](path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	per := float64(heap()-before-24<<baseBits) / n // without the bucket headers
	if j.Len() != n {
		t.Fatalf("Len %d, want %d", j.Len(), n)
	}
	t.Logf("index: %.1f bytes per item", per)
	if per > 12 {
		t.Errorf("the index takes %.1f bytes per item, want at most 12", per)
	}
	rec, st, err := j.Lookup("item-0012345", fmt.Sprintf("%064x", 12345))
	if err != nil || st != Finished || rec.ID != "item-0012345" {
		t.Errorf("Lookup: %v %v %+v", st, err, rec)
	}
}

// TestIndexHashCollision makes two IDs share an index entry, as IDs whose
// hashes start with the same idBits bits do: the one whose record is not
// in the entry reads as Unseen (sent again), never as the other's result.
func TestIndexHashCollision(t *testing.T) {
	t.Parallel()
	j, err := Open[string](filepath.Join(t.TempDir(), "j.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	d := strings.Repeat("a", 64)
	if err := j.Append(context.Background(), Record[string]{Kind: KindResult, ID: "a", Digest: d, Value: "answer of a"}); err != nil {
		t.Fatal(err)
	}
	j.imu.Lock()
	x := j.index
	offA, _ := x.get("a")
	// "b" with the hash of "a" in its first idBits bits and its own after.
	hb := x.hash("a")&^(1<<(64-idBits)-1) | x.hash("b")&(1<<(64-idBits)-1)
	if err := x.putHash(hb, offA); err != nil {
		t.Fatal(err)
	}
	n := x.len()
	j.imu.Unlock()
	if n != 1 {
		t.Errorf("two IDs with the same first %d hash bits take %d entries, want 1", idBits, n)
	}
	if _, st, err := j.Lookup("b", d); err != nil || st != Unseen {
		t.Errorf("colliding ID: %v, %v; want Unseen", st, err)
	}
	if rec, st, err := j.Lookup("a", d); err != nil || st != Finished || rec.Value != "answer of a" {
		t.Errorf("a: %v, %v, %+v", st, err, rec)
	}
	if _, st, err := j.Lookup("a", strings.Repeat("b", 64)); err != nil || st != Changed {
		t.Errorf("another digest: %v, %v; want Changed", st, err)
	}
}

// TestIndexAgreesWithAMapThroughSplits puts enough hashes, some of them
// again with a new offset, for the buckets to split several times, and
// checks every lookup, the count and the offsets against a map.
func TestIndexAgreesWithAMapThroughSplits(t *testing.T) {
	t.Parallel()
	x := newItemIndex()
	x.splitAt = 2              // splits after 32,768 items, not a million
	want := map[uint64]int64{} // first idBits bits of the hash -> offset
	r := rand.New(rand.NewPCG(3, 4))
	var hs []uint64
	for i := range 12 << baseBits {
		h := r.Uint64()
		if i%5 == 0 && len(hs) > 0 { // a later record of an earlier item
			h = hs[r.IntN(len(hs))]
		}
		hs = append(hs, h)
		off := int64(r.Uint64() & offsetMask)
		if err := x.putHash(h, off); err != nil {
			t.Fatal(err)
		}
		want[h>>(64-idBits)] = off
	}
	if len(x.buckets) < 4<<baseBits {
		t.Fatalf("%d buckets after %d items: fewer than two splits", len(x.buckets), len(hs))
	}
	if x.len() != len(want) {
		t.Errorf("len %d, want %d", x.len(), len(want))
	}
	for _, h := range hs {
		b, i, found := x.find(h)
		if !found || int64((*b)[i]&offsetMask) != want[h>>(64-idBits)] {
			t.Fatalf("hash %x: found %v, want offset %d", h, found, want[h>>(64-idBits)])
		}
	}
	if _, _, found := x.find(r.Uint64()); found {
		t.Error("a hash never put is found")
	}
	var offs []int64
	for _, off := range want {
		offs = append(offs, off)
	}
	slices.Sort(offs)
	if got := x.offsets(); !slices.Equal(got, offs) {
		t.Errorf("offsets differ from the map's: %d against %d", len(got), len(offs))
	}
	if err := x.putHash(1, offsetMask+1); !errors.Is(err, errTooLarge) {
		t.Errorf("offset beyond %d bits: %v, want errTooLarge", offsetBits, err)
	}
}
