package journal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
)

type payload struct {
	Text string `json:"text"`
	N    int    `json:"n"`
}

var t0 = time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)

func openT[T any](t *testing.T, path string) *Journal[T] {
	t.Helper()
	j, err := Open[T](path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return j
}

func appendT[T any](t *testing.T, j *Journal[T], rec Record[T]) {
	t.Helper()
	if err := j.Append(context.Background(), rec); err != nil {
		t.Fatalf("Append(%q): %v", rec.ID, err)
	}
}

func closeT[T any](t *testing.T, j *Journal[T]) {
	t.Helper()
	if err := j.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func lookupT[T any](t *testing.T, j *Journal[T], id, digest string) (Record[T], Status) {
	t.Helper()
	rec, s, err := j.Lookup(id, digest)
	if err != nil {
		t.Fatalf("Lookup(%q, %q): %v", id, digest, err)
	}
	return rec, s
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	recs := []Record[payload]{
		{Kind: KindResult, ID: "a", Digest: "da", Time: t0, Value: payload{"héllo\nworld <&>", 1}},
		{Kind: KindSubmitted, ID: "b", Digest: "db", Time: t0.Add(time.Second), Batch: "batch_1"},
		{Kind: KindResult, ID: "c", Digest: "dc", Time: t0.Add(2 * time.Second)},
	}
	j := openT[payload](t, path)
	for _, r := range recs {
		appendT(t, j, r)
	}
	closeT(t, j)

	j = openT[payload](t, path)
	defer closeT(t, j)
	if j.Len() != 3 || j.Truncated() != 0 {
		t.Fatalf("Len, Truncated = %d, %d; want 3, 0", j.Len(), j.Truncated())
	}
	var got []Record[payload]
	for r, err := range j.All() {
		if err != nil {
			t.Fatalf("All: %v", err)
		}
		got = append(got, r)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("All after reopen:\n got %+v\nwant %+v", got, recs)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n != 3 || b[len(b)-1] != '\n' {
		t.Fatalf("file has %d newlines (last byte %q); want 3 lines:\n%s", n, b[len(b)-1], b)
	}
	lines := strings.Split(string(b), "\n")
	if want := `{"kind":"submitted","id":"b","digest":"db","time":"2026-11-29T04:00:01Z","batch":"batch_1"}`; lines[1] != want {
		t.Errorf("submitted record is written as\n%s\nwant\n%s", lines[1], want)
	}
}

func TestAppendManyAtOnce(t *testing.T) {
	const n = 1000
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := openT[payload](t, path)
	recs := make([]Record[payload], n)
	for i := range recs {
		recs[i] = Record[payload]{Kind: KindSubmitted, ID: fmt.Sprint("item-", i), Digest: "d", Batch: "batch_7"}
	}
	if err := j.Append(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	if st := j.Stats(); st != (Stats{Appended: n, Syncs: 1}) {
		t.Errorf("Stats = %+v; want %d records in one fsync", st, n)
	}
	// One invalid record stops them all.
	bad := []Record[payload]{{Kind: KindResult, ID: "ok", Digest: "d"}, {Kind: KindResult}}
	if err := j.Append(context.Background(), bad...); err == nil {
		t.Error("Append with an invalid record succeeded")
	}
	if err := j.Append(context.Background()); err != nil {
		t.Errorf("Append of nothing: %v", err)
	}
	closeT(t, j)
	j = openT[payload](t, path)
	defer closeT(t, j)
	if j.Len() != n {
		t.Fatalf("Len = %d; want %d", j.Len(), n)
	}
	for i := range n {
		if rec, s := lookupT(t, j, fmt.Sprint("item-", i), "d"); s != Submitted || rec.Batch != "batch_7" {
			t.Fatalf("item-%d: %v, batch %q", i, s, rec.Batch)
		}
	}
}

func TestAppendSetsTime(t *testing.T) {
	j := openT[payload](t, filepath.Join(t.TempDir(), "j.jsonl"))
	defer closeT(t, j)
	before := time.Now()
	appendT(t, j, Record[payload]{Kind: KindResult, ID: "a", Digest: "d"})
	rec, _ := lookupT(t, j, "a", "d")
	if rec.Time.Before(before.Add(-time.Second)) || rec.Time.Location() != time.UTC {
		t.Fatalf("Time = %v; want about %v, in UTC", rec.Time, before)
	}
}

func TestLookupDecisions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := openT[payload](t, path)
	appendT(t, j, Record[payload]{Kind: KindResult, ID: "done", Digest: "d1", Time: t0, Value: payload{"x", 1}})
	appendT(t, j, Record[payload]{Kind: KindSubmitted, ID: "sub", Digest: "d2", Time: t0, Batch: "batch_9"})
	// Last record wins: a result after a submission finishes the item...
	appendT(t, j, Record[payload]{Kind: KindSubmitted, ID: "later", Digest: "d3", Time: t0, Batch: "batch_9"})
	appendT(t, j, Record[payload]{Kind: KindResult, ID: "later", Digest: "d3", Time: t0, Value: payload{"y", 2}})
	// A claim without a result: the run stopped during the call.
	appendT(t, j, Record[payload]{Kind: KindClaimed, ID: "lost", Digest: "d4", Time: t0})
	appendT(t, j, Record[payload]{Kind: KindClaimed, ID: "answered", Digest: "d5", Time: t0})
	appendT(t, j, Record[payload]{Kind: KindResult, ID: "answered", Digest: "d5", Time: t0, Value: payload{"z", 5}})
	// ...and a result for a new digest replaces the old one.
	appendT(t, j, Record[payload]{Kind: KindResult, ID: "redo", Digest: "old", Time: t0, Value: payload{"old", 3}})
	appendT(t, j, Record[payload]{Kind: KindResult, ID: "redo", Digest: "new", Time: t0, Value: payload{"new", 4}})

	check := func(j *Journal[payload]) {
		t.Helper()
		cases := []struct {
			id, digest string
			want       Status
			value      payload
			batch      string
		}{
			{"none", "d1", Unseen, payload{}, ""},
			{"done", "d1", Finished, payload{"x", 1}, ""},
			{"done", "other", Changed, payload{}, ""},
			{"sub", "d2", Submitted, payload{}, "batch_9"},
			{"sub", "other", Changed, payload{}, ""},
			{"later", "d3", Finished, payload{"y", 2}, ""},
			{"redo", "new", Finished, payload{"new", 4}, ""},
			{"redo", "old", Changed, payload{}, ""},
			{"lost", "d4", Claimed, payload{}, ""},
			{"lost", "other", Changed, payload{}, ""},
			{"answered", "d5", Finished, payload{"z", 5}, ""},
		}
		for _, c := range cases {
			rec, s := lookupT(t, j, c.id, c.digest)
			if s != c.want || rec.Value != c.value || rec.Batch != c.batch {
				t.Errorf("Lookup(%q, %q) = %v, value %+v, batch %q; want %v, %+v, %q", c.id, c.digest, s, rec.Value, rec.Batch, c.want, c.value, c.batch)
			}
			if s == Finished || s == Submitted || s == Claimed {
				if rec.ID != c.id || rec.Digest != c.digest {
					t.Errorf("Lookup(%q, %q) returned record of %q/%q", c.id, c.digest, rec.ID, rec.Digest)
				}
			}
		}
		if j.Len() != 6 {
			t.Errorf("Len = %d; want 6 distinct IDs", j.Len())
		}
	}
	check(j)
	closeT(t, j)
	j = openT[payload](t, path)
	defer closeT(t, j)
	check(j)
}

// writeFile appends raw bytes to the journal file, as a crash would leave
// them.
func writeFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTornLastLine(t *testing.T) {
	for name, torn := range map[string]string{
		"partial record":  `{"kind":"result","id":"c","digest":"d","va`,
		"missing newline": `{"kind":"result","id":"c","digest":"d","time":"2026-11-29T04:00:00Z"}`,
		"zero fill":       "\x00\x00\x00\x00\x00\x00\x00\x00",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "j.jsonl")
			j := openT[payload](t, path)
			appendT(t, j, Record[payload]{Kind: KindResult, ID: "a", Digest: "d", Time: t0, Value: payload{"a", 1}})
			appendT(t, j, Record[payload]{Kind: KindResult, ID: "b", Digest: "d", Time: t0, Value: payload{"b", 2}})
			closeT(t, j)
			good, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, torn)

			j = openT[payload](t, path)
			if j.Truncated() != int64(len(torn)) || j.Len() != 2 {
				t.Fatalf("Truncated, Len = %d, %d; want %d, 2", j.Truncated(), j.Len(), len(torn))
			}
			if _, s := lookupT(t, j, "c", "d"); s != Unseen {
				t.Fatalf("torn record c is %v; want unseen", s)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(after, good) {
				t.Fatalf("file after Open:\n%q\nwant the complete lines only:\n%q", after, good)
			}
			// The journal goes on after the cut, and the result reopens clean.
			appendT(t, j, Record[payload]{Kind: KindResult, ID: "c", Digest: "d", Time: t0, Value: payload{"c", 3}})
			closeT(t, j)
			j = openT[payload](t, path)
			defer closeT(t, j)
			if rec, s := lookupT(t, j, "c", "d"); s != Finished || rec.Value.N != 3 || j.Truncated() != 0 {
				t.Fatalf("after reopen: c is %v %+v, truncated %d; want finished {c 3}, 0", s, rec.Value, j.Truncated())
			}
		})
	}
}

func TestCorruptLine(t *testing.T) {
	cases := []struct {
		name, content string
		line          int
		offset        int64
		msg           string
	}{
		{"garbage in the middle", "{\"kind\":\"result\",\"id\":\"a\",\"digest\":\"d\"}\nnot json\n{\"kind\":\"result\",\"id\":\"b\",\"digest\":\"d\"}\n", 2, 40, "invalid character"},
		{"last complete line", "{\"kind\":\"result\",\"id\":\"a\",\"digest\":\"d\"}\n{\"kind\":\"res\n", 2, 40, "unexpected end"},
		{"blank line", "{\"kind\":\"result\",\"id\":\"a\",\"digest\":\"d\"}\n\n{\"kind\":\"result\",\"id\":\"b\",\"digest\":\"d\"}\n", 2, 40, "unexpected end"},
		{"unknown kind", "{\"kind\":\"started\",\"id\":\"a\",\"digest\":\"d\"}\n", 1, 0, `unknown record kind "started"`},
		{"claim with a batch", "{\"kind\":\"claimed\",\"id\":\"a\",\"digest\":\"d\",\"batch\":\"b\"}\n", 1, 0, "has a batch id"},
		{"no id", "{\"kind\":\"result\",\"digest\":\"d\"}\n", 1, 0, "empty item id"},
		{"submitted without batch", "{\"kind\":\"submitted\",\"id\":\"a\",\"digest\":\"d\"}\n", 1, 0, "no batch id"},
		{"not an object", "[1,2]\n", 1, 0, "cannot unmarshal array"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "j.jsonl")
			writeFile(t, path, c.content)
			j, err := Open[payload](path)
			if err == nil {
				j.Close()
				t.Fatal("Open succeeded on a corrupt journal")
			}
			ce, ok := errors.AsType[*CorruptError](err)
			if !ok {
				t.Fatalf("Open error %v (%T); want *CorruptError", err, err)
			}
			if ce.Path != path || ce.Line != c.line || ce.Offset != c.offset {
				t.Errorf("CorruptError at %s:%d byte %d; want %s:%d byte %d", ce.Path, ce.Line, ce.Offset, path, c.line, c.offset)
			}
			wantPrefix := fmt.Sprintf("journal: %s:%d: corrupt record", path, c.line)
			if !strings.HasPrefix(err.Error(), wantPrefix) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q; want prefix %q and mention of %q", err, wantPrefix, c.msg)
			}
			after, _ := os.ReadFile(path)
			if string(after) != c.content {
				t.Errorf("Open changed a corrupt file")
			}
			// The lock is released: fixing the file makes it open.
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			closeT(t, openT[payload](t, path))
		})
	}
}

func TestPayloadOfAnotherType(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	writeFile(t, path, "{\"kind\":\"result\",\"id\":\"a\",\"digest\":\"d\",\"value\":{\"n\":1}}\n{\"kind\":\"result\",\"id\":\"b\",\"digest\":\"d\",\"value\":{\"n\":\"two\"}}\n")
	j := openT[payload](t, path)
	defer closeT(t, j)
	if rec, s := lookupT(t, j, "a", "d"); s != Finished || rec.Value.N != 1 {
		t.Fatalf("a: %v %+v", s, rec.Value)
	}
	_, _, err := j.Lookup("b", "d")
	ce, ok := errors.AsType[*CorruptError](err)
	if !ok || ce.Line != 2 || ce.Path != path {
		t.Fatalf("Lookup of an undecodable payload: %v; want a *CorruptError at line 2", err)
	}
}

func TestAppendRejectsInvalidRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := openT[payload](t, path)
	for _, r := range []Record[payload]{
		{Kind: "", ID: "a"},
		{Kind: "started", ID: "a"},
		{Kind: KindClaimed, ID: "a", Batch: "b"},
		{Kind: KindResult, ID: ""},
		{Kind: KindSubmitted, ID: "a"},
		{Kind: KindResult, ID: "a", Batch: "b"},
	} {
		if err := j.Append(context.Background(), r); err == nil || !strings.HasPrefix(err.Error(), "journal: append: ") {
			t.Errorf("Append(%+v) = %v; want a validation error", r, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := j.Append(ctx, Record[payload]{Kind: KindResult, ID: "a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a cancelled context = %v; want context.Canceled", err)
	}
	closeT(t, j)
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("rejected records were written: size %d, %v", fi.Size(), err)
	}
}

func TestClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := openT[payload](t, path)
	appendT(t, j, Record[payload]{Kind: KindResult, ID: "a", Digest: "d"})
	closeT(t, j)
	if err := j.Append(context.Background(), Record[payload]{Kind: KindResult, ID: "b", Digest: "d"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v; want ErrClosed", err)
	}
	if _, _, err := j.Lookup("a", "d"); !errors.Is(err, ErrClosed) {
		t.Errorf("Lookup after Close = %v; want ErrClosed", err)
	}
	for _, err := range j.All() {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("All after Close yields %v; want ErrClosed", err)
		}
	}
	if err := j.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v; want ErrClosed", err)
	}
}

// TestCloseWhileAppending: every Append that returned nil before or during
// Close is durable; the others fail with ErrClosed.
func TestCloseWhileAppending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := openT[payload](t, path)
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				err := j.Append(context.Background(), Record[payload]{Kind: KindResult, ID: id, Digest: "d"})
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		})
	}
	// Close once some records are in.
	for j.Stats().Appended < 100 {
		runtime.Gosched()
	}
	closeT(t, j)
	wg.Wait()
	j = openT[payload](t, path)
	defer closeT(t, j)
	for _, id := range acked {
		if _, s := lookupT(t, j, id, "d"); s != Finished {
			t.Fatalf("acknowledged %s is %v after Close", id, s)
		}
	}
	if j.Len() != len(acked) {
		t.Fatalf("journal has %d records; %d were acknowledged", j.Len(), len(acked))
	}
}

func TestOpenLocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := openT[payload](t, path)
	if j2, err := Open[payload](path); !errors.Is(err, ErrLocked) {
		if err == nil {
			j2.Close()
		}
		t.Fatalf("second Open = %v; want ErrLocked", err)
	} else if want := "journal: locked by another process: " + path; err.Error() != want {
		t.Errorf("error %q; want %q", err, want)
	}
	closeT(t, j)
	closeT(t, openT[payload](t, path))
}

func TestConcurrentAppends(t *testing.T) {
	const writers, each = 64, 40
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := openT[payload](t, path)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := j.Append(context.Background(), Record[payload]{Kind: KindResult, ID: id, Digest: "d", Value: payload{id, i}}); err != nil {
					errs <- err
					return
				}
				// Durable means visible: the record is found at once.
				if rec, s, err := j.Lookup(id, "d"); err != nil || s != Finished || rec.Value.Text != id {
					errs <- fmt.Errorf("Lookup(%q) right after Append: %v %+v %v", id, s, rec.Value, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := j.Stats()
	if st.Appended != writers*each || st.Syncs < 1 || st.Syncs > st.Appended {
		t.Errorf("Stats = %+v; want %d appended in 1..%[2]d syncs", st, writers*each)
	}
	t.Logf("%d records in %d fsyncs", st.Appended, st.Syncs)
	closeT(t, j)

	j = openT[payload](t, path)
	defer closeT(t, j)
	if j.Len() != writers*each {
		t.Fatalf("Len after reopen = %d; want %d", j.Len(), writers*each)
	}
	if n := countIDs(t, path); len(n) != writers*each {
		t.Fatalf("file has %d distinct IDs; want %d", len(n), writers*each)
	}
}

// countIDs counts the records of each ID in the journal file, by kind.
func countIDs(t *testing.T, path string) map[string]map[Kind]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := make(map[string]map[Kind]int)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		h, err := parseLine(sc.Bytes())
		if err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		if n[h.ID] == nil {
			n[h.ID] = make(map[Kind]int)
		}
		n[h.ID][h.Kind]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGroupCommit checks that records appended while an fsync runs share
// the next one.
func TestGroupCommit(t *testing.T) {
	const waiting = 20
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := openT[payload](t, path)
	defer closeT(t, j)
	ctx := context.Background()

	// Hold the index lock: the writer will stall after the first batch's
	// fsync, when it publishes the batch.
	j.imu.Lock()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := j.Append(ctx, Record[payload]{Kind: KindResult, ID: "first", Digest: "d"}); err != nil {
			t.Error(err)
		}
	})
	// Wait until the writer has written the first record: it is then
	// stalled, and later records gather in a new batch.
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 0 {
			break
		}
		runtime.Gosched()
	}
	pending := func() int {
		j.mu.Lock()
		defer j.mu.Unlock()
		if j.pending == nil {
			return 0
		}
		return len(j.pending.entries)
	}
	for i := range waiting {
		wg.Go(func() {
			if err := j.Append(ctx, Record[payload]{Kind: KindResult, ID: fmt.Sprint(i), Digest: "d"}); err != nil {
				t.Error(err)
			}
		})
	}
	for pending() != waiting {
		runtime.Gosched()
	}
	j.imu.Unlock()
	wg.Wait()
	if st := j.Stats(); st != (Stats{Appended: waiting + 1, Syncs: 2}) {
		t.Fatalf("Stats = %+v; want %d records in 2 fsyncs", st, waiting+1)
	}
}

func TestOutcomeRoundTrip(t *testing.T) {
	type meta struct {
		Source string `json:"source"`
	}
	path := filepath.Join(t.TempDir(), "j.jsonl")
	ok := batchllm.Result[string, meta]{
		ItemID: "ok", Output: "answer", Context: meta{"a.jsonl"},
		Usage: batchllm.Usage{InputTokens: 10, OutputTokens: 5, CachedInputTokens: 4}, Attempts: 2, Elapsed: 1234 * time.Millisecond,
		Model: "gpt-4o-mini-2024-07-18", FinishReason: batchllm.FinishStop,
	}
	failed := batchllm.Result[string, meta]{
		ItemID: "bad", Context: meta{"b.jsonl"},
		Err:   &batchllm.ItemError{ItemID: "bad", Class: batchllm.ClassFatalItem, Attempts: 1, Err: errors.New("400: context too long")},
		Usage: batchllm.Usage{InputTokens: 3}, Attempts: 1, Elapsed: 7 * time.Millisecond,
	}
	j := openT[Outcome[string, meta]](t, path)
	for _, r := range []batchllm.Result[string, meta]{ok, failed} {
		appendT(t, j, Record[Outcome[string, meta]]{Kind: KindResult, ID: r.ItemID, Digest: "d", Value: NewOutcome(r)})
	}
	closeT(t, j)
	b, _ := os.ReadFile(path)
	for _, want := range []string{`"ok":true,"output":"answer"`, `"error":{"class":"fatal_item","message":"400: context too long"}`, `"latency_ms":1234`, `"model":"gpt-4o-mini-2024-07-18","finish_reason":"stop"`, `"metadata":{"source":"a.jsonl"}`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("journal lacks %s:\n%s", want, b)
		}
	}

	j = openT[Outcome[string, meta]](t, path)
	defer closeT(t, j)
	rec, _ := lookupT(t, j, "ok", "d")
	if got := rec.Value.Result("ok"); !reflect.DeepEqual(got, ok) {
		t.Errorf("success round trip:\n got %+v\nwant %+v", got, ok)
	}
	rec, _ = lookupT(t, j, "bad", "d")
	got := rec.Value.Result("bad")
	if got.OK() || got.Class() != batchllm.ClassFatalItem || got.Err.Error() != failed.Err.Error() || got.Usage != failed.Usage || got.Context != failed.Context || got.Elapsed != failed.Elapsed {
		t.Errorf("failure round trip:\n got %+v (%v)\nwant %+v (%v)", got, got.Err, failed, failed.Err)
	}
}

// TestWriteErrorIsSticky: once a write fails, the journal refuses every
// later append with that error instead of pretending records are durable.
func TestWriteErrorIsSticky(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := openT[payload](t, path)
	appendT(t, j, Record[payload]{Kind: KindResult, ID: "a", Digest: "d"})
	// Make the next write fail, as a full disk or an I/O error would.
	if err := j.f.Close(); err != nil {
		t.Fatal(err)
	}
	err := j.Append(context.Background(), Record[payload]{Kind: KindResult, ID: "b", Digest: "d"})
	if err == nil || !strings.HasPrefix(err.Error(), "journal: write "+path) {
		t.Fatalf("Append after a failed write = %v; want a write error", err)
	}
	if err2 := j.Append(context.Background(), Record[payload]{Kind: KindResult, ID: "c", Digest: "d"}); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("next Append = %v; want the same error %v", err2, err)
	}
	if cerr := j.Close(); cerr == nil || !strings.Contains(cerr.Error(), err.Error()) {
		t.Fatalf("Close = %v; want it to report %v", cerr, err)
	}
	j = openT[payload](t, path)
	defer closeT(t, j)
	if j.Len() != 1 {
		t.Fatalf("Len after reopen = %d; want only the record written before the failure", j.Len())
	}
}
