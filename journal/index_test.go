package journal

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestIndexMemoryPerItem checks what the in-memory index costs an item:
// with ID strings and entry structs it was about 200 bytes (the CLI's 450
// bytes per item with --journal, with the collector's headroom); packed it
// must stay under 48, map slack included.
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
	per := float64(heap()-before) / n
	if j.Len() != n {
		t.Fatalf("Len %d, want %d", j.Len(), n)
	}
	t.Logf("index: %.1f bytes per item", per)
	if per > 48 {
		t.Errorf("the index takes %.1f bytes per item, want at most 48", per)
	}
	rec, st, err := j.Lookup("item-0012345", fmt.Sprintf("%064x", 12345))
	if err != nil || st != Finished || rec.ID != "item-0012345" {
		t.Errorf("Lookup: %v %v %+v", st, err, rec)
	}
}

// TestIndexHashCollision makes two IDs share an index slot, as a 64-bit
// hash collision would: the one whose record is not in the slot reads as
// Unseen (sent again), never as the other's result; a digest whose
// fingerprint matches but which differs reads as Changed.
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
	x.m[maphash.String(x.seed, "b")] = x.m[maphash.String(x.seed, "a")]
	j.imu.Unlock()
	if _, st, err := j.Lookup("b", d); err != nil || st != Unseen {
		t.Errorf("colliding ID: %v, %v; want Unseen", st, err)
	}
	if rec, st, err := j.Lookup("a", d); err != nil || st != Finished || rec.Value != "answer of a" {
		t.Errorf("a: %v, %v, %+v", st, err, rec)
	}
	// Find another digest with the same fingerprint.
	other := ""
	for i := 0; other == ""; i++ {
		if c := fmt.Sprintf("%064d", i); digestFP(c) == digestFP(d) && c != d {
			other = c
		}
	}
	if _, st, err := j.Lookup("a", other); err != nil || st != Changed {
		t.Errorf("digest with the same fingerprint: %v, %v; want Changed", st, err)
	}
}
