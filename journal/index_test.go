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

// TestIndexHashCollision makes two IDs share an index key, as IDs whose
// hashes start with the same idBits bits do: each keeps its own entry, so
// both read back, a later record of either replaces only its own, and
// every item's last record is among the offsets (what All and Compact
// read). An index that kept one entry a key sent one of the two again on
// a resume, and left it out of All and Compact.
func TestIndexHashCollision(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := Open[string](path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	d := strings.Repeat("a", 64)
	for _, id := range []string{"a", "b"} {
		if err := j.Append(ctx, Record[string]{Kind: KindResult, ID: id, Digest: d, Value: "answer of " + id}); err != nil {
			t.Fatal(err)
		}
	}
	// Index them again with "b" under the key of "a".
	j.imu.Lock()
	offs := j.index.offsets()
	x := newItemIndex()
	x.seed = j.index.seed
	x.forced = map[string]uint64{"b": x.hash("a")&^(1<<(64-idBits)-1) | x.hash("b")&(1<<(64-idBits)-1)}
	ids := idsIn(j.f)
	for i, id := range []string{"a", "b"} {
		if err := x.put(id, offs[i], ids); err != nil {
			t.Fatal(err)
		}
	}
	j.index = x
	n := len(x.get("a"))
	j.imu.Unlock()
	if n != 2 || x.len() != 2 {
		t.Fatalf("two IDs under one key: %d entries for the key, %d in all; want 2 and 2", n, x.len())
	}
	for _, id := range []string{"a", "b"} {
		if rec, st, err := j.Lookup(id, d); err != nil || st != Finished || rec.Value != "answer of "+id {
			t.Errorf("%s: %v, %v, %+v; want its own answer", id, st, err, rec)
		}
	}
	if _, st, err := j.Lookup("a", strings.Repeat("b", 64)); err != nil || st != Changed {
		t.Errorf("another digest: %v, %v; want Changed", st, err)
	}
	// A later record of "b" replaces b's entry and leaves a's.
	if err := j.Append(ctx, Record[string]{Kind: KindResult, ID: "b", Digest: d, Value: "b again"}); err != nil {
		t.Fatal(err)
	}
	if got := x.len(); got != 2 {
		t.Errorf("%d entries after a later record of b, want 2", got)
	}
	var got []string
	for rec, err := range j.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec.ID+"="+rec.Value)
	}
	if want := []string{"a=answer of a", "b=b again"}; !slices.Equal(got, want) {
		t.Errorf("All: %v, want %v", got, want)
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
	// The ID of an entry is its key, so that a later put of the key is
	// the same item's; idOf plays the journal file.
	idOf := map[int64]string{}
	ids := func(off int64) (string, error) { return idOf[off], nil }
	for i := range 12 << baseBits {
		h := r.Uint64()
		if i%5 == 0 && len(hs) > 0 { // a later record of an earlier item
			h = hs[r.IntN(len(hs))]
		}
		hs = append(hs, h)
		off := int64(r.Uint64() & offsetMask)
		if err := x.putHash(h, fmt.Sprint(h>>(64-idBits)), off, ids); err != nil {
			t.Fatal(err)
		}
		idOf[off] = fmt.Sprint(h >> (64 - idBits))
		want[h>>(64-idBits)] = off
	}
	if len(x.buckets) < 4<<baseBits {
		t.Fatalf("%d buckets after %d items: fewer than two splits", len(x.buckets), len(hs))
	}
	if x.len() != len(want) {
		t.Errorf("len %d, want %d", x.len(), len(want))
	}
	for _, h := range hs {
		b, i, j := x.find(h)
		if j != i+1 || int64((*b)[i]&offsetMask) != want[h>>(64-idBits)] {
			t.Fatalf("hash %x: %d entries, want one at offset %d", h, j-i, want[h>>(64-idBits)])
		}
	}
	if _, i, j := x.find(r.Uint64()); j != i {
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
	if err := x.putHash(1, "x", offsetMask+1, ids); !errors.Is(err, errTooLarge) {
		t.Errorf("offset beyond %d bits: %v, want errTooLarge", offsetBits, err)
	}
}
