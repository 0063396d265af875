package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

var fuzzSeeds = []string{
	`{"kind":"result","id":"a","digest":"d","time":"2026-11-29T04:00:00Z","value":{"text":"x","n":1}}`,
	`{"kind":"submitted","id":"b","digest":"d","batch":"batch_1"}`,
	`{"kind":"claimed","id":"c","digest":"d","time":"2026-11-29T04:00:00+01:00"}`,
	`{"kind":"result","id":"","digest":"d"}`,
	`{"kind":"result","id":"a","id":"b"}`,
	`{"KIND":"result","Id":"a"}`,
	`{"kind":"result","id":"a","batch":"x"}`,
	`null`,
	`[]`,
	`{"kind":"result","id":"a\u0000b","digest":"\ud800"}`,
	"\x00\x00\x00",
	`{"kind":"res`,
}

// FuzzParseLine checks that the line parser never panics, and that a line it
// accepts is a valid record whose indexed fields a full decode agrees with.
func FuzzParseLine(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		h, err := parseLine(line)
		if err != nil {
			return
		}
		if err := h.validate(); err != nil {
			t.Fatalf("parseLine accepted an invalid header %+v: %v", h, err)
		}
		var rec Record[json.RawMessage]
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("parseLine accepted %q, which does not decode as a record: %v", line, err)
		}
		if rec.Kind != h.Kind || rec.ID != h.ID || rec.Digest != h.Digest || !rec.Time.Equal(h.Time) || rec.Batch != h.Batch {
			t.Fatalf("header %+v disagrees with record %+v", h, rec)
		}
		// What Append writes for it parses back the same.
		b, err := json.Marshal(Record[json.RawMessage]{Kind: h.Kind, ID: h.ID, Digest: h.Digest, Time: h.Time, Batch: h.Batch})
		if err != nil {
			// Only a time that JSON cannot hold (a year past 9999) gets
			// here; Append reports it the same way.
			return
		}
		if h2, err := parseLine(b); err != nil || h2.Kind != h.Kind || h2.ID != h.ID || h2.Digest != h.Digest || !h2.Time.Equal(h.Time) || h2.Batch != h.Batch {
			t.Fatalf("re-encoded %s parses as %+v, %v; want %+v", b, h2, err, h)
		}
	})
}

// FuzzOpen checks Open on arbitrary file contents: it either fails with a
// *CorruptError and leaves the file alone, or succeeds, leaves a file that
// is empty or ends with a newline, and a second Open finds the same items
// and nothing to drop.
func FuzzOpen(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s + "\n" + fuzzSeeds[0] + "\n" + s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		path := filepath.Join(t.TempDir(), "j.jsonl")
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		j, err := Open[json.RawMessage](path)
		if err != nil {
			if _, ok := errors.AsType[*CorruptError](err); !ok {
				t.Fatalf("Open: %v; want nil or a *CorruptError", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, content) {
				t.Fatal("Open changed a corrupt file")
			}
			return
		}
		n := j.Len()
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		after, _ := os.ReadFile(path)
		if len(after) > 0 && after[len(after)-1] != '\n' || !bytes.HasPrefix(content, after) || int64(len(content)-len(after)) != j.Truncated() {
			t.Fatalf("after Open the file is %q (dropped %d bytes) from %q", after, j.Truncated(), content)
		}
		j2, err := Open[json.RawMessage](path)
		if err != nil {
			t.Fatalf("second Open: %v", err)
		}
		defer j2.Close()
		if j2.Len() != n || j2.Truncated() != 0 {
			t.Fatalf("second Open: Len %d, Truncated %d; want %d, 0", j2.Len(), j2.Truncated(), n)
		}
	})
}
