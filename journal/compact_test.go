package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := openT[payload](t, path)
	appendT(t, j, Record[payload]{Kind: KindClaimed, ID: "a", Digest: "d1", Time: t0})
	appendT(t, j, Record[payload]{Kind: KindResult, ID: "a", Digest: "d1", Time: t0, Value: payload{"a1", 1}})
	appendT(t, j, Record[payload]{Kind: KindSubmitted, ID: "b", Digest: "d", Time: t0, Batch: "batch_1"})
	appendT(t, j, Record[payload]{Kind: KindResult, ID: "a", Digest: "d2", Time: t0, Value: payload{"a2", 2}})
	appendT(t, j, Record[payload]{Kind: KindClaimed, ID: "c", Digest: "d", Time: t0})
	if _, _, err := Compact(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("Compact of an open journal = %v; want ErrLocked", err)
	}
	closeT(t, j)
	writeFile(t, path, `{"kind":"result","id":"torn"`)
	// A stale file of a crashed Compact is replaced.
	if err := os.WriteFile(path+".compact", []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)

	before, after, err := Compact(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if before != fi.Size() || after != int64(len(b)) {
		t.Errorf("Compact = %d, %d; want %d, %d", before, after, fi.Size(), len(b))
	}
	want := strings.Join([]string{
		`{"kind":"submitted","id":"b","digest":"d","time":"2026-11-29T04:00:00Z","batch":"batch_1"}`,
		`{"kind":"result","id":"a","digest":"d2","time":"2026-11-29T04:00:00Z","value":{"text":"a2","n":2}}`,
		`{"kind":"claimed","id":"c","digest":"d","time":"2026-11-29T04:00:00Z"}`,
	}, "\n") + "\n"
	if string(b) != want {
		t.Fatalf("compacted journal:\n%s\nwant\n%s", b, want)
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left behind: %v", err)
	}
	j = openT[payload](t, path)
	defer closeT(t, j)
	if rec, s := lookupT(t, j, "a", "d2"); s != Finished || rec.Value.N != 2 {
		t.Errorf("a after Compact: %v %+v", s, rec.Value)
	}
	if _, s := lookupT(t, j, "c", "d"); s != Claimed {
		t.Errorf("c after Compact: %v", s)
	}
}

func TestCompactCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	content := "{\"kind\":\"result\",\"id\":\"a\",\"digest\":\"d\"}\nbad\n"
	writeFile(t, path, content)
	if _, _, err := Compact(path); !errors.As(err, new(*CorruptError)) {
		t.Fatalf("Compact of a corrupt journal = %v; want a *CorruptError", err)
	}
	if b, _ := os.ReadFile(path); string(b) != content {
		t.Fatal("Compact changed a corrupt journal")
	}
}
