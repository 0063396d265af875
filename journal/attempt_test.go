package journal

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
)

func TestNoteKeepsTelemetryOutOfTheIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	j := openT[payload](t, path)
	price := 0.002
	if err := j.Note(
		Record[any]{Kind: KindRun, ID: "run-1", Time: t0, Value: RunEvent{Event: "start", Items: 2, Config: map[string]any{"workers": 4}}},
		Record[any]{Kind: KindAttempt, ID: "a", Time: t0.Add(time.Second), Value: Attempt{N: 1, Start: t0, DurationMS: 1000, Class: "rate_limited", Message: "429"}},
		Record[any]{Kind: KindAttempt, ID: "a", Time: t0.Add(2 * time.Second), Value: Attempt{N: 1, Start: t0.Add(time.Second), DurationMS: 900, Model: "m", Usage: batchllm.Usage{InputTokens: 10, OutputTokens: 5}, FinishReason: "stop", CostUSD: &price}},
	); err != nil {
		t.Fatalf("Note: %v", err)
	}
	appendT(t, j, Record[payload]{Kind: KindResult, ID: "a", Digest: "d", Value: payload{Text: "ok"}})
	if n := j.Len(); n != 1 {
		t.Errorf("Len after one result and three telemetry records = %d, want 1", n)
	}
	closeT(t, j)

	j = openT[payload](t, path)
	if n := j.Len(); n != 1 {
		t.Errorf("Len after reopening = %d, want 1", n)
	}
	if rec, s := lookupT(t, j, "a", "d"); s != Finished || rec.Value.Text != "ok" {
		t.Errorf("Lookup(a) = %v %+v, want finished with the result", s, rec.Value)
	}
	if _, s := lookupT(t, j, "run-1", ""); s != Unseen {
		t.Errorf("Lookup(run-1) = %v, want unseen: a run record is not an item", s)
	}
	var all int
	for _, err := range j.All() {
		if err != nil {
			t.Fatal(err)
		}
		all++
	}
	if all != 1 {
		t.Errorf("All yielded %d records, want 1", all)
	}
	closeT(t, j)

	var kinds []string
	var att Attempt
	for rec, err := range ReadFile(path) {
		if err != nil {
			t.Fatalf("ReadFile: %v", err)
		}
		kinds = append(kinds, string(rec.Kind))
		if rec.Kind == KindAttempt && rec.Time.Equal(t0.Add(2*time.Second)) {
			if err := json.Unmarshal(rec.Value, &att); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := strings.Join(kinds, ","), "run,attempt,attempt,result"; got != want {
		t.Errorf("ReadFile kinds = %s, want %s", got, want)
	}
	if att.Usage.InputTokens != 10 || att.CostUSD == nil || *att.CostUSD != price || att.FinishReason != "stop" || att.DurationMS != 900 {
		t.Errorf("attempt read back = %+v", att)
	}

	before, after, err := Compact(path)
	if err != nil {
		t.Fatal(err)
	}
	if after >= before {
		t.Errorf("Compact kept %d of %d bytes; it should drop the telemetry", after, before)
	}
	kinds = nil
	for rec, err := range ReadFile(path) {
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, string(rec.Kind))
	}
	if got := strings.Join(kinds, ","); got != "result" {
		t.Errorf("after Compact: kinds %s, want result", got)
	}
}

func TestNoteRejectsBadRecords(t *testing.T) {
	j := openT[payload](t, filepath.Join(t.TempDir(), "j"))
	defer closeT(t, j)
	for name, rec := range map[string]Record[any]{
		"result kind":       {Kind: KindResult, ID: "a", Value: Attempt{}},
		"attempt as run":    {Kind: KindRun, ID: "a", Value: Attempt{}},
		"run as attempt":    {Kind: KindAttempt, ID: "a", Value: RunEvent{}},
		"empty id":          {Kind: KindAttempt, Value: Attempt{}},
		"other value type":  {Kind: KindAttempt, ID: "a", Value: "x"},
		"attempt has batch": {Kind: KindAttempt, ID: "a", Batch: "b", Value: Attempt{}},
	} {
		if err := j.Note(rec); err == nil {
			t.Errorf("%s: Note accepted %+v", name, rec)
		}
	}
	if err := j.Append(context.Background(), Record[payload]{Kind: KindAttempt, ID: "a"}); err == nil {
		t.Error("Append accepted an attempt record; those go through Note")
	}
	if n := j.Stats().Appended; n != 0 {
		t.Errorf("%d records written, want none", n)
	}
}

func TestReadFileSkipsATornLastLineAndReportsCorruption(t *testing.T) {
	dir := t.TempDir()
	torn := filepath.Join(dir, "torn")
	writeFile(t, torn, `{"kind":"result","id":"a","digest":"d","time":"2026-11-29T04:00:00Z","value":{}}`+"\n"+`{"kind":"attempt","id":"b","ti`)
	n := 0
	for _, err := range ReadFile(torn) {
		if err != nil {
			t.Fatalf("ReadFile: %v", err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("read %d records from a journal with one complete line, want 1", n)
	}

	bad := filepath.Join(dir, "bad")
	writeFile(t, bad, `{"kind":"attempt","id":"a","time":"2026-11-29T04:00:00Z"}`+"\n"+`{"kind":"nonsense","id":"a"}`+"\n")
	var err error
	for _, e := range ReadFile(bad) {
		if e != nil {
			err = e
		}
	}
	ce, ok := err.(*CorruptError)
	if !ok || ce.Line != 2 {
		t.Fatalf("ReadFile error = %v, want a *CorruptError on line 2", err)
	}
}
