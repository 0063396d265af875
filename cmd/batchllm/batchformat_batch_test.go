package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/internal/testing/simtest"
	"github.com/batchllm/batchllm/llmsim"
)

// rawBatchFile is openAIBatchFile and three lines that batchllm edits or
// must not: text with HTML's special characters (which json.Marshal would
// escape), a body that asks for a stream (a batch request never streams)
// and one without a model (it gets the run's).
var rawBatchFile = append(append([]string(nil), openAIBatchFile...),
	`{"custom_id":"html","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"is <b> & </b> bold?"}],"seed":7,"max_completion_tokens":64}}`,
	`{"custom_id":"stream","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"stream me"}],"stream":true,"stream_options":{"include_usage":true}}}`,
	`{"custom_id":"nomodel","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"which model?"}]}}`,
)

// batchEntry is a request of an uploaded batch input file.
type batchEntry struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

// uploadedEntries returns the requests of the batch input files uploaded
// to the recording simulator (multipart POSTs to /v1/files), by custom id.
func uploadedEntries(t *testing.T, rec *simtest.RecordingSim) map[string]batchEntry {
	t.Helper()
	entries := map[string]batchEntry{}
	for _, req := range rec.Requests() {
		if req.Path != "/v1/files" {
			continue
		}
		// The body starts with "--" and the boundary.
		first, _, _ := bytes.Cut(req.Body, []byte("\r\n"))
		mr := multipart.NewReader(bytes.NewReader(req.Body), strings.TrimPrefix(string(first), "--"))
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if part.FormName() != "file" {
				continue
			}
			b, err := io.ReadAll(part)
			if err != nil {
				t.Fatal(err)
			}
			for line := range strings.Lines(string(b)) {
				var e batchEntry
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
				entries[e.CustomID] = e
			}
		}
	}
	return entries
}

// TestBatchFormatBatchAPI: with --batch, each batch-format body goes into
// the Batch API's input file as written (tools, response_format, seed, n,
// stop, logprobs and HTML characters byte for byte), but for "stream",
// which a batch request never has, and a missing model, which is the
// run's; each request goes to a batch of its line's endpoint. The output
// lines carry custom_id, the whole response, the finish reason and the
// cost at the batch price. The journal serves live and batch runs alike:
// neither sends again what the other finished.
func TestBatchFormatBatchAPI(t *testing.T) {
	t.Parallel()
	rec := simtest.StartRecordingSim(t, llmsim.Config{Batch: llmsim.BatchConfig{StepDelay: 10 * time.Millisecond, PerRequest: time.Millisecond}})
	dir := t.TempDir()
	in := writeFile(t, "batch.jsonl", strings.Join(rawBatchFile, "\n")+"\n")
	out, jnl := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "batch.journal")
	args := func(extra ...string) []string {
		return append([]string{"run", "--provider", "openai", "--base-url", rec.OpenAIBaseURL(), "--batch-poll", "20ms", "--full-response"}, extra...)
	}
	r := runCLI(t, "", args("--batch", "--journal", jnl, "-o", out, in)...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "submitted 7 request(s) in 2 batch(es)") {
		t.Errorf("want 7 requests in 2 batches (chat completions, responses):\n%s", r.stderr)
	}
	for _, req := range rec.Requests() {
		if req.Path == "/v1/chat/completions" || req.Path == "/v1/responses" {
			t.Fatalf("a live call to %s in a --batch run", req.Path)
		}
	}

	entries := uploadedEntries(t, rec)
	if len(entries) != len(rawBatchFile) {
		t.Fatalf("%d requests uploaded, want %d: %v", len(entries), len(rawBatchFile), entries)
	}
	for _, line := range rawBatchFile {
		var bl requestLine
		if err := json.Unmarshal([]byte(line), &bl); err != nil {
			t.Fatal(err)
		}
		id := lineID(t, line)
		e := entries[id]
		if e.Method != "POST" || e.URL != bl.URL {
			t.Errorf("%s: uploaded as %s %s, want POST %s", id, e.Method, e.URL, bl.URL)
		}
		var written bytes.Buffer
		if err := json.Compact(&written, bl.Body); err != nil {
			t.Fatal(err)
		}
		switch id {
		case "stream":
			want := simtest.Object(t, bl.Body)
			delete(want, "stream")
			delete(want, "stream_options")
			if got := simtest.Object(t, e.Body); !reflect.DeepEqual(got, want) {
				t.Errorf("stream: uploaded %s, want the body without stream and stream_options", e.Body)
			}
		case "nomodel":
			want := simtest.Object(t, bl.Body)
			want["model"] = "gpt-4o-mini"
			if got := simtest.Object(t, e.Body); !reflect.DeepEqual(got, want) {
				t.Errorf("nomodel: uploaded %s, want the body with the run's model", e.Body)
			}
		default:
			if !bytes.Equal(e.Body, written.Bytes()) {
				t.Errorf("%s: uploaded body\n%s\nwant, as written,\n%s", id, e.Body, written.Bytes())
			}
		}
	}

	lines := readOutput(t, out)
	prices := cost.Default()
	for _, line := range rawBatchFile {
		id := lineID(t, line)
		l := lines[id]
		want, err := prices.Cost(l.Model, l.Usage, true)
		if !l.OK || l.CustomID != id || len(l.Response) == 0 || l.FinishReason == "" || l.Usage.InputTokens == 0 ||
			err != nil || l.CostUSD == nil || *l.CostUSD != want.Dollars() {
			t.Errorf("%s: %+v, want an answer with custom_id, response, finish reason and the batch price %v (%v)", id, l, want, err)
		}
	}
	var n2 struct {
		Choices []json.RawMessage `json:"choices"`
	}
	if err := json.Unmarshal(lines["n2"].Response, &n2); err != nil || len(n2.Choices) != 2 {
		t.Errorf("n2's response has %d choices, want 2 (%v): %s", len(n2.Choices), err, lines["n2"].Response)
	}
	if obj := simtest.Object(t, lines["resp"].Response)["object"]; obj != "response" || lines["resp"].FinishReason != "stop" {
		t.Errorf("resp's response is a %v, finish reason %q; want a Responses API response that stopped", obj, lines["resp"].FinishReason)
	}

	// The batch run's journal, rerun live: nothing is sent, every line
	// comes back from the journal with its custom_id and response.
	sent := len(rec.Requests())
	r = runCLI(t, "", args("--journal", jnl, in)...)
	if r.code != 0 || len(rec.Requests()) != sent {
		t.Fatalf("live rerun of the batch journal: exit %d, %d requests sent\n%s", r.code, len(rec.Requests())-sent, r.stderr)
	}
	for id, l := range parseOutput(t, r.stdout) {
		if !l.OK || l.CustomID != id || len(l.Response) == 0 {
			t.Errorf("live rerun, %s: %+v", id, l)
		}
	}

	// A live run's journal, rerun with --batch: nothing is submitted.
	live := filepath.Join(dir, "live.journal")
	if r = runCLI(t, "", args("--journal", live, in)...); r.code != 0 {
		t.Fatalf("live run: exit %d\n%s", r.code, r.stderr)
	}
	sent = len(rec.Requests())
	r = runCLI(t, "", args("--batch", "--journal", live, in)...)
	if r.code != 0 || !strings.Contains(r.stderr, "submitted 0 request(s)") || len(rec.Requests()) != sent {
		t.Fatalf("--batch rerun of the live journal: exit %d, %d requests sent\n%s", r.code, len(rec.Requests())-sent, r.stderr)
	}
	if got := parseOutput(t, r.stdout); len(got) != len(rawBatchFile) || got["tools"].CustomID != "tools" {
		t.Errorf("--batch rerun of the live journal: %d lines, tools %+v", len(got), got["tools"])
	}
}
