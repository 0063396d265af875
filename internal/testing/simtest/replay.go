package simtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batchllm/batchllm"
)

// Replay starts a loopback server, for the life of the test, that answers
// every request with status, headers and the JSON body, and returns its
// URL (the root, to which each provider's base URL is relative).
func Replay(t testing.TB, status int, headers map[string]string, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// NewAt builds a strategy that calls the server at url (a [Replay]
// server's root).
type NewAt func(t *testing.T, url string) batchllm.Strategy[batchllm.Prompt, string]

// ErrorShape is an error answer as the real API sends it, and the class
// and retry delay the strategy must give its error.
type ErrorShape struct {
	Name    string
	Status  int
	Body    string
	Headers map[string]string
	Class   batchllm.ErrorClass
	Wait    time.Duration
}

// ErrorShapes replays each shape to one call of the strategy newStrategy
// builds, and checks that the call fails with the shape's class and delay
// and that the error text does not contain keyPrefix. check, if not nil,
// adds a provider's own checks of the response and error.
func ErrorShapes(t *testing.T, shapes []ErrorShape, keyPrefix string, newStrategy NewAt,
	check func(t *testing.T, tc ErrorShape, resp batchllm.Response[string], err error)) {
	for _, tc := range shapes {
		t.Run(tc.Name, func(t *testing.T) {
			s := newStrategy(t, Replay(t, tc.Status, tc.Headers, tc.Body))
			resp, err := s.Call(context.Background(), Request(batchllm.Text("hi")))
			if err == nil {
				t.Fatal("Call succeeded, want an error")
			}
			got := batchllm.DefaultClassifier.Classify(err)
			if got.Class != tc.Class || got.RetryAfter != tc.Wait {
				t.Errorf("class = %v wait %v, want %v wait %v (err: %v)", got.Class, got.RetryAfter, tc.Class, tc.Wait, err)
			}
			if strings.Contains(err.Error(), keyPrefix) {
				t.Errorf("error text leaks a key: %v", err)
			}
			if check != nil {
				check(t, tc, resp, err)
			}
		})
	}
}

// Recorder is a loopback server that answers every request with one JSON
// body and keeps the last request's decoded JSON body and headers, for
// tests of what a strategy sends.
type Recorder struct {
	URL    string // the root, as for Replay
	mu     sync.Mutex
	body   map[string]any
	header http.Header
	answer string
}

// Record starts a Recorder for the life of the test that answers answer
// with a 200.
func Record(t testing.TB, answer string) *Recorder {
	t.Helper()
	rec := &Recorder{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body) // a body that is not a JSON object reads as nil
		rec.mu.Lock()
		rec.body, rec.header = body, r.Header.Clone()
		answer := rec.answer
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, answer)
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

// Body is the last request's JSON body, nil before the first request or
// after Reset.
func (r *Recorder) Body() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body
}

// Header is the last request's headers.
func (r *Recorder) Header() http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.header
}

// Answer makes the recorder answer body from now on.
func (r *Recorder) Answer(body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = body
}

// Reset forgets the last request, so that Body shows whether another came.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.body, r.header = nil, nil
}
