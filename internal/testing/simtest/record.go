package simtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/batchllm/batchllm/llmsim"
)

// Recorded is one request the simulator received: its path and body.
type Recorded struct {
	Path string
	Body []byte
}

// RecordingSim is a simulator behind a loopback server that keeps every
// request it passes on, so that a test can assert on what reached the
// simulator's endpoint byte for byte, which the simulator itself does not
// keep (it decodes only the fields it models).
type RecordingSim struct {
	// URL is the server's root; the providers' base URLs are derived from
	// it as from llmsim.Server's (OpenAI: URL + "/v1/").
	URL string

	mu   sync.Mutex
	reqs []Recorded
}

// StartRecordingSim starts a simulator with cfg behind a recording server for
// the life of the test.
func StartRecordingSim(t testing.TB, cfg llmsim.Config) *RecordingSim {
	t.Helper()
	sim, err := llmsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &RecordingSim{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, Recorded{Path: r.URL.Path, Body: body})
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); sim.Close() })
	rec.URL = srv.URL
	return rec
}

// OpenAIBaseURL is the base URL for openai-go and --base-url.
func (r *RecordingSim) OpenAIBaseURL() string { return r.URL + "/v1/" }

// Requests returns the requests received so far, in order.
func (r *RecordingSim) Requests() []Recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Recorded(nil), r.reqs...)
}

// Object decodes a JSON object, so that two bodies can be compared
// whatever the order and spacing of their keys.
func Object(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return m
}
